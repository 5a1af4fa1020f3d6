"""Attention over an encoder's outputs: additive (Bahdanau) and multiplicative (Luong).

For decoder step t the scores ``e<t,t'>`` compare the decoder's query with every encoder
output ``a<t'>``; padded source positions are set to -inf before the softmax, so they get
weight exactly 0; the context is ``c<t> = Σ_t' α<t,t'> a<t'>``.

- ``bahdanau``: ``e = vᵀ tanh(W_q s + W_k a)`` (Bahdanau et al. 2015, "Neural Machine
  Translation by Jointly Learning to Align and Translate", eq. 6 / appendix A.1.2);
- ``luong-dot``: ``e = sᵀ a`` (Luong et al. 2015, "Effective Approaches to Attention-based
  Neural Machine Translation", eq. 8, *dot*);
- ``luong-general``: ``e = sᵀ W a`` (same paper, *general*).

The part of each score that depends on the source alone (``W_k a``, ``W a`` or ``a``) is
computed once per sentence by :meth:`Attention.keys`, not once per decoder step.

>>> attention = Attention("bahdanau", query_size=4, memory_size=4)
>>> memory = torch.randn(2, 3, 4)
>>> mask = torch.tensor([[True, True, True], [True, False, False]])
>>> context, weights = attention(torch.randn(2, 4), attention.keys(memory), memory, mask)
>>> tuple(context.shape), weights[1].tolist()[1:]
((2, 4), [0.0, 0.0])
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seqcli.models.packed import linear

__all__ = ["ATTENTION_TYPES", "Attention"]

ATTENTION_TYPES: dict[str, str] = {
    "bahdanau": "additive, e = v·tanh(W_q s + W_k a) (Bahdanau et al. 2015)",
    "luong-dot": "multiplicative, e = s·a (Luong et al. 2015)",
    "luong-general": "multiplicative, e = s·W a (Luong et al. 2015)",
    "none": "no attention: the plain encoder-decoder (Sutskever et al. 2014, Cho et al. 2014)",
}
"""The names accepted by ``--attention``, each with a one-line description for ``--help``."""


class Attention(nn.Module):
    """One scoring function of :data:`ATTENTION_TYPES` (not ``none``) and the weighted sum.

    ``query_size`` is the decoder state's width, ``memory_size`` the encoder outputs';
    ``luong-dot`` needs them equal. ``bahdanau`` scores through a hidden layer of
    ``query_size`` units.
    """

    def __init__(self, kind: str, query_size: int, memory_size: int) -> None:
        super().__init__()
        if kind not in ATTENTION_TYPES or kind == "none":
            raise ValueError(f"unknown attention {kind!r}; choose one of bahdanau, luong-dot, luong-general")
        if kind == "luong-dot" and query_size != memory_size:
            raise ValueError(
                f"luong-dot attention needs query_size == memory_size, got {query_size}, {memory_size}"
            )
        self.kind = kind
        if kind == "bahdanau":
            self.key_projection = nn.Linear(memory_size, query_size, bias=False)  # W_k
            self.query_projection = nn.Linear(query_size, query_size)  # W_q (and the bias)
            self.energy = nn.Linear(query_size, 1, bias=False)  # v
        elif kind == "luong-general":
            self.key_projection = nn.Linear(memory_size, query_size, bias=False)  # W

    def keys(self, memory: Tensor) -> Tensor:
        """The per-sentence part of the scores: ``memory: (B, S, M) -> (B, S, K)``."""
        if self.kind == "luong-dot":
            return memory
        return self.key_projection(memory)

    def forward(self, query: Tensor, keys: Tensor, memory: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """``query: (B, Q)``, ``keys: (B, S, K)`` from :meth:`keys`, ``memory: (B, S, M)``,
        ``mask: (B, S)`` True at real positions (at least one per row).

        Returns ``context: (B, M)`` and ``weights: (B, S)`` (rows sum to 1, 0 at padding).
        """
        if self.kind == "bahdanau":
            projected = linear(query, self.query_projection.weight, self.query_projection.bias)  # W_q s + b
            scores = self._additive_scores(projected, keys, mask)  # (B, S)
        else:
            scores = torch.bmm(keys, query[:, :, None]).squeeze(2)  # (B, S)
        weights = scores.masked_fill(~mask, float("-inf")).softmax(dim=1)  # (B, S)
        context = torch.bmm(weights[:, None, :], memory).squeeze(1)  # (B, M)
        return context, weights

    def _additive_scores(self, projected: Tensor, keys: Tensor, mask: Tensor) -> Tensor:
        """``vᵀ tanh(W_q s + W_k a)``: ``projected: (B, Q)`` = ``W_q s + b``, ``keys: (B, S, Q)``
        -> ``(B, S)``, -inf wherever a block of rows is all padding."""
        if torch.is_grad_enabled() or keys.device.type != "cpu":
            return self.energy(torch.tanh(keys + projected[:, None, :])).squeeze(2)
        # Searching on a CPU, this (B, S, Q) tanh is the largest tensor of a decoder step
        # (beams × sentences × source positions × units; 14 MB at 320 rows, 43 positions,
        # 256 units): computed whole, it goes through memory twice and pads every row to the
        # batch's longest source. In blocks of rows it stays in cache, and each block stops
        # at its own longest source (search batches sort sentences by length, so that is
        # close to each row's). The results are the same: padding is masked out below.
        batch, positions = mask.shape
        rows = max(1, _BLOCK_ELEMENTS // (positions * keys.size(2)))
        ends = mask.sum(dim=1).tolist()  # each row's real positions
        scores = keys.new_full((batch, positions), float("-inf"))
        for first in range(0, batch, rows):
            block = slice(first, first + rows)
            end = max(ends[block])
            hidden = torch.add(keys[block, :end], projected[block, None, :]).tanh_()
            scores[block, :end] = self.energy(hidden).squeeze(2)
        return scores


_BLOCK_ELEMENTS = 1 << 18
"""Elements of one block of the additive attention's tanh in search (1 MiB of float32)."""
