"""Classification figures: accuracy, macro-averaged F1 and the confusion matrix.

``confusion[i][j]`` counts examples of gold class i predicted as class j. Macro-F1 is the
unweighted mean over classes of each class's F1 (``2PR / (P + R)``, 0 when undefined), so
a rare class weighs as much as a frequent one; it averages over every class that occurs
in the gold labels or the predictions.

>>> matrix = confusion_matrix([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], 3)
>>> matrix
[[1, 1, 0], [0, 2, 0], [1, 0, 0]]
>>> accuracy(matrix), round(macro_f1(matrix), 4)
(0.6, 0.4333)
"""

from __future__ import annotations

from collections.abc import Sequence

from seqcli.metrics.accuracy import accuracy as _share_correct

__all__ = ["accuracy", "confusion_matrix", "macro_f1", "per_class_f1"]


def confusion_matrix(gold: Sequence[int], predicted: Sequence[int], num_classes: int) -> list[list[int]]:
    """``(K, K)`` counts, gold classes as rows and predicted classes as columns."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    matrix = [[0] * num_classes for _ in range(num_classes)]
    for g, p in zip(gold, predicted, strict=True):
        matrix[g][p] += 1
    return matrix


def accuracy(matrix: Sequence[Sequence[int]]) -> float:
    """Share of examples on the diagonal (NaN for an empty matrix: nothing was counted)."""
    return _share_correct(sum(matrix[i][i] for i in range(len(matrix))), sum(map(sum, matrix)))


def per_class_f1(matrix: Sequence[Sequence[int]]) -> list[float | None]:
    """F1 of each class; None for a class absent from both gold and predictions."""
    scores: list[float | None] = []
    for k in range(len(matrix)):
        gold = sum(matrix[k])
        predicted = sum(row[k] for row in matrix)
        if not gold and not predicted:
            scores.append(None)
            continue
        # F1 = 2TP / (gold + predicted), the harmonic mean of P and R without dividing twice.
        scores.append(2 * matrix[k][k] / (gold + predicted))
    return scores


def macro_f1(matrix: Sequence[Sequence[int]]) -> float:
    """Mean F1 over the classes present in gold or predictions (0 if none)."""
    present = [score for score in per_class_f1(matrix) if score is not None]
    return sum(present) / len(present) if present else 0.0
