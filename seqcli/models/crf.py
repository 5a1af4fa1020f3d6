"""A linear-chain conditional random field over tag sequences (Lafferty et al. 2001).

For emissions ``E: (T, K)`` (one score per step and tag, from the encoder) and learned
transition scores ``A: (K, K)``, ``a_start, a_end: (K,)``, a path ``y`` scores

    s(y) = a_start[y<1>] + Σ_t E[t, y<t>] + Σ_{t>1} A[y<t-1>, y<t>] + a_end[y<T>]

and ``P(y | x) = exp s(y) / Z`` with ``Z = Σ_y' exp s(y')`` over all ``K^T`` paths. The
forward algorithm computes ``log Z`` in ``O(T K²)``:
``α<1> = a_start + E[1]``, ``α<t>(j) = logsumexp_i(α<t-1>(i) + A[i, j]) + E[t, j]``,
``log Z = logsumexp_j(α<T>(j) + a_end[j])``. The loss is ``log Z − s(y_gold)`` per sentence
(Lample et al. 2016, "Neural Architectures for Named Entity Recognition", section 2.2).
It runs in float32 whatever the emissions' dtype: a logsumexp over many steps in float16
loses the small differences the gradient lives on.

Transitions the tag scheme forbids (``I-PER`` after ``O`` in IOB2, ...) are masked to a
score of ``-1e4``: no allowed path ever loses to them, and both the loss and Viterbi
(:func:`seqcli.decode.viterbi.viterbi`) see only well-formed paths. A finite mask keeps
the gradients finite where ``-inf`` would give NaN through an all-forbidden logsumexp.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from seqcli.decode.viterbi import viterbi

__all__ = ["FORBIDDEN", "LinearChainCRF"]

FORBIDDEN = -1e4
"""The score of a forbidden transition: no allowed path's score comes near it."""


class LinearChainCRF(nn.Module):
    """Transition scores and the CRF's loss and decoding over ``num_tags`` tags.

    ``allowed`` is ``(start (K,), transitions (K, K), end (K,))`` booleans as
    :func:`seqcli.data.tagschemes.allowed_transitions` gives them; None allows everything.
    The mask is a non-persistent buffer: it is rebuilt from the tags, never loaded.
    """

    def __init__(
        self,
        num_tags: int,
        allowed: tuple[Sequence[bool], Sequence[Sequence[bool]], Sequence[bool]] | None = None,
    ) -> None:
        super().__init__()
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))
        if allowed is None:
            allowed = ([True] * num_tags, [[True] * num_tags] * num_tags, [True] * num_tags)
        start, follow, end = (torch.tensor(part, dtype=torch.bool) for part in allowed)
        if follow.shape != (num_tags, num_tags) or start.shape != (num_tags,) or end.shape != (num_tags,):
            raise ValueError(f"allowed transitions must be for {num_tags} tags")
        self.register_buffer("allowed_start", start, persistent=False)
        self.register_buffer("allowed", follow, persistent=False)
        self.register_buffer("allowed_end", end, persistent=False)

    def masked_scores(self) -> tuple[Tensor, Tensor, Tensor]:
        """``(transitions (K, K), start (K,), end (K,))`` in float32, forbidden ones at -1e4."""
        return (
            self.transitions.float().masked_fill(~self.allowed, FORBIDDEN),
            self.start.float().masked_fill(~self.allowed_start, FORBIDDEN),
            self.end.float().masked_fill(~self.allowed_end, FORBIDDEN),
        )

    def log_partition(self, emissions: Tensor, lengths: Tensor) -> Tensor:
        """``log Z`` per sentence by the forward algorithm: ``(B, T, K), (B,) -> (B,)``."""
        emissions = emissions.float()
        transitions, start, end = self.masked_scores()
        lengths = lengths.to(emissions.device)
        alpha = start + emissions[:, 0]  # (B, K)
        for t in range(1, emissions.size(1)):
            # (B, K_prev, 1) + (K_prev, K) -> logsumexp over K_prev -> (B, K)
            step = torch.logsumexp(alpha[:, :, None] + transitions, dim=1) + emissions[:, t]
            alpha = torch.where((t < lengths)[:, None], step, alpha)
        return torch.logsumexp(alpha + end, dim=1)

    def path_score(self, emissions: Tensor, tags: Tensor, lengths: Tensor) -> Tensor:
        """``s(y)`` of the paths ``tags: (B, T)`` (anything past a length is ignored) -> ``(B,)``."""
        emissions = emissions.float()
        transitions, start, end = self.masked_scores()
        steps = emissions.size(1)
        lengths = lengths.to(emissions.device)
        mask = torch.arange(steps, device=emissions.device)[None, :] < lengths[:, None]  # (B, T)
        tags = tags.masked_fill(~mask, 0)
        emitted = emissions.gather(2, tags[:, :, None]).squeeze(2)  # (B, T)
        score = start[tags[:, 0]] + (emitted * mask).sum(dim=1)
        moved = transitions[tags[:, :-1], tags[:, 1:]]  # (B, T-1)
        score = score + (moved * mask[:, 1:]).sum(dim=1)
        last = tags.gather(1, (lengths - 1)[:, None]).squeeze(1)
        return score + end[last]

    def neg_log_likelihood(self, emissions: Tensor, tags: Tensor, lengths: Tensor) -> Tensor:
        """``log Z − s(y)`` per sentence (``(B,)``, float32): the CRF's training loss."""
        return self.log_partition(emissions, lengths) - self.path_score(emissions, tags, lengths)

    def decode(self, emissions: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Best paths ``(B, T)`` (0 past each length) and their scores ``(B,)``, by Viterbi."""
        transitions, start, end = self.masked_scores()
        return viterbi(emissions, transitions, start, end, lengths)
