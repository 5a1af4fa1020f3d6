"""Word vectors on disk: the word2vec text and binary formats, and vectors runs.

Both formats start with a header line ``COUNT DIM``. Text: then one line per word, the word
and DIM numbers separated by single spaces. Binary: then per word its UTF-8 bytes, one
space, DIM little-endian float32s and a newline. The writers produce exactly what the
original word2vec.c writes (``%s `` then ``%lf `` per value in text); the readers also take
gensim's variants (no space before the newline in text, no newline after a binary vector).

A vectors run (a directory written by ``seqcli train-embeddings``) is read as its word
list (specials left out) and its ``input`` matrix.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from seqcli.atomic import atomic_path
from seqcli.errors import SeqcliError

__all__ = ["VECTOR_FORMATS", "WordVectors", "load_vectors", "read_word2vec", "write_word2vec"]

VECTOR_FORMATS = ("word2vec-text", "word2vec-binary")
MAX_WORD_BYTES = 4096  # a binary "word" longer than this is a damaged or foreign file
_FIRST_WORD = 4  # specials (<pad> <unk> <bos> <eos>) of a run's tokenizer have no vectors


@dataclass(frozen=True)
class WordVectors:
    """``words`` (V,) in file order (most frequent first, for word2vec's own files) and
    their ``vectors`` (V, d) float32."""

    words: list[str]
    vectors: np.ndarray
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {word: i for i, word in enumerate(self.words)})

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def unit(self) -> np.ndarray:
        """Rows scaled to length 1 (zero rows stay zero): (V, d) float32."""
        norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
        return (self.vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def write_word2vec(path: Path, vectors: WordVectors, *, binary: bool) -> None:
    """Write ``vectors`` in word2vec's binary or text format, byte for byte as word2vec.c."""
    matrix = np.ascontiguousarray(vectors.vectors, dtype="<f4")
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        out.write(f"{len(vectors.words)} {matrix.shape[1]}\n".encode())
        for word, row in zip(vectors.words, matrix, strict=True):
            if binary:
                out.write(word.encode("utf-8") + b" " + row.tobytes() + b"\n")
            else:
                out.write((word + " " + "".join(f"{value:f} " for value in row.tolist()) + "\n").encode())


def read_word2vec(path: Path, *, encoding_errors: str = "strict") -> WordVectors:
    """Read a word2vec text or binary file (told apart by its first record)."""
    try:
        with open(path, "rb") as handle:
            count, dim = _read_header(handle, path)
            body = handle.tell()
            binary = _looks_binary(handle.read(MAX_WORD_BYTES + 16 * dim), dim)
            size = os.fstat(handle.fileno()).st_size - body
            handle.seek(body)
            if binary:
                return _read_binary(handle, path, count, dim, size, encoding_errors)
            return _read_text(handle, path, count, dim, size, encoding_errors)
    except FileNotFoundError:
        raise SeqcliError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SeqcliError(f"{path}: is a directory, not a vectors file") from None
    except OSError as err:
        raise SeqcliError(f"{path}: cannot read ({err.strerror})") from None


def load_vectors(path: Path, *, encoding_errors: str = "strict") -> WordVectors:
    """Vectors from a vectors run directory or a word2vec text/binary file."""
    path = Path(path)
    return _read_run(path) if path.is_dir() else read_word2vec(path, encoding_errors=encoding_errors)


def _read_header(handle: BinaryIO, path: Path) -> tuple[int, int]:
    line = handle.readline(256)
    fields = line.split()
    if len(fields) != 2 or not all(f.isdigit() for f in fields) or not line.endswith(b"\n"):
        shown = line[:40].decode("utf-8", "replace").strip()
        raise SeqcliError(f"{path}:1: expected the word2vec header 'COUNT DIM', found {shown!r}")
    count, dim = int(fields[0]), int(fields[1])
    if count < 1 or dim < 1:
        raise SeqcliError(f"{path}:1: the header says {count} vectors of {dim} values; nothing to read")
    return count, dim


def _looks_binary(sample: bytes, dim: int) -> bool:
    """Whether the body starts with a binary record rather than a text line of numbers."""
    line = sample.split(b"\n", 1)[0]
    fields = line.rstrip().split(b" ")
    # A text line has the word and DIM printable fields; float32 bytes almost never do.
    return len(fields) != dim + 1 or not all(value and value.isascii() for value in fields[1:])


def _decode_word(raw: bytes, path: Path, where: str, encoding_errors: str) -> str:
    try:
        return raw.decode("utf-8", errors=encoding_errors)
    except UnicodeDecodeError:
        raise SeqcliError(
            f"{path}:{where}: the word is not valid UTF-8 ({raw[:20]!r}); pass --encoding-errors replace"
        ) from None


def _read_binary(reader: BinaryIO, path: Path, count: int, dim: int, size: int, errors: str) -> WordVectors:
    # The smallest record is a 1-byte word, a space and the floats: a header promising more
    # than the file holds is refused before the matrix is allocated.
    if count * (2 + 4 * dim) > size + 1:
        raise SeqcliError(
            f"{path}: the header says {count} vectors of {dim} values, but the file has only "
            f"{size} bytes after it (truncated, or a wrong header)"
        )
    words: list[str] = []
    matrix = np.empty((count, dim), np.float32)
    size = 4 * dim
    for i in range(count):
        where = f"vector {i + 1}"
        raw = _read_word(reader, path, where)
        word = _decode_word(raw, path, where, errors)
        data = reader.read(size)
        if len(data) < size:
            raise SeqcliError(
                f"{path}: truncated: the header says {count} vectors of {dim} values, but {where} "
                f"({word!r}) has only {len(data) // 4}"
            )
        matrix[i] = np.frombuffer(data, "<f4")
        words.append(word)
    _check_no_duplicates(path, words)
    if reader.read(64).strip():
        raise SeqcliError(f"{path}: more data after the {count} vectors the header announces (wrong header?)")
    return WordVectors(words, matrix)


def _read_word(reader: BinaryIO, path: Path, where: str) -> bytes:
    chunks = []
    while True:
        byte = reader.read(1)
        if not byte:
            raise SeqcliError(f"{path}: truncated: the file ends in the word of {where}")
        if byte == b" ":
            break
        chunks.append(byte)
        if len(chunks) > MAX_WORD_BYTES:
            raise SeqcliError(f"{path}: {where}: no space after {MAX_WORD_BYTES} bytes; not a word2vec file")
    word = b"".join(chunks).lstrip(b"\n")  # the C tool ends each vector with a newline
    if not word:
        raise SeqcliError(f"{path}: {where}: empty word (wrong dimension in the header?)")
    return word


def _read_text(handle: BinaryIO, path: Path, count: int, dim: int, size: int, errors: str) -> WordVectors:
    words: list[str] = []
    # A text record takes at least 2·dim + 2 bytes, which bounds the rows the file can hold.
    matrix = np.empty((min(count, size // (2 * dim + 2) + 1), dim), np.float32)
    for lineno, raw in enumerate(handle, start=2):
        if len(words) == len(matrix):
            if len(words) < count:
                break  # cannot happen for a file of valid lines; reported as truncated below
            if raw.strip():
                raise SeqcliError(f"{path}:{lineno}: more vectors than the {count} the header announces")
            continue
        fields = raw.rstrip().split(b" ")
        if len(fields) != dim + 1:
            raise SeqcliError(
                f"{path}:{lineno}: expected a word and {dim} values (the header's dimension),"
                f" found {len(fields) - 1}"
            )
        if not fields[0]:
            raise SeqcliError(f"{path}:{lineno}: the line starts with a space, not a word")
        word = _decode_word(fields[0], path, str(lineno), errors)
        try:
            matrix[len(words)] = [float(value) for value in fields[1:]]
        except ValueError:
            bad = next(v for v in fields[1:] if not _is_float(v))
            raise SeqcliError(
                f"{path}:{lineno}: not a number: {bad[:20].decode('utf-8', 'replace')!r}"
            ) from None
        words.append(word)
    if len(words) < count:
        raise SeqcliError(f"{path}: truncated: the header says {count} vectors, the file has {len(words)}")
    _check_no_duplicates(path, words)
    return WordVectors(words, matrix)


def _is_float(value: bytes) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _check_no_duplicates(path: Path, words: Sequence[str]) -> None:
    if len(set(words)) != len(words):
        seen: set[str] = set()
        duplicate = next(word for word in words if word in seen or seen.add(word))
        raise SeqcliError(f"{path}: the word {duplicate!r} has two vectors")


def _read_run(run_dir: Path) -> WordVectors:
    from safetensors import SafetensorError, safe_open

    from seqcli.text import load_tokenizer

    weights = run_dir / "model.safetensors"
    if not weights.is_file():
        raise SeqcliError(f"{run_dir}: not a vectors run (no model.safetensors)")
    tokenizer = load_tokenizer(run_dir)
    try:
        with safe_open(str(weights), framework="np") as tensors:
            if "input" not in tensors.keys():  # noqa: SIM118 (safe_open has no __contains__)
                raise SeqcliError(f"{weights}: holds no word vectors; is this a train-embeddings run?")
            matrix = tensors.get_tensor("input")
    except (SafetensorError, OSError, ValueError) as err:
        raise SeqcliError(f"{weights}: unreadable or truncated ({err})") from None
    if matrix.ndim != 2 or matrix.shape[0] != tokenizer.vocab_size:
        raise SeqcliError(
            f"{weights}: {matrix.shape[0]} vectors for {tokenizer.vocab_size} words; damaged run"
        )
    words = [tokenizer.id_to_piece(i) for i in range(_FIRST_WORD, tokenizer.vocab_size)]
    return WordVectors(words, np.asarray(matrix[_FIRST_WORD:], np.float32))
