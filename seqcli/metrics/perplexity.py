"""Perplexity and bits per character from a mean cross-entropy loss in nats per token.

The loss is ``L = -(1/N) Σ_t log P(y<t> | y<1..t-1>)`` over N scored tokens (docs/maths.md,
"Language models and sampling"). Perplexity ``exp(L)`` is the size of a uniform choice as
uncertain as the model; bits per character ``L / ln 2`` is the same loss in base 2, the
usual measure for character models.
"""

from __future__ import annotations

import math

__all__ = ["MAX_LOG_PERPLEXITY", "bits_per_char", "perplexity"]

MAX_LOG_PERPLEXITY = 50.0
"""``exp`` is capped here (perplexity ≈ 5e21) so an untrained or diverged model reports a
huge finite number rather than overflowing to ``inf``."""


def perplexity(loss: float) -> float:
    """``exp(loss)`` for a mean loss in nats per token; NaN stays NaN.

    >>> perplexity(0.0), round(perplexity(math.log(10)), 6)
    (1.0, 10.0)
    >>> perplexity(1000.0) == math.exp(MAX_LOG_PERPLEXITY)
    True
    """
    return math.exp(min(loss, MAX_LOG_PERPLEXITY))


def bits_per_char(loss: float) -> float:
    """A mean loss in nats per character, in bits per character.

    >>> bits_per_char(math.log(2)), bits_per_char(0.0)
    (1.0, 0.0)
    """
    return loss / math.log(2)
