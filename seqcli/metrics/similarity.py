"""Word-pair similarity: Spearman's ρ between human scores and the cosine of the vectors.

Files: one pair per line, ``word1 word2 score`` separated by tabs (or spaces); lines
starting with ``#`` are comments; a first line whose score is not a number is a header
(WordSim353's ``Word 1<TAB>Word 2<TAB>Human (mean)``). SimLex-999's own file has more
columns; its header names the ``SimLex999`` column, which is then the score. Pairs with a
word outside the vocabulary are left out and counted (gensim's default), matching ignores
case.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqcli.data.corpus import iter_lines
from seqcli.data.vectors import WordVectors
from seqcli.errors import SeqcliError

__all__ = ["SimilarityScore", "WordPair", "rank", "read_word_pairs", "score_similarity", "spearman"]

SIMLEX_COLUMN = "simlex999"


@dataclass(frozen=True)
class WordPair:
    first: str
    second: str
    score: float


@dataclass(frozen=True)
class SimilarityScore:
    """``rho`` over the ``used`` pairs whose words are both known; ``skipped`` are not."""

    rho: float
    used: int
    skipped: int


def _fields(line: str) -> list[str]:
    return line.split("\t") if "\t" in line else line.split()


def read_word_pairs(path: Path, *, encoding_errors: str = "strict") -> list[WordPair]:
    """The pairs of a WordSim353 / SimLex-999 style file; file:line for a malformed line."""
    pairs: list[WordPair] = []
    column = 2
    seen_data = False
    for lineno, line in enumerate(iter_lines(path, encoding_errors=encoding_errors), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [field.strip() for field in _fields(line.strip())]
        if len(fields) <= column or len(fields) < 3:
            raise SeqcliError(f"{path}:{lineno}: expected 'word1 word2 score', found {len(fields)} field(s)")
        try:
            score = float(fields[column])
        except ValueError:
            if seen_data:
                raise SeqcliError(f"{path}:{lineno}: the score {fields[column]!r} is not a number") from None
            lowered = [field.lower() for field in fields]
            column = lowered.index(SIMLEX_COLUMN) if SIMLEX_COLUMN in lowered else column
            seen_data = True  # only the first line may be a header
            continue
        seen_data = True
        if not fields[0] or not fields[1]:
            raise SeqcliError(f"{path}:{lineno}: an empty word")
        pairs.append(WordPair(fields[0], fields[1], score))
    if not pairs:
        raise SeqcliError(f"{path}: no word pairs")
    return pairs


def rank(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their mean rank.

    >>> rank(np.array([10.0, 20.0, 10.0, 30.0])).tolist()
    [1.5, 3.0, 1.5, 4.0]
    """
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    # Each run of equal values gets the mean of the positions it spans.
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    mean_rank = (starts + ends + 1) / 2.0
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's ρ: Pearson's correlation of the ranks (ties averaged).

    >>> round(spearman(np.array([1.0, 2, 3, 4]), np.array([1.0, 3, 2, 4])), 3)
    0.8
    """
    rx, ry = rank(np.asarray(x, float)), rank(np.asarray(y, float))
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denominator = float(np.sqrt((rx * rx).sum() * (ry * ry).sum()))
    return float((rx * ry).sum() / denominator) if denominator > 0 else float("nan")


def score_similarity(vectors: WordVectors, pairs: list[WordPair]) -> SimilarityScore:
    """Spearman's ρ of cosine against human score over the pairs with known words."""
    index: dict[str, int] = {}
    for row, word in enumerate(vectors.words):
        index.setdefault(word.lower(), row)
    known = [p for p in pairs if p.first.lower() in index and p.second.lower() in index]
    if len(known) < 2:
        return SimilarityScore(float("nan"), len(known), len(pairs) - len(known))
    unit = vectors.unit()
    first = unit[[index[p.first.lower()] for p in known]]
    second = unit[[index[p.second.lower()] for p in known]]
    cosines = (first * second).sum(1)
    rho = spearman(cosines, np.array([p.score for p in known]))
    return SimilarityScore(rho, len(known), len(pairs) - len(known))
