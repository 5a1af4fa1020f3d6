"""Corpus WER and CER as jiwer counts them."""

from __future__ import annotations

import pytest

from seqcli.metrics.wer import error_rates


def test_errors_are_summed_over_the_corpus_before_dividing() -> None:
    rates = error_rates(["one two three four", "five"], ["one two three four", "six"])
    assert rates.wer == pytest.approx(1 / 5)
    assert rates.cer == pytest.approx(3 / (18 + 4))  # five -> six: two substitutions, one deletion


def test_an_empty_hypothesis_deletes_every_word() -> None:
    assert error_rates(["three five nine"], [""]).wer == 1.0


def test_insertions_can_push_wer_above_one() -> None:
    assert error_rates(["a"], ["b c d"]).wer == pytest.approx(3.0)
