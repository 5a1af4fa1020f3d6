"""word2vec: skip-gram and CBOW with negative sampling or hierarchical softmax.

Mikolov et al. 2013, "Efficient Estimation of Word Representations in Vector Space" and
"Distributed Representations of Words and Phrases and their Compositionality". The model
is two matrices: ``input`` (V, d), the word vectors, and ``output``, the output layer:
(V, d) context vectors for negative sampling, (V-1, d) inner-node vectors of a Huffman
tree for hierarchical softmax. Training updates rows in place (see
:mod:`seqcli.models.word2vec_kernels` for the CPU kernel and :meth:`Word2Vec.sgd_step` for the
batched torch path); there is no autograd graph.

>>> import torch
>>> model = Word2Vec(Word2VecConfig(vocab_size=6, dim=4))
>>> tuple(model.input.shape), tuple(model.output.shape), float(model.output.abs().sum())
((6, 4), (6, 4), 0.0)
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["LOSSES", "MODELS", "HuffmanTree", "Word2Vec", "Word2VecConfig", "huffman_tree"]

MODELS = ("skipgram", "cbow")
LOSSES = ("negative", "hierarchical")


@dataclass(frozen=True)
class Word2VecConfig:
    """Everything needed to rebuild a :class:`Word2Vec`. ``window`` is the largest distance
    to a context word (each centre draws its own, 1..window); ``negative`` is k, the noise
    words per positive pair; ``sample`` the subsampling threshold t (0 keeps every word)."""

    vocab_size: int
    dim: int = 100
    model: str = "skipgram"
    loss: str = "negative"
    window: int = 5
    negative: int = 5
    sample: float = 1e-3

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        for name in ("vocab_size", "dim", "window"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.loss == "negative" and self.negative < 1:
            raise ValueError(f"negative must be >= 1 with negative sampling, got {self.negative}")
        if self.sample < 0:
            raise ValueError(f"sample must be >= 0, got {self.sample}")

    @property
    def output_rows(self) -> int:
        """Rows of the output layer: one per word, or one per inner node of the tree."""
        return self.vocab_size if self.loss == "negative" else max(1, self.vocab_size - 1)


class Word2Vec(nn.Module):
    """The two matrices of word2vec. ``input``: (V, d) word vectors, initialised uniformly in
    ±1/d as gensim 4; ``output``: (rows, d), zeros."""

    def __init__(self, config: Word2VecConfig) -> None:
        super().__init__()
        self.config = config
        weights = (torch.rand(config.vocab_size, config.dim) * 2 - 1) / config.dim
        self.input = nn.Parameter(weights, requires_grad=False)
        self.output = nn.Parameter(torch.zeros(config.output_rows, config.dim), requires_grad=False)

    @torch.no_grad()
    def sgd_step(
        self,
        inputs: Tensor,
        input_mask: Tensor | None,
        targets: Tensor,
        labels: Tensor,
        target_mask: Tensor,
        lr: Tensor | float,
    ) -> Tensor:
        """One batched update with summed row gradients (the torch / GPU path).

        ``inputs`` (B, C) rows of ``input`` averaged into the hidden vector h (C = 1 for
        skip-gram, the context for CBOW, ``input_mask`` (B, C) marking real entries);
        ``targets`` (B, K) rows of ``output`` scored against h with binary ``labels`` (B, K)
        (1 for the true word or a 0-branch of its tree path, 0 for noise words), valid
        where ``target_mask`` (B, K). Returns the summed loss -Σ log σ(±f) as a 0-d tensor.
        The gradient of log σ(f) for label y is (y - σ(f)); the error of h is added to every
        input row in full, as the original CBOW does.
        """
        if input_mask is None:
            hidden = self.input[inputs[:, 0]]  # (B, d)
        else:
            mask = input_mask.to(self.input.dtype)
            count = mask.sum(1, keepdim=True).clamp_min(1.0)
            hidden = (self.input[inputs] * mask[..., None]).sum(1) / count  # (B, d)
        out = self.output[targets]  # (B, K, d)
        scores = torch.bmm(out, hidden[:, :, None]).squeeze(2)  # (B, K)
        valid = target_mask.to(scores.dtype)
        signed = torch.where(labels > 0, scores, -scores)
        loss = -(nn.functional.logsigmoid(signed) * valid).sum()
        grad = (labels.to(scores.dtype) - torch.sigmoid(scores)) * valid * lr  # (B, K)
        hidden_error = torch.bmm(grad[:, None, :], out).squeeze(1)  # (B, d)
        self.output.index_add_(0, targets.reshape(-1), (grad[..., None] * hidden[:, None, :]).flatten(0, 1))
        if input_mask is None:
            self.input.index_add_(0, inputs[:, 0], hidden_error)
        else:
            spread = (hidden_error[:, None, :] * input_mask[..., None].to(hidden.dtype)).flatten(0, 1)
            self.input.index_add_(0, inputs.reshape(-1), spread)
        return loss


@dataclass(frozen=True)
class HuffmanTree:
    """Paths from the root to every word. ``codes`` (V, L) uint8: the branch taken at each
    step (0/1); ``points`` (V, L) int32: the inner node (a row of ``output``) at each step;
    ``lengths`` (V,): how many steps each path has (frequent words have short ones)."""

    codes: np.ndarray
    points: np.ndarray
    lengths: np.ndarray


def huffman_tree(counts: np.ndarray) -> HuffmanTree:
    """The Huffman tree of word ``counts`` (V,), built as the original word2vec does.

    Words with count 0 (the special tokens) still get leaves, at the bottom of the tree.

    >>> tree = huffman_tree(np.array([8, 4, 2, 1]))
    >>> tree.lengths.tolist(), tree.codes[0, :1].tolist(), tree.codes[3, :3].tolist()
    ([1, 2, 3, 3], [1], [0, 0, 0])
    """
    size = len(counts)
    if size < 2:
        return HuffmanTree(
            np.zeros((size, 1), np.uint8), np.zeros((size, 1), np.int32), np.zeros(size, np.int32)
        )
    # Node ids: leaves 0..V-1, inner nodes V..2V-2; ties broken by id for determinism.
    heap = [(int(count), node) for node, count in enumerate(counts)]
    heapq.heapify(heap)
    parent = np.zeros(2 * size - 1, np.int64)
    branch = np.zeros(2 * size - 1, np.uint8)
    for node in range(size, 2 * size - 1):
        (count_a, a), (count_b, b) = heapq.heappop(heap), heapq.heappop(heap)
        parent[a], parent[b], branch[b] = node, node, 1
        heapq.heappush(heap, (count_a + count_b, node))
    root = 2 * size - 2
    paths: list[tuple[list[int], list[int]]] = []
    for leaf in range(size):
        codes, points, node = [], [], leaf
        while node != root:
            codes.append(int(branch[node]))
            node = int(parent[node])
            points.append(node - size)  # inner node id as a row of ``output``
        paths.append((codes[::-1], points[::-1]))
    depth = max(len(codes) for codes, _ in paths)
    tree_codes = np.zeros((size, depth), np.uint8)
    tree_points = np.zeros((size, depth), np.int32)
    lengths = np.zeros(size, np.int32)
    for word, (codes, points) in enumerate(paths):
        lengths[word] = len(codes)
        tree_codes[word, : len(codes)] = codes
        tree_points[word, : len(points)] = points
    return HuffmanTree(tree_codes, tree_points, lengths)
