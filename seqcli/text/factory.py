"""Making tokenizers by type: train one on files, or load one from its directory.

The tokenizer modules (char, word, spm) build on :mod:`seqcli.text.tokenizer`; this module
sits above all of them and is the only place that maps a type name to its class, so no
module imports one that imports it back. sentencepiece is loaded only when a bpe or
unigram tokenizer is made.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from seqcli.errors import SeqcliError
from seqcli.text.tokenizer import (
    CONFIG_FILE,
    FORMAT_VERSION,
    SPECIAL_TOKENS,
    TOKENIZER_TYPES,
    Tokenizer,
)

__all__ = ["DEFAULT_SPM_VOCAB_SIZE", "TOKENIZER_CLASSES", "load_tokenizer", "train_tokenizer"]

DEFAULT_SPM_VOCAB_SIZE = 8000
TOKENIZER_CLASSES: dict[str, str] = {
    "char": "seqcli.text.char:CharTokenizer",
    "word": "seqcli.text.word:WordTokenizer",
    "bpe": "seqcli.text.spm:SentencePieceTokenizer",
    "unigram": "seqcli.text.spm:SentencePieceTokenizer",
}
"""Each tokenizer type's class, as ``module:name`` (imported when that type is used)."""


def load_tokenizer(directory: Path) -> Tokenizer:
    """The tokenizer saved in ``directory``; SeqcliError naming the file if it is damaged."""
    directory = Path(directory)
    path = directory / CONFIG_FILE
    config = _read_config(directory)
    kind = config.get("type")
    if kind not in TOKENIZER_TYPES:
        raise SeqcliError(
            f"{path}: unknown tokenizer type {kind!r} (expected one of {', '.join(TOKENIZER_TYPES)})"
        )
    version = config.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise SeqcliError(
            f"{path}: tokenizer format {version!r} is not supported (this seqcli reads up to"
            f" {FORMAT_VERSION}); upgrade seqcli"
        )
    return _tokenizer_class(kind).from_saved(config, directory)


def _read_config(directory: Path) -> dict[str, Any]:
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise SeqcliError(f"{directory}: no tokenizer ({CONFIG_FILE} missing)")
    try:
        config = json.loads(path.read_bytes())
    except OSError as err:
        raise SeqcliError(f"{path}: cannot read ({err.strerror})") from err
    except ValueError as err:  # JSONDecodeError and UnicodeDecodeError alike
        raise SeqcliError(f"{path}: not valid JSON ({err}); the file is damaged") from None
    if not isinstance(config, dict):
        raise SeqcliError(f"{path}: expected a JSON object; the file is damaged")
    return config


def train_tokenizer(
    kind: str,
    files: list[Path],
    *,
    vocab_size: int | None = None,
    min_count: int = 1,
    max_vocab: int | None = None,
    encoding_errors: str = "strict",
    max_sentences: int = 2_000_000,
    seed: int = 0,
) -> Tokenizer:
    """Train a ``kind`` tokenizer on ``files``, read as a stream.

    ``vocab_size`` (default 8000), ``max_sentences`` (lines sampled) and ``seed`` are for
    bpe and unigram; ``min_count`` and ``max_vocab`` (specials included) for char and word,
    which count the whole corpus and are deterministic.
    """
    if kind not in TOKENIZER_TYPES:
        raise SeqcliError(f"unknown tokenizer type {kind!r}; choose one of {', '.join(TOKENIZER_TYPES)}")
    if not files:
        raise SeqcliError("no training files given for the tokenizer")
    if kind in ("bpe", "unigram"):
        if min_count != 1 or max_vocab is not None:
            raise SeqcliError(
                f"--min-count and --max-vocab apply to char and word tokenizers;"
                f" a {kind} tokenizer takes --vocab-size"
            )
        vocab_size = DEFAULT_SPM_VOCAB_SIZE if vocab_size is None else vocab_size
        _check_at_least("--vocab-size", vocab_size, len(SPECIAL_TOKENS) + 1)
        _check_at_least("--max-sentences", max_sentences, 1)
        return _tokenizer_class(kind).train(
            kind,
            files,
            vocab_size=vocab_size,
            encoding_errors=encoding_errors,
            max_sentences=max_sentences,
            seed=seed,
        )
    if vocab_size is not None:
        raise SeqcliError(
            f"--vocab-size applies to bpe and unigram tokenizers; a {kind} tokenizer takes --max-vocab"
        )
    _check_at_least("--min-count", min_count, 1)
    if max_vocab is not None:
        _check_at_least("--max-vocab", max_vocab, len(SPECIAL_TOKENS) + 1)
    return _tokenizer_class(kind).train(
        files, min_count=min_count, max_vocab=max_vocab, encoding_errors=encoding_errors
    )


def _check_at_least(option: str, value: int, minimum: int) -> None:
    if value < minimum:
        raise SeqcliError(f"{option} must be at least {minimum}, got {value}")


def _tokenizer_class(kind: str) -> Any:
    module, name = TOKENIZER_CLASSES[kind].split(":")
    return getattr(importlib.import_module(module), name)
