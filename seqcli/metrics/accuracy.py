"""Accuracy: the fraction of predictions equal to their reference, optionally masked."""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["accuracy", "accuracy_counts"]


def accuracy(correct: int, total: int) -> float:
    """``correct / total``; NaN when nothing was counted (no items is not 0% right).

    >>> accuracy(3, 4), math.isnan(accuracy(0, 0))
    (0.75, True)
    """
    if total < 0 or not 0 <= correct <= total:
        raise ValueError(f"need 0 <= correct <= total, got correct={correct}, total={total}")
    return correct / total if total else math.nan


def accuracy_counts(
    predictions: Tensor, targets: Tensor, mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Correct and counted items, as 0-d tensors left on the device (no host sync).

    predictions, targets: same shape, e.g. (B, T) tag ids; mask: same shape, True where an
    item counts (padding False). Sum the counts over batches, then call :func:`accuracy`
    once at the end.

    >>> import torch
    >>> correct, total = accuracy_counts(torch.tensor([[1, 2, 0]]), torch.tensor([[1, 3, 0]]),
    ...                                  torch.tensor([[True, True, False]]))
    >>> int(correct), int(total)
    (1, 2)
    """
    if predictions.shape != targets.shape:
        raise ValueError(f"predictions {tuple(predictions.shape)} and targets {tuple(targets.shape)} differ")
    hits = predictions == targets
    if mask is None:
        return hits.sum(), torch.tensor(hits.numel(), device=hits.device)
    return (hits & mask).sum(), mask.sum()
