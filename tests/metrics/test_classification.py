"""Accuracy, macro-F1 and the confusion matrix on hand-worked cases."""

from __future__ import annotations

import math

import pytest

from seqcli.metrics.classification import accuracy, confusion_matrix, macro_f1, per_class_f1


def test_confusion_matrix_rows_are_gold_columns_are_predicted() -> None:
    assert confusion_matrix([0, 1, 1, 2], [1, 1, 2, 2], 3) == [[0, 1, 0], [0, 1, 1], [0, 0, 1]]


def test_macro_f1_weighs_a_rare_class_like_a_frequent_one() -> None:
    # 9 of class 0 all right, the 1 example of class 1 predicted as 0.
    matrix = confusion_matrix([0] * 9 + [1], [0] * 10, 2)
    assert accuracy(matrix) == 0.9
    assert per_class_f1(matrix) == [pytest.approx(18 / 19), 0.0]
    assert macro_f1(matrix) == pytest.approx(9 / 19)


def test_a_class_absent_everywhere_is_left_out_of_the_mean() -> None:
    matrix = confusion_matrix([0, 1], [0, 1], 3)
    assert per_class_f1(matrix)[2] is None and macro_f1(matrix) == 1.0


def test_empty_input_is_not_a_score() -> None:
    assert math.isnan(accuracy(confusion_matrix([], [], 2))) and macro_f1([[0, 0], [0, 0]]) == 0.0
