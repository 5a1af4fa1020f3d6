"""An exponential moving average of the weights, validated and saved in their place.

With ``--ema DECAY`` the Trainer keeps, beside the weights the optimiser moves, their
average ``θ̄ ← d·θ̄ + (1 − d)·θ`` after every step (Polyak & Juditsky 1992, in the moving
form of TensorFlow's ``ExponentialMovingAverage``). The average sits in the flat middle of
the region the last few hundred noisy steps wandered through, and usually scores a little
better than the last point of the walk; validation, model selection and the saved weights
all use it, while training itself goes on from the raw weights.

The decay ramps up as ``d_n = min(DECAY, (1 + n) / (10 + n))`` after n updates, so the
average follows the weights closely at first instead of remembering the random
initialisation for ``1 / (1 − DECAY)`` steps.

Written here rather than with ``torch.optim.swa_utils.AveragedModel``: that class keeps its
update count on the model's device (reading it for the ramp would stop a CUDA step to sync)
and, told to average buffers, would interpolate boolean ones such as the CRF's mask.
Buffers are copied from the model instead.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

__all__ = ["WeightAverage"]


class WeightAverage:
    """The moving average of ``model``'s parameters, as a model of its own (``module``).

    >>> model = nn.Linear(1, 1, bias=False)
    >>> _ = nn.init.constant_(model.weight, 1.0)
    >>> average = WeightAverage(model, decay=0.5)
    >>> _ = nn.init.constant_(model.weight, 3.0)
    >>> average.update(model)  # n=1: d = min(0.5, 2/11), so 1 + (3 - 1)·9/11
    >>> round(average.module.weight.item(), 4)
    2.6364
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0 < decay < 1:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.module = copy.deepcopy(model).eval()
        self.module.requires_grad_(False)

    def rate(self) -> float:
        """The weight of the new parameters in the next update, ``1 − d_n``."""
        n = self.updates + 1
        return 1.0 - min(self.decay, (1 + n) / (10 + n))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Fold ``model``'s current parameters into the average (after an optimiser step)."""
        averaged = [p for p in self.module.parameters() if p.is_floating_point()]
        current = [p.detach() for p in model.parameters() if p.is_floating_point()]
        torch._foreach_lerp_(averaged, current, self.rate())
        for mine, theirs in zip(self.module.buffers(), model.buffers(), strict=True):
            mine.copy_(theirs)
        self.updates += 1

    def state_dict(self) -> dict[str, Any]:
        return {"module": self.module.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])
