"""Using word vectors: look-ups, nearest neighbours, analogies, sentence vectors, export,
and the evaluation on analogy and similarity files.

Query words go through the run's own casing: a run trained with ``--lowercase`` answers
``King`` with the vector of ``king``. A query word outside the vocabulary is named in
``unknown`` and the others are still answered; only when none can be answered is it an
error (exit 2).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqcli.data.vectors import WordVectors, load_vectors, write_word2vec
from seqcli.errors import SeqcliError
from seqcli.metrics.analogy import analogy, overall, read_analogies, score_analogies
from seqcli.metrics.similarity import read_word_pairs, score_similarity
from seqcli.tasks.embeddings_train import read_vectors_config

__all__ = [
    "Answers",
    "VectorsModel",
    "evaluate_vectors",
    "export_vectors",
    "load_vectors_model",
]


@dataclass(frozen=True)
class Answers:
    """Results by query, and the queries that could not be answered."""

    results: list[tuple[str, object]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def check_any(self) -> None:
        if not self.results:
            raise SeqcliError(f"not in the vocabulary: {', '.join(self.unknown)}; nothing to answer")


@dataclass(frozen=True)
class VectorsModel:
    """The vectors of a run with the casing its vocabulary was built with."""

    vectors: WordVectors
    lowercase: bool = False

    def key(self, word: str) -> str:
        return word.lower() if self.lowercase else word

    def vectors_of(self, words: Sequence[str]) -> Answers:
        """The vector of each known word."""
        answers = Answers()
        for word in words:
            row = self.vectors.index.get(self.key(word))
            if row is None:
                answers.unknown.append(word)
            else:
                answers.results.append((word, self.vectors.vectors[row]))
        return answers

    def neighbours(self, words: Sequence[str], top: int) -> Answers:
        """The ``top`` words nearest to each known word by cosine, with their cosines."""
        if top < 1:
            raise SeqcliError(f"--neighbors must be at least 1, got {top}")
        unit = self.vectors.unit()
        answers = Answers()
        for word in words:
            row = self.vectors.index.get(self.key(word))
            if row is None:
                answers.unknown.append(word)
                continue
            scores = unit @ unit[row]
            scores[row] = -np.inf
            best = np.argsort(-scores)[:top]
            answers.results.append((word, [(self.vectors.words[i], float(scores[i])) for i in best]))
        return answers

    def analogy(self, a: str, b: str, c: str, top: int = 1) -> list[tuple[str, float]]:
        """``a : b :: c : ?`` by 3CosAdd over every word; SeqcliError naming unknown words."""
        missing = [w for w in (a, b, c) if self.key(w) not in self.vectors.index]
        if missing:
            raise SeqcliError(f"not in the vocabulary: {', '.join(missing)}; cannot answer the analogy")
        return analogy(self.vectors, self.key(a), self.key(b), self.key(c), top=top)

    def sentence_vectors(self, lines: Iterable[str]) -> tuple[np.ndarray, list[int]]:
        """The mean vector of the known words of each line (n, d), and the line numbers
        (from 1) with no known word, whose vector is zeros."""
        rows, empty = [], []
        for lineno, line in enumerate(lines, start=1):
            known = [self.vectors.index[w] for w in map(self.key, line.split()) if w in self.vectors.index]
            if known:
                rows.append(self.vectors.vectors[known].mean(0))
            else:
                rows.append(np.zeros(self.vectors.dim, np.float32))
                empty.append(lineno)
        return np.array(rows, np.float32).reshape(-1, self.vectors.dim), empty


def load_vectors_model(run_dir: Path) -> VectorsModel:
    config = read_vectors_config(run_dir)
    return VectorsModel(load_vectors(run_dir), lowercase=bool(config.get("tokenizer", {}).get("lowercase")))


def export_vectors(run_dir: Path, output: Path, *, format: str) -> int:
    """Write the run's vectors as ``word2vec-text`` or ``word2vec-binary``; the word count."""
    from seqcli.data.vectors import VECTOR_FORMATS

    if format not in VECTOR_FORMATS:
        raise SeqcliError(f"--format must be one of {', '.join(VECTOR_FORMATS)}, got {format!r}")
    vectors = load_vectors_model(run_dir).vectors
    try:
        write_word2vec(output, vectors, binary=format == "word2vec-binary")
    except OSError as err:
        raise SeqcliError(f"{output}: cannot write ({err.strerror or err})") from None
    return len(vectors.words)


def evaluate_vectors(
    vectors: WordVectors,
    *,
    analogies: Path | None = None,
    similarity: Sequence[Path] = (),
    restrict: int = 30000,
    encoding_errors: str = "strict",
) -> tuple[dict[str, float], list[str]]:
    """Figures (analogy accuracy first, then Spearman's ρ per similarity file) and the
    detail lines (the per-section analogy table, pairs used) printed before them."""
    if analogies is None and not similarity:
        raise SeqcliError("evaluating word vectors needs --analogies FILE and/or --similarity FILE")
    figures: dict[str, float] = {}
    details: list[str] = []
    if analogies is not None:
        sections = read_analogies(analogies, encoding_errors=encoding_errors)
        scores = score_analogies(vectors, sections, restrict=restrict)
        total = overall(scores)
        details.append(f"{'section':<28} {'correct':>8} {'answered':>9} {'accuracy':>9} {'skipped':>8}")
        for score in [*scores, total]:
            details.append(
                f"{score.name:<28} {score.correct:>8} {score.answered:>9}"
                f" {score.accuracy:>9.4f} {score.skipped:>8}"
            )
        figures["analogy_accuracy"] = total.accuracy
    for index, path in enumerate(similarity):
        result = score_similarity(vectors, read_word_pairs(path, encoding_errors=encoding_errors))
        name = "spearman" if len(similarity) == 1 else f"spearman_{Path(path).stem}"
        if name in figures:
            name = f"{name}_{index + 1}"
        details.append(f"{path}: {result.used} pairs scored, {result.skipped} with an unknown word skipped")
        figures[name] = result.rho
    return figures, details
