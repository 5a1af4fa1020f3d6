"""Pre-trained word vectors for the tagger's and classifier's embeddings (``--embeddings``).

:func:`read_vectors` reads a vectors run (``seqcli train-embeddings``) or a word2vec text
or binary file (:mod:`seqcli.data.vectors`). :func:`initial_embeddings` builds the
embedding matrix of a vocabulary from them: a word takes its own vector, or failing that
the vector of its lower-cased form; the others keep a random start at the vectors' scale.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from seqcli.data.vectors import load_vectors
from seqcli.errors import SeqcliError

__all__ = ["initial_embeddings", "load_initial_embeddings", "read_vectors", "with_embedding_size"]


def read_vectors(path: Path) -> tuple[list[str], np.ndarray]:
    """``(words, vectors (V, d) float32)`` of a vectors run or a word2vec file."""
    vectors = load_vectors(path)
    return list(vectors.words), np.asarray(vectors.vectors, dtype=np.float32)


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


def load_initial_embeddings(
    embedding: nn.Embedding,
    vocabulary: Sequence[str],
    vectors: tuple[list[str], np.ndarray],
    *,
    seed: int,
    warn: Callable[[str], None],
) -> None:
    """Fill ``embedding`` (ids 0 and 1 are ``<pad>`` and ``<unk>``, then ``vocabulary``) from
    the pre-trained ``vectors``, and say how many words had one."""
    matrix, found = initial_embeddings(vocabulary, 2, *vectors, seed=seed)
    embedding.weight.data.copy_(matrix)
    warn(f"--embeddings: {found} of {len(vocabulary)} words have a pre-trained vector")


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
