"""Word and character error rates (jiwer): edit distance over the reference length.

``WER = (S + D + I) / N`` with S substitutions, D deletions and I insertions in the
Levenshtein alignment of hypothesis to reference, and N the number of reference words,
summed over the corpus before dividing (so long utterances weigh more); CER is the same
over characters, spaces included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jiwer

__all__ = ["ErrorRates", "error_rates"]


@dataclass(frozen=True)
class ErrorRates:
    wer: float
    cer: float
    words: int  # reference words
    utterances: int


def error_rates(references: Sequence[str], hypotheses: Sequence[str]) -> ErrorRates:
    """Corpus WER and CER; an empty hypothesis counts every reference word as deleted.

    >>> rates = error_rates(["three five nine", "one"], ["three nine", "one"])
    >>> round(rates.wer, 3), rates.words
    (0.25, 4)
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    if not references:
        return ErrorRates(0.0, 0.0, 0, 0)
    # jiwer refuses empty references; a reference with no words has nothing to get wrong.
    pairs = [(ref, hyp) for ref, hyp in zip(references, hypotheses, strict=True) if ref.strip()]
    if not pairs:
        return ErrorRates(0.0, 0.0, 0, len(references))
    refs, hyps = [ref for ref, _ in pairs], [hyp for _, hyp in pairs]
    words = jiwer.process_words(refs, hyps)
    characters = jiwer.process_characters(refs, hyps)
    count = sum(len(ref.split()) for ref in refs)
    return ErrorRates(words.wer, characters.cer, count, len(references))
