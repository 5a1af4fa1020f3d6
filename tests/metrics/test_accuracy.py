"""Accuracy from counts and from tensors, padding excluded."""

from __future__ import annotations

import math

import pytest
import torch

from seqcli.metrics.accuracy import accuracy, accuracy_counts


def test_accuracy_is_correct_over_total() -> None:
    assert accuracy(7, 8) == 0.875


def test_accuracy_of_nothing_is_nan_not_zero() -> None:
    assert math.isnan(accuracy(0, 0))


@pytest.mark.parametrize(("correct", "total"), [(5, 4), (-1, 3), (0, -1)])
def test_impossible_counts_are_refused(correct: int, total: int) -> None:
    with pytest.raises(ValueError):
        accuracy(correct, total)


def test_masked_items_do_not_count() -> None:
    predictions = torch.tensor([[1, 2, 3], [4, 0, 0]])
    targets = torch.tensor([[1, 9, 3], [4, 5, 0]])
    mask = torch.tensor([[True, True, True], [True, False, False]])
    correct, total = accuracy_counts(predictions, targets, mask)
    assert (int(correct), int(total)) == (3, 4)
    assert accuracy(int(correct), int(total)) == 0.75


def test_without_mask_every_item_counts() -> None:
    correct, total = accuracy_counts(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0]))
    assert (int(correct), int(total)) == (2, 3)


def test_shapes_must_agree() -> None:
    with pytest.raises(ValueError, match="differ"):
        accuracy_counts(torch.zeros(2, 3), torch.zeros(3, 2))
