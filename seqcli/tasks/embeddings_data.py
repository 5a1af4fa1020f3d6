"""The corpus side of word2vec: counts, subsampling, the noise table, chunks and pairs.

Everything works on the cached token stream (ids of a word tokenizer, each sentence ended by
``<eos>``), memory-mapped, so a corpus larger than memory is only ever read a block at a
time. Counts come from ``np.bincount`` over that stream, not from a second pass over text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqcli.data.corpus import iter_text_chunks
from seqcli.errors import SeqcliError
from seqcli.models.word2vec_kernels import EOS, FIRST_WORD, alias_table
from seqcli.text.word import WordTokenizer

__all__ = [
    "NoiseTable",
    "VocabularyReport",
    "build_vocabulary",
    "cbow_examples",
    "chunk_bounds",
    "count_ids",
    "keep_probabilities",
    "noise_table",
    "skipgram_pairs",
    "subsample",
]

# Blocks of the memory map counted at a time: bounded memory for any corpus size.
COUNT_BLOCK = 1 << 24


@dataclass(frozen=True)
class VocabularyReport:
    """How the vocabulary was cut: ``distinct`` words in the corpus, ``kept`` of them."""

    distinct: int
    kept: int
    min_count: int
    max_vocab: int | None

    def describe(self) -> str:
        cut = f", at most {self.max_vocab}" if self.max_vocab is not None else ""
        return (
            f"vocabulary: {self.kept:,} of {self.distinct:,} distinct words (min-count {self.min_count}{cut})"
        )


def build_vocabulary(
    files: Sequence[Path],
    *,
    min_count: int,
    max_vocab: int | None,
    lowercase: bool,
    encoding_errors: str = "strict",
) -> tuple[WordTokenizer, VocabularyReport]:
    """A word tokenizer over the words seen ``min_count`` times (at most ``max_vocab`` words,
    specials not counted); SeqcliError saying how many survive when fewer than 2 do."""
    if min_count < 1:
        raise SeqcliError(f"--min-count must be at least 1, got {min_count}")
    if max_vocab is not None and max_vocab < 2:
        raise SeqcliError(f"--max-vocab must be at least 2, got {max_vocab}")
    counts: Counter[str] = Counter()
    for path in files:
        for chunk in iter_text_chunks(path, encoding_errors=encoding_errors):
            counts.update((chunk.lower() if lowercase else chunk).split())
    distinct = len(counts)
    surviving = sum(1 for count in counts.values() if count >= min_count)
    kept = surviving if max_vocab is None else min(surviving, max_vocab)
    names = ", ".join(str(path) for path in files)
    if kept < 2:
        raise SeqcliError(
            f"{names}: only {surviving} of {distinct} distinct words occur at least {min_count} times;"
            " word vectors need at least 2; lower --min-count or give a larger corpus"
        )
    limit = None if max_vocab is None else max_vocab + FIRST_WORD
    tokenizer = WordTokenizer.from_counts(counts, files, min_count=min_count, max_vocab=limit)
    tokenizer.lowercase = lowercase
    return tokenizer, VocabularyReport(distinct, kept, min_count, max_vocab)


def count_ids(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """Occurrences of each id in ``ids`` (V,) int64, specials set to 0.

    >>> count_ids(np.array([4, 5, 4, 3, 1]), 6).tolist()
    [0, 0, 0, 0, 2, 1]
    """
    counts = np.zeros(vocab_size, np.int64)
    for start in range(0, len(ids), COUNT_BLOCK):
        counts += np.bincount(ids[start : start + COUNT_BLOCK], minlength=vocab_size)[:vocab_size]
    counts[:FIRST_WORD] = 0
    return counts


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """Probability of keeping each occurrence of a word (V,) float32 (Mikolov et al. 2013b,
    as word2vec.c computes it): (sqrt(f / t) + 1) · t / f with f = count and t = sample ·
    total words, capped at 1; ``sample`` 0 keeps everything.

    >>> [round(float(p), 3) for p in keep_probabilities(np.array([0, 100, 1]), 0.01)]
    [1.0, 0.111, 1.0]
    """
    if sample <= 0:
        return np.ones(len(counts), np.float32)
    threshold = sample * counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = (np.sqrt(counts / threshold) + 1) * threshold / counts
    return np.where(counts > 0, np.minimum(keep, 1.0), 1.0).astype(np.float32)


@dataclass(frozen=True)
class NoiseTable:
    """The noise distribution P_n(w) ∝ count(w)^0.75 as an alias table: slot i (uniform over
    V) yields word i with probability ``keep[i]``, else ``alias[i]`` (both (V,))."""

    keep: np.ndarray
    alias: np.ndarray

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """Noise words, int64 of ``shape``."""
        slots = rng.integers(0, len(self.keep), shape)
        return np.where(rng.random(shape, dtype=np.float32) < self.keep[slots], slots, self.alias[slots])


def noise_table(counts: np.ndarray, power: float = 0.75) -> NoiseTable:
    """The noise distribution of word2vec (Mikolov et al. 2013b): unigram^``power``.

    >>> table = noise_table(np.array([0, 16, 1]))
    >>> draws = table.sample(np.random.default_rng(0), (90_000,))
    >>> round(float((draws == 1).mean()), 2), int((draws == 0).sum())
    (0.89, 0)
    """
    weights = counts.astype(np.float64) ** power
    keep, alias = alias_table(weights / weights.sum())
    return NoiseTable(keep, alias)


def chunk_bounds(ids: np.ndarray, start: int, end: int, chunk_tokens: int) -> np.ndarray:
    """Boundaries that cut ``ids[start:end]`` into chunks of about ``chunk_tokens``, each
    ending just after an ``<eos>`` when one is near (a longer sentence is cut where it must).

    >>> chunk_bounds(np.array([4, 4, 3, 4, 3, 4, 4, 4, 3]), 0, 9, 3).tolist()
    [0, 5, 9]
    """
    bounds = [start]
    while bounds[-1] < end:
        cut = min(bounds[-1] + chunk_tokens, end)
        if cut < end:
            window = np.asarray(ids[cut : min(cut + chunk_tokens, end)])
            found = np.flatnonzero(window == EOS)
            cut = cut + int(found[0]) + 1 if len(found) else min(cut + chunk_tokens, end)
        bounds.append(cut)
    return np.asarray(bounds, np.int64)


def subsample(ids: np.ndarray, keep: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Words of ``ids`` that survive subsampling and their sentence numbers, both (N,).

    >>> words, sentences = subsample(np.array([4, 5, 3, 1, 6, 3]), np.ones(7), np.random.default_rng(0))
    >>> words.tolist(), sentences.tolist()
    ([4, 5, 6], [0, 0, 1])
    """
    ids = np.asarray(ids, np.int64)
    sentence = np.cumsum(ids == EOS) - (ids == EOS)
    kept = (ids >= FIRST_WORD) & (rng.random(len(ids), dtype=np.float32) < keep[ids])
    return ids[kept], sentence[kept]


def _window_offsets(sentence: np.ndarray, window: int, rng: np.random.Generator):
    """(offset, centre positions, context positions) for each offset within the window."""
    n = len(sentence)
    reach = window - rng.integers(0, window, n)  # the dynamic window of each centre
    for distance in range(1, window + 1):
        left = np.arange(n - distance)
        same = sentence[left] == sentence[left + distance]
        right = left + distance
        forward = same & (reach[left] >= distance)  # centre left, context right
        backward = same & (reach[right] >= distance)  # centre right, context left
        yield left[forward], right[forward]
        yield right[backward], left[backward]


def skipgram_pairs(
    words: np.ndarray, sentence: np.ndarray, window: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """All (centre, context) word pairs of a subsampled block, vectorised over positions
    (a loop over the 2·window offsets only); windows never cross a sentence end.

    >>> rng = np.random.default_rng(0)
    >>> centre, context = skipgram_pairs(np.array([4, 5, 6]), np.array([0, 0, 1]), 2, rng)
    >>> sorted(zip(centre.tolist(), context.tolist()))
    [(4, 5), (5, 4)]
    """
    parts = list(_window_offsets(sentence, window, rng))
    centres = np.concatenate([centre for centre, _ in parts])
    contexts = np.concatenate([context for _, context in parts])
    return words[centres], words[contexts]


def cbow_examples(
    words: np.ndarray, sentence: np.ndarray, window: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre words (N,), their context words (N, 2·window) and a mask of real entries;
    centres with no context are left out."""
    n = len(words)
    context = np.zeros((n, 2 * window), np.int64)
    mask = np.zeros((n, 2 * window), bool)
    for slot, (centre, other) in enumerate(_window_offsets(sentence, window, rng)):
        context[centre, slot] = words[other]
        mask[centre, slot] = True
    has_context = mask.any(1)
    return words[has_context], context[has_context], mask[has_context]
