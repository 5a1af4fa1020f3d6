"""Corpus BLEU and chrF of detokenised translations, computed by sacrebleu.

BLEU: Papineni et al. 2002; chrF: Popović 2015. sacrebleu (Post 2018, "A Call for Clarity
in Reporting BLEU Scores") tokenises references and hypotheses itself (``13a``), so scores
are comparable across papers and tools, and its signature records every setting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sacrebleu

__all__ = ["TranslationScores", "corpus_bleu", "score_translations"]


@dataclass(frozen=True)
class TranslationScores:
    """Corpus figures (0–100) and the sacrebleu signatures that pin down how they were made."""

    bleu: float
    chrf: float
    bleu_signature: str
    chrf_signature: str


def score_translations(hypotheses: Sequence[str], references: Sequence[str]) -> TranslationScores:
    """BLEU and chrF of ``hypotheses`` against one reference each, line by line.

    >>> scores = score_translations(["the cat sat on the mat"], ["the cat sat on the mat"])
    >>> round(scores.bleu, 1), round(scores.chrf, 1)
    (100.0, 100.0)
    """
    _check_aligned(hypotheses, references)
    bleu, chrf = sacrebleu.BLEU(), sacrebleu.CHRF()
    bleu_score = bleu.corpus_score(list(hypotheses), [list(references)])
    chrf_score = chrf.corpus_score(list(hypotheses), [list(references)])
    return TranslationScores(
        bleu=bleu_score.score,
        chrf=chrf_score.score,
        bleu_signature=str(bleu.get_signature()),
        chrf_signature=str(chrf.get_signature()),
    )


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU alone (the selection metric during training)."""
    _check_aligned(hypotheses, references)
    return sacrebleu.BLEU().corpus_score(list(hypotheses), [list(references)]).score


def _check_aligned(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
