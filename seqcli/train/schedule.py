"""Learning-rate schedules, computed from the training position so resume is exact.

- ``constant``: the base rate throughout.
- ``plateau``: multiply by ``decay`` whenever a validation score fails to improve on the
  best so far (lower or higher, as the task's selection metric says) — the classic Penn
  Treebank recipe (pytorch/examples word_language_model divides by 4, i.e. ``decay=0.25``).
- ``step``: full rate for ``decay_start`` epochs, then multiply by ``decay`` every epoch
  (Zaremba et al. 2014, "Recurrent neural network regularization": 0.5 after epoch 4).
- ``cosine``: cosine decay to zero over the run (Loshchilov & Hutter 2017, without
  restarts). The run's progress is the larger of steps done / step budget and time spent
  / ``--max-time``, so a time-limited run still anneals fully by its deadline.

Every schedule can start with ``warmup_steps`` of linear warm-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["SCHEDULES", "Schedule"]

SCHEDULES = ("constant", "plateau", "step", "cosine")


@dataclass
class Schedule:
    """The learning rate as a function of step, epoch, progress and validation history."""

    name: str
    base_lr: float
    decay: float = 0.25
    decay_start: int = 4
    warmup_steps: int = 0
    plateau_factor: float = 1.0

    def __post_init__(self) -> None:
        if self.name not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.name!r}; choose from {', '.join(SCHEDULES)}")

    def lr(self, *, step: int, epoch: int, progress: float) -> float:
        """Rate for ``step`` (0-based) in ``epoch`` (0-based); ``progress`` in [0, 1]."""
        warmup = min(1.0, (step + 1) / self.warmup_steps) if self.warmup_steps else 1.0
        return self.base_lr * warmup * self._factor(epoch, progress)

    def _factor(self, epoch: int, progress: float) -> float:
        if self.name == "plateau":
            return self.plateau_factor
        if self.name == "step":
            return self.decay ** max(0, epoch - self.decay_start + 1)
        if self.name == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
        return 1.0

    def observe(self, improved: bool) -> None:
        """Record whether a validation improved on the best so far; ``plateau`` decays if not."""
        if not improved and self.name == "plateau":
            self.plateau_factor *= self.decay

    def state_dict(self) -> dict[str, Any]:
        return {"plateau_factor": self.plateau_factor}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.plateau_factor = float(state["plateau_factor"])
