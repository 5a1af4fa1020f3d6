"""Word analogies (Mikolov et al. 2013): ``a : b :: c : ?`` answered by 3CosAdd,
argmax over x of cos(x, b - a + c) on unit vectors, a, b and c themselves excluded.

The questions-words format: ``: section`` lines open a section, each other line holds four
words ``a b c d`` (d the expected answer). As gensim does, candidates are the ``restrict``
most frequent words (the first of the vectors), matching ignores case, and a question with
a word outside them is skipped, counted and reported, not scored. Accuracy is over the
questions answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqcli.data.corpus import iter_lines
from seqcli.data.vectors import WordVectors
from seqcli.errors import SeqcliError

__all__ = ["AnalogySection", "SectionScore", "analogy", "read_analogies", "score_analogies"]

BATCH = 512  # questions scored per matrix product


@dataclass(frozen=True)
class AnalogySection:
    name: str
    questions: list[tuple[str, str, str, str]]


@dataclass(frozen=True)
class SectionScore:
    """``correct`` of ``answered`` questions; ``skipped`` had a word outside the vocabulary."""

    name: str
    correct: int
    answered: int
    skipped: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


def read_analogies(path: Path, *, encoding_errors: str = "strict") -> list[AnalogySection]:
    """Sections of a questions-words file; SeqcliError with file:line for a malformed line."""
    sections: list[AnalogySection] = []
    for lineno, line in enumerate(iter_lines(path, encoding_errors=encoding_errors), start=1):
        text = line.strip()
        if not text:
            continue
        if text.startswith(":"):
            name = text[1:].strip()
            if not name:
                raise SeqcliError(f"{path}:{lineno}: a section line needs a name after ':'")
            sections.append(AnalogySection(name, []))
            continue
        words = text.split()
        if len(words) != 4:
            raise SeqcliError(
                f"{path}:{lineno}: expected 4 words 'a b c d' (a : b :: c : d), found {len(words)}"
            )
        if not sections:
            raise SeqcliError(f"{path}:{lineno}: a question before the first ': section' line")
        a, b, c, d = words
        sections[-1].questions.append((a, b, c, d))
    if not any(section.questions for section in sections):
        raise SeqcliError(f"{path}: no analogy questions")
    return sections


def _restricted_index(vectors: WordVectors, restrict: int) -> dict[str, int]:
    """Lowercased word -> row among the first ``restrict`` rows; the most frequent wins."""
    index: dict[str, int] = {}
    for row, word in enumerate(vectors.words[:restrict]):
        index.setdefault(word.lower(), row)
    return index


def _answer(unit: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """3CosAdd answers (n,) for question rows (n, 3) = a, b, c over ``unit`` (R, d)."""
    query = unit[rows[:, 1]] - unit[rows[:, 0]] + unit[rows[:, 2]]  # (n, d)
    scores = query @ unit.T  # (n, R)
    np.put_along_axis(scores, rows, -np.inf, axis=1)
    return scores.argmax(1)


def score_analogies(
    vectors: WordVectors, sections: list[AnalogySection], *, restrict: int = 30000
) -> list[SectionScore]:
    """Per-section scores of 3CosAdd over the ``restrict`` most frequent words."""
    if restrict < 1:
        raise SeqcliError(f"--restrict must be at least 1, got {restrict}")
    index = _restricted_index(vectors, restrict)
    unit = WordVectors(vectors.words[:restrict], vectors.vectors[:restrict]).unit()
    scores = []
    for section in sections:
        known = [q for q in section.questions if all(w.lower() in index for w in q)]
        rows = np.array([[index[w.lower()] for w in q] for q in known], np.int64).reshape(-1, 4)
        correct = 0
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            correct += int((_answer(unit, batch[:, :3]) == batch[:, 3]).sum())
        scores.append(SectionScore(section.name, correct, len(known), len(section.questions) - len(known)))
    return scores


def overall(scores: list[SectionScore]) -> SectionScore:
    """All sections together."""
    return SectionScore(
        "total",
        sum(s.correct for s in scores),
        sum(s.answered for s in scores),
        sum(s.skipped for s in scores),
    )


def analogy(vectors: WordVectors, a: str, b: str, c: str, *, top: int = 1) -> list[tuple[str, float]]:
    """``a : b :: c : ?`` over all words: the ``top`` answers with their cosine."""
    unit = vectors.unit()
    rows = np.array([vectors.index[w] for w in (a, b, c)])
    query = unit[rows[1]] - unit[rows[0]] + unit[rows[2]]
    query /= max(float(np.linalg.norm(query)), 1e-12)
    scores = unit @ query
    scores[rows] = -np.inf
    best = np.argsort(-scores)[:top]
    return [(vectors.words[i], float(scores[i])) for i in best]
