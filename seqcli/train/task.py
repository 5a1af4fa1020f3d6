"""What a task gives the Trainer (:class:`TrainTask`), and defaults for its optional parts.

See docs/extending.md for how a task plugs in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from torch import Tensor, nn

from seqcli.metrics.selection import Metric

__all__ = ["LOSS", "TaskBase", "TrainTask"]

LOSS = Metric("loss", "min")


class TrainTask(Protocol):
    """What a task gives the Trainer. Batches may be any nesting of tensors."""

    unit: str  # what ``loss`` counts, for throughput: "tok", "sent", "utt", "word"
    metric: Metric  # the validation figure that selects the best checkpoint

    def steps_per_epoch(self) -> int: ...

    def train_batches(self, epoch: int, start: int) -> Iterable[Any]:
        """This rank's batches of ``epoch`` from index ``start`` on; the same every time."""

    def loss(self, model: nn.Module, batch: Any) -> tuple[Tensor, Tensor | int]:
        """Summed loss over the batch's items and how many items (tokens, sentences) it summed."""

    def evaluate(self, model: nn.Module) -> dict[str, float] | None:
        """Validation figures including ``metric.name`` (rank 0 only), or None without data."""

    def describe(self, loss: float) -> dict[str, float]:
        """Figures derived from a mean training loss, for display (e.g. perplexity)."""

    def rollback(self) -> None:
        """Forget what the last ``loss`` call carried forward: its update was skipped."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class TaskBase:
    """Defaults for the optional parts of :class:`TrainTask`: a task with no carried state,
    no derived figures, selected on validation loss."""

    unit = "item"
    metric = LOSS

    def describe(self, loss: float) -> dict[str, float]:
        return {}

    def rollback(self) -> None:
        return None

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None
