"""Perplexity and bits per character: one definition, used by training and evaluation alike."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seqcli.metrics.perplexity import bits_per_char, perplexity
from seqcli.tasks.lm import LanguageModelTask, LMDataConfig


def test_uniform_model_over_v_tokens_has_perplexity_v() -> None:
    assert perplexity(math.log(37)) == pytest.approx(37)


def test_one_bit_per_character_is_ln_2_nats() -> None:
    assert bits_per_char(math.log(2) * 3.5) == pytest.approx(3.5)


def test_diverged_loss_gives_a_finite_perplexity_and_nan_stays_nan() -> None:
    assert math.isfinite(perplexity(1e9))
    assert math.isnan(perplexity(math.nan))


@pytest.mark.parametrize("char_level", [True, False])
def test_training_display_uses_the_same_definitions(char_level: bool) -> None:
    data = LMDataConfig(batch_size=2, bptt=4)
    task = LanguageModelTask(np.arange(200) % 7, None, data, char_level=char_level)
    expected = {"bpc": bits_per_char(1.3)} if char_level else {"ppl": perplexity(1.3)}
    assert task.describe(1.3) == expected
