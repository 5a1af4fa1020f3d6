"""Pre-trained word vectors for the tagger's and classifier's embeddings (``--embeddings``).

:func:`read_vectors` reads a vectors run (``seqcli train-embeddings``) or a word2vec text
or binary file through :mod:`seqcli.data.vectors` when this seqcli has it; otherwise a
minimal word2vec reader here (files only) stands in. :func:`initial_embeddings` builds the
embedding matrix of a vocabulary from them: a word takes its own vector, or failing that
the vector of its lower-cased form; the others keep a random start at the vectors' scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from seqcli.errors import SeqcliError

__all__ = ["initial_embeddings", "read_vectors", "with_embedding_size"]


def read_vectors(path: Path) -> tuple[list[str], np.ndarray]:
    """``(words, vectors (V, d) float32)`` of a vectors run or word2vec file."""
    try:
        from seqcli.data.vectors import load_vectors
    except ImportError:
        return _read_word2vec(path)
    vectors = load_vectors(path)
    return list(vectors.words), np.asarray(vectors.vectors, dtype=np.float32)


def _read_word2vec(path: Path) -> tuple[list[str], np.ndarray]:
    """word2vec's formats: a ``COUNT DIM`` line, then per word its text and DIM numbers
    (text), or its UTF-8 bytes, a space and DIM little-endian float32s (binary)."""
    if path.is_dir():
        raise SeqcliError(f"--embeddings {path}: a directory; give a word2vec text or binary file")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SeqcliError(f"--embeddings {path}: cannot read ({err.strerror or err})") from None
    header, _, body = data.partition(b"\n")
    fields = header.split()
    if len(fields) != 2 or not all(f.isdigit() for f in fields):
        raise SeqcliError(f"{path}:1: expected a word2vec header 'COUNT DIM'")
    count, dim = int(fields[0]), int(fields[1])
    try:
        return _read_text(body, count, dim, path)
    except (UnicodeDecodeError, ValueError):
        return _read_binary(body, count, dim, path)


def _read_text(body: bytes, count: int, dim: int, path: Path) -> tuple[list[str], np.ndarray]:
    words, rows = [], []
    for lineno, line in enumerate(body.decode("utf-8").splitlines()[:count], start=2):
        parts = line.rstrip().split(" ")
        if len(parts) != dim + 1:
            raise ValueError(f"{path}:{lineno}: expected a word and {dim} numbers")
        words.append(parts[0])
        rows.append(np.array(parts[1:], dtype=np.float32))
    if len(words) != count:
        raise SeqcliError(f"{path}: the header promises {count} words, the file has {len(words)}")
    return words, np.stack(rows) if rows else np.zeros((0, dim), np.float32)


def _read_binary(body: bytes, count: int, dim: int, path: Path) -> tuple[list[str], np.ndarray]:
    words, rows, offset = [], [], 0
    for _ in range(count):
        space = body.find(b" ", offset)
        end = space + 1 + 4 * dim
        if space < 0 or end > len(body):
            raise SeqcliError(f"{path}: cut short after {len(words)} of {count} vectors")
        words.append(body[offset:space].decode("utf-8", errors="replace").lstrip("\n"))
        rows.append(np.frombuffer(body[space + 1 : end], dtype="<f4"))
        offset = end
    return words, np.stack(rows).astype(np.float32) if rows else np.zeros((0, dim), np.float32)


def initial_embeddings(
    vocabulary: Sequence[str], first_id: int, words: Sequence[str], vectors: np.ndarray, *, seed: int
) -> tuple[Tensor, int]:
    """An embedding matrix ``(first_id + len(vocabulary), d)`` and how many words had a
    vector; rows below ``first_id`` (the specials) are 0 for padding, random otherwise."""
    index = {word: i for i, word in enumerate(words)}
    scale = float(vectors.std()) if vectors.size else 0.1
    generator = torch.Generator().manual_seed(seed)
    matrix = torch.randn(first_id + len(vocabulary), vectors.shape[1], generator=generator) * scale
    matrix[0] = 0.0  # <pad>
    found = 0
    for row, word in enumerate(vocabulary, start=first_id):
        source = index.get(word, index.get(word.lower()))
        if source is not None:
            matrix[row] = torch.from_numpy(vectors[source])
            found += 1
    return matrix, found


def with_embedding_size(
    model: dict[str, Any], vectors: tuple[list[str], np.ndarray] | None, *, default: int
) -> dict[str, Any]:
    """A copy of the model options with ``embedding_dim`` settled: None means the size of
    the pre-trained vectors, or ``default`` without them; a size given must match theirs."""
    dim = model.get("embedding_dim")
    if vectors is not None:
        size = vectors[1].shape[1]
        if dim is not None and dim != size:
            raise SeqcliError(f"--embedding {dim} differs from the size of the --embeddings vectors, {size}")
        dim = size
    return {**model, "embedding_dim": dim or default}
