"""Viterbi decoding: the best tag path of a linear chain, batched over padded sentences.

A path ``y<1..T>`` scores ``start[y<1>] + Σ_t emissions[t, y<t>] + Σ_t transitions[y<t-1>,
y<t>] + end[y<T>]``. Dynamic programming keeps, for each tag j at step t, the best score of
any path ending in j, ``δ<t>(j) = max_i (δ<t-1>(i) + transitions[i, j]) + emissions[t, j]``,
and the arg-max i as a back-pointer; the best path is read back from the best final tag.
Cost ``O(T K²)`` instead of the ``K^T`` paths (Viterbi 1967; Rabiner 1989, eq. 30-35).

Forbidden steps are scores of about ``-1e4`` in ``transitions``/``start``/``end`` (see
:mod:`seqcli.models.crf`): they are never on the best path while an allowed one exists.

>>> emissions = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]])
>>> paths, scores = viterbi(emissions, torch.zeros(2, 2), torch.zeros(2), torch.zeros(2),
...                         torch.tensor([2]))
>>> paths.tolist(), scores.tolist()
([[0, 1, 0]], [2.0])
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["viterbi"]


def viterbi(
    emissions: Tensor, transitions: Tensor, start: Tensor, end: Tensor, lengths: Tensor
) -> tuple[Tensor, Tensor]:
    """Best path per sentence.

    ``emissions: (B, T, K)`` scores of each tag at each step; ``transitions: (K, K)`` score
    of tag j right after tag i at ``[i, j]``; ``start, end: (K,)``; ``lengths: (B,)`` real
    lengths (>= 1) of right-padded sentences.
    Returns ``paths: (B, T)`` long, 0 past each length, and ``scores: (B,)`` of those paths.
    """
    emissions = emissions.float()
    batch, steps, num_tags = emissions.shape
    lengths = lengths.to(emissions.device)
    score = start.float() + emissions[:, 0]  # δ<1>: (B, K)
    # At padded steps the back-pointer is the identity, so the read-back carries the last
    # real tag through the padding unchanged.
    identity = torch.arange(num_tags, device=emissions.device).expand(batch, num_tags)
    pointers = []
    for t in range(1, steps):
        candidates = score[:, :, None] + transitions.float()  # (B, K_prev, K)
        best, argbest = candidates.max(dim=1)  # (B, K)
        valid = (t < lengths)[:, None]  # (B, 1)
        score = torch.where(valid, best + emissions[:, t], score)
        pointers.append(torch.where(valid, argbest, identity))
    score = score + end.float()
    scores, tag = score.max(dim=1)  # (B,)
    path = [tag]
    for pointer in reversed(pointers):
        tag = pointer.gather(1, tag[:, None]).squeeze(1)
        path.append(tag)
    path.reverse()
    paths = torch.stack(path, dim=1)  # (B, T)
    padded = torch.arange(steps, device=emissions.device)[None, :] >= lengths[:, None]
    return paths.masked_fill(padded, 0), scores
