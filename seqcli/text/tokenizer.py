"""One interface over every tokenizer: ids, pieces, training streams, saving.

Every tokenizer reserves the same four special tokens at the same ids (``<pad> <unk> <bos>
<eos>`` = 0, 1, 2, 3), so batching, models and decoding never ask which tokenizer they were
given. A tokenizer is saved as ``tokenizer.json`` (type, settings and, for ``char`` and
``word``, the vocabulary) plus ``tokenizer.model`` for the sentencepiece types; training
and loading by type name are in :mod:`seqcli.text.factory`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from seqcli.atomic import atomic_write_bytes
from seqcli.errors import SeqcliError

__all__ = [
    "BOS_ID",
    "CONFIG_FILE",
    "EOS_ID",
    "FORMAT_VERSION",
    "PAD_ID",
    "SPECIAL_TOKENS",
    "TOKENIZER_TYPES",
    "UNK_ID",
    "Tokenizer",
    "check_tokenizer_directory",
    "config_value",
    "empty_corpus_error",
]

SPECIAL_TOKENS = ("<pad>", "<unk>", "<bos>", "<eos>")
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
TOKENIZER_TYPES = ("char", "word", "bpe", "unigram")
CONFIG_FILE = "tokenizer.json"
# Bumped when tokenizer.json changes incompatibly, so an old seqcli refuses a newer file.
FORMAT_VERSION = 1
# What marks a directory as a model's (seqcli.train.checkpoint writes them); text sits below
# train in the package layering, so the names are repeated here.
_MODEL_FILES = ("config.json", "model.safetensors", "state")


class Tokenizer(ABC):
    """Text to token ids and back; the specials sit at ids 0..3 in every tokenizer."""

    kind: str
    # False: running text whose newlines are ordinary tokens (char).
    # True: one sentence per line, each ending in <eos> in the training stream.
    line_based: bool

    @property
    @abstractmethod
    def vocab_size(self) -> int:
        """Number of ids, specials included."""

    @abstractmethod
    def id_to_piece(self, token_id: int) -> str:
        """The piece of ``token_id``; IndexError outside ``range(vocab_size)``."""

    @abstractmethod
    def piece_to_id(self, piece: str) -> int:
        """The id of ``piece``, or UNK_ID for a piece outside the vocabulary."""

    @abstractmethod
    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, no specials added."""

    @abstractmethod
    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``; pad, bos and eos are skipped, unk shows as ``<unk>``."""

    @abstractmethod
    def serialize(self) -> dict[str, bytes]:
        """The files ``save`` writes, by name, ``tokenizer.json`` last."""

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.encode(text) for text in texts]

    def pieces(self, text: str) -> list[str]:
        """The piece of each id of ``encode(text)``."""
        return [self.id_to_piece(token_id) for token_id in self.encode(text)]

    def format_pieces(self, text: str) -> str:
        """``text`` as its pieces separated by single spaces, as ``seqcli tokenize`` prints it.

        Pieces are shown as they are unless a tokenizer's pieces can hold whitespace (char):
        then :meth:`parse_pieces` must read back exactly what this wrote.
        """
        return " ".join(self.pieces(text))

    def parse_pieces(self, line: str) -> list[int]:
        """Ids of a line written by :meth:`format_pieces`; unknown pieces are UNK_ID."""
        return [self.piece_to_id(field) for field in line.split()]

    def encode_stream(self, text: str) -> np.ndarray:
        """Training stream of a corpus chunk that ends on a line boundary: int64, shape (N,).

        Each non-blank line's ids followed by EOS_ID; blank lines carry no sentence.
        The char tokenizer overrides this: its stream is every character, newlines included.
        """
        encoded = self.encode_batch([line for line in text.split("\n") if line.strip()])
        total = sum(map(len, encoded)) + len(encoded)
        ids = chain.from_iterable(chain(line_ids, (EOS_ID,)) for line_ids in encoded)
        return np.fromiter(ids, dtype=np.int64, count=total)

    def save(self, directory: Path) -> None:
        """Write the tokenizer's files into ``directory`` (created if missing)."""
        directory = Path(directory)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            # tokenizer.json comes last, so its presence means the whole tokenizer was written.
            for name, data in self.serialize().items():
                atomic_write_bytes(directory / name, data)
        except OSError as err:
            raise SeqcliError(f"{directory}: cannot write the tokenizer ({err.strerror or err})") from None

    def fingerprint(self) -> str:
        """sha256 hex of the files ``save`` writes: equal fingerprints, equal tokenizers."""
        digest = hashlib.sha256()
        for name, data in sorted(self.serialize().items()):
            # Lengths in the hashed text keep (name, data) pairs from running into each other.
            digest.update(f"{name}\0{len(data)}\0".encode())
            digest.update(data)
        return digest.hexdigest()

    def config_bytes(self, settings: dict[str, Any]) -> bytes:
        """``tokenizer.json`` for this tokenizer with ``settings`` after type and format."""
        config = {"type": self.kind, "format_version": FORMAT_VERSION, **settings}
        return (json.dumps(config, ensure_ascii=False, indent=1) + "\n").encode("utf-8")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind!r}, vocab_size={self.vocab_size})"


def check_tokenizer_directory(directory: Path, *, overwrite: bool = False) -> None:
    """Refuse ``directory`` as a tokenizer's output before any work is done; touches nothing.

    A directory that holds a model is refused even with ``overwrite``: its model was trained
    with its own tokenizer, and another one would turn its ids into nonsense. An existing
    tokenizer needs ``overwrite``. The directory must be creatable and writable.
    """
    directory = Path(directory)
    for name in _MODEL_FILES:
        if (directory / name).exists():
            raise SeqcliError(
                f"{directory / name}: {directory} holds a model, whose tokenizer must not be replaced;"
                " write the tokenizer to a directory of its own"
            )
    if (directory / CONFIG_FILE).exists() and not overwrite:
        raise SeqcliError(f"{directory}: already holds a tokenizer; pass --overwrite to replace it")
    _check_writable(directory)


def _check_writable(directory: Path) -> None:
    """Create ``directory`` and a file in it, then remove what was created."""
    missing = [directory, *directory.parents]
    missing = missing[: next((i for i, p in enumerate(missing) if p.exists()), len(missing))]
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".write-test"):
            pass
    except OSError as err:
        raise SeqcliError(f"{directory}: cannot write here ({err.strerror or err})") from None
    finally:
        for created in missing:  # deepest first, each empty
            with contextlib.suppress(OSError):
                created.rmdir()


def config_value(config: dict[str, Any], key: str, expected: type, directory: Path) -> Any:
    """``config[key]`` if it has the ``expected`` type, else SeqcliError naming the file."""
    value = config.get(key)
    if not isinstance(value, expected):
        raise SeqcliError(
            f"{directory / CONFIG_FILE}: {key!r} is missing or not a {expected.__name__}; the file is damaged"
        )
    return value


def empty_corpus_error(files: Sequence[Path]) -> SeqcliError:
    names = ", ".join(str(path) for path in files)
    return SeqcliError(f"{names}: empty corpus (no tokens to train a tokenizer on)")
