"""The token cache: encoded once, memory-mapped after, re-encoded when the corpus changes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from seqcli.data.token_cache import token_stream
from seqcli.text import train_tokenizer


def test_cache_is_reused_and_memory_mapped(tmp_path: Path, toy_corpus: Path) -> None:
    tokenizer = train_tokenizer("char", [toy_corpus])
    calls: list[int] = []
    first = token_stream(toy_corpus, tokenizer, cache_dir=tmp_path, progress=calls.append)
    second = token_stream(toy_corpus, tokenizer, cache_dir=tmp_path, progress=calls.append)
    assert isinstance(second, np.memmap) and second.dtype == np.uint16
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(second, tokenizer.encode_stream(toy_corpus.read_text()))
    assert sum(calls) == toy_corpus.stat().st_size  # encoded once: progress reported once
    assert len(list(tmp_path.glob("*.ids"))) == 1


def test_changed_corpus_or_tokenizer_reencodes(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello world\n")
    char, word = train_tokenizer("char", [corpus]), train_tokenizer("word", [corpus])
    cache = tmp_path / "cache"
    assert len(token_stream(corpus, char, cache_dir=cache)) == 12
    assert len(token_stream(corpus, word, cache_dir=cache)) == 3  # two words and <eos>
    corpus.write_text("hello world hello\n")
    os.utime(corpus, ns=(1, 1))
    assert len(token_stream(corpus, word, cache_dir=cache)) == 4
    assert len(list(cache.glob("*.ids"))) == 3


def test_a_torn_cache_file_is_rebuilt(tmp_path: Path, toy_corpus: Path) -> None:
    tokenizer = train_tokenizer("char", [toy_corpus])
    expected = np.array(token_stream(toy_corpus, tokenizer, cache_dir=tmp_path))
    (ids_file,) = tmp_path.glob("*.ids")
    ids_file.write_bytes(ids_file.read_bytes()[:10])
    np.testing.assert_array_equal(token_stream(toy_corpus, tokenizer, cache_dir=tmp_path), expected)
