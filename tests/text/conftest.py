"""Tokenizers trained once on the committed toy corpus, shared by the tests in this folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqcli.text import TOKENIZER_TYPES, Tokenizer, train_tokenizer

CORPUS = Path(__file__).parent.parent / "data" / "tiny_shakespeare.txt"
# Small enough to train in milliseconds, large enough for the toy corpus's alphabet.
SPM_VOCAB_SIZE = 120


def train_small(kind: str, files: list[Path], **options: object) -> Tokenizer:
    """A tokenizer sized for toy corpora: bpe and unigram get a small vocabulary."""
    if kind in ("bpe", "unigram"):
        options.setdefault("vocab_size", SPM_VOCAB_SIZE)
    return train_tokenizer(kind, files, **options)


@pytest.fixture(scope="session")
def corpus() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def corpus_text() -> str:
    return CORPUS.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def trained() -> dict[str, Tokenizer]:
    return {kind: train_small(kind, [CORPUS]) for kind in TOKENIZER_TYPES}


@pytest.fixture(scope="session")
def train() -> object:
    """``train(kind, files, **options)``: train_tokenizer with toy-sized defaults."""
    return train_small
