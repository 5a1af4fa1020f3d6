"""The corpus side of word2vec: vocabulary, counts, subsampling, noise, chunks and pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seqcli.data.token_cache import token_stream
from seqcli.errors import SeqcliError
from seqcli.models.word2vec_kernels import EOS
from seqcli.tasks.embeddings_data import (
    build_vocabulary,
    cbow_examples,
    chunk_bounds,
    count_ids,
    keep_probabilities,
    noise_table,
    skipgram_pairs,
    subsample,
)


def test_vocabulary_keeps_words_seen_min_count_times_and_says_how_many(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("The the THE cat cat dog\nthe cat bird\n")
    tokenizer, report = build_vocabulary([corpus], min_count=2, max_vocab=None, lowercase=True)
    assert (report.distinct, report.kept) == (4, 2)
    assert "2 of 4 distinct words" in report.describe()
    assert tokenizer.encode("THE Cat dog") == [4, 5, 1]


def test_max_vocab_counts_words_not_specials(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("a a a b b c\n")
    tokenizer, report = build_vocabulary([corpus], min_count=1, max_vocab=2, lowercase=False)
    assert tokenizer.vocab_size == 4 + 2 and report.kept == 2


def test_too_few_surviving_words_is_an_error_naming_the_count(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("a a b c\n")
    with pytest.raises(SeqcliError, match=r"only 1 of 3 distinct words occur at least 2 times"):
        build_vocabulary([corpus], min_count=2, max_vocab=None, lowercase=False)


def test_counts_come_from_the_cached_ids(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("x y x\ny x\n")
    tokenizer, _ = build_vocabulary([corpus], min_count=1, max_vocab=None, lowercase=False)
    ids = token_stream(corpus, tokenizer, cache_dir=tmp_path / "cache")
    assert isinstance(ids, np.memmap)
    counts = count_ids(ids, tokenizer.vocab_size)
    assert counts[tokenizer.piece_to_id("x")] == 3 and counts[tokenizer.piece_to_id("y")] == 2
    assert counts[EOS] == 0


def test_subsampling_keeps_rare_words_and_thins_frequent_ones() -> None:
    counts = np.array([0, 0, 0, 0, 1_000_000, 10])
    keep = keep_probabilities(counts, 1e-3)
    assert keep[5] == 1.0 and 0 < keep[4] < 0.1
    assert keep_probabilities(counts, 0).tolist() == [1.0] * 6


def test_noise_table_follows_unigram_to_the_three_quarters() -> None:
    counts = np.array([0, 0, 0, 0, 16, 1])
    draws = noise_table(counts).sample(np.random.default_rng(0), (100_000,))
    share = (draws == 4).mean()
    assert share == pytest.approx(8 / 9, abs=0.01)  # 16^0.75 = 8 against 1
    assert not np.isin(draws, [0, 1, 2, 3]).any()


def test_chunks_end_on_sentence_ends() -> None:
    ids = np.array([4, 5, 3, 4, 4, 4, 3, 5, 3, 4])
    bounds = chunk_bounds(ids, 0, len(ids), 2)
    assert bounds[0] == 0 and bounds[-1] == len(ids)
    assert all(ids[b - 1] == EOS for b in bounds[1:-1])


def test_pairs_never_cross_a_sentence_end_and_respect_the_window() -> None:
    rng = np.random.default_rng(0)
    ids = np.array([4, 5, 6, 7, 3, 8, 9, 3])
    words, sentence = subsample(ids, np.ones(10, np.float32), rng)
    centres, contexts = skipgram_pairs(words, sentence, 2, rng)
    first = {4, 5, 6, 7}
    for centre, context in zip(centres.tolist(), contexts.tolist(), strict=True):
        assert (centre in first) == (context in first) and centre != context
        if centre in first:
            assert abs(centre - context) <= 2
    assert (8, 9) in set(zip(centres.tolist(), contexts.tolist(), strict=True))


def test_window_one_pairs_are_exactly_the_neighbours() -> None:
    words, sentence = np.array([4, 5, 6]), np.array([0, 0, 0])
    centres, contexts = skipgram_pairs(words, sentence, 1, np.random.default_rng(0))
    assert sorted(zip(centres.tolist(), contexts.tolist(), strict=True)) == [(4, 5), (5, 4), (5, 6), (6, 5)]


def test_cbow_examples_gather_the_context_of_each_centre() -> None:
    words, sentence = np.array([4, 5, 6, 7]), np.array([0, 0, 0, 1])
    centres, context, mask = cbow_examples(words, sentence, 1, np.random.default_rng(0))
    assert centres.tolist() == [4, 5, 6]  # 7 is alone in its sentence
    assert sorted(context[1][mask[1]].tolist()) == [4, 6]
