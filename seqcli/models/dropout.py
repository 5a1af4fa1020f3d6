"""Locked (variational) dropout: one mask per sequence, shared by all its time steps.

Ordinary dropout draws fresh units to drop at every time step. Gal & Ghahramani (2016)
showed that a recurrent network is better regularised when each sequence drops the *same*
units at every step ("variational" dropout; "locked" in Merity et al. 2018), and Reimers
& Gurevych (2017) measured it ahead of ordinary dropout for BiLSTM taggers (NER, POS,
chunking). With keep probability ``q = 1 - p`` and a mask ``m ~ Bernoulli(q)`` of shape
``(B, 1, D)``, training computes ``x * m / q`` (the expectation stays ``x``); evaluation
returns ``x`` unchanged, as :class:`torch.nn.Dropout` does.

>>> import torch
>>> drop = LockedDropout(0.5).train()
>>> out = drop(torch.ones(2, 6, 4))
>>> bool((out == out[:, :1]).all())  # every step of a sequence has the same mask
True
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["LockedDropout"]


class LockedDropout(nn.Module):
    """Dropout of ``(B, T, D)`` inputs with one ``(B, 1, D)`` mask per sequence."""

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {p}")
        self.p = p

    def forward(self, inputs: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return inputs
        keep = 1.0 - self.p
        mask = inputs.new_empty(inputs.size(0), 1, inputs.size(2)).bernoulli_(keep)
        return inputs * mask / keep

    def extra_repr(self) -> str:
        return f"p={self.p}"
