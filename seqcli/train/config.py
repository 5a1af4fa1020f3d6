"""Training settings shared by every task: the ``training`` section of config.json.

Every range is checked here, when the settings are built, so a bad option fails before a
run directory is touched; messages name the option as it is typed on the command line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from seqcli.errors import SeqcliError
from seqcli.train.schedule import SCHEDULES

__all__ = ["OPTIMIZERS", "RESUMABLE", "TrainConfig"]

OPTIMIZERS = ("sgd", "adam", "adamw")
# Settings a resumed run may change; every other one must match the saved run.
RESUMABLE = (
    "epochs",
    "max_steps",
    "max_time",
    "eval_every",
    "patience",
    "max_bad_steps",
    "log_every",
    "save_every",
    "save_every_steps",
    "amp",
    "compile",
)
DEFAULT_SAVE_EVERY = 300.0  # seconds: a crash loses at most five minutes of training


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (serialised into config.json under "training")."""

    epochs: int = 10
    max_steps: int | None = None
    max_time: float | None = None  # seconds
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)  # Adam's moment decays (adam, adamw)
    schedule: str = "constant"
    lr_decay: float = 0.25
    decay_start: int = 4
    warmup_steps: int = 0
    clip: float | None = None
    clip_value: float | None = None
    ema: float | None = None  # decay of the moving average of the weights (see averaging.py)
    eval_every: int | None = None  # steps; None evaluates at the end of every epoch
    patience: int | None = None
    max_bad_steps: int = 10
    log_every: int = 20
    save_every: float | None = DEFAULT_SAVE_EVERY  # seconds between saves of the resumable state
    save_every_steps: int | None = None
    seed: int = 0
    amp: bool = False
    compile: bool = False

    def __post_init__(self) -> None:
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("schedule", self.schedule, SCHEDULES)
        for name in ("epochs", "max_steps", "eval_every", "max_bad_steps", "log_every", "save_every_steps"):
            _at_least(name, getattr(self, name), 1)
        for name in ("patience", "warmup_steps", "decay_start"):
            _at_least(name, getattr(self, name), 0)
        for name in ("lr", "clip", "clip_value", "max_time", "save_every"):
            _positive(name, getattr(self, name))
        for name in ("weight_decay", "momentum"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise SeqcliError(f"{_option(name)} must be a finite number >= 0, got {value}")
        object.__setattr__(self, "betas", tuple(self.betas))  # config.json stores a list
        if len(self.betas) != 2 or not all(0 <= beta < 1 for beta in self.betas):
            raise SeqcliError(f"--betas takes two numbers in [0, 1), e.g. 0.9 0.999, got {self.betas}")
        if self.ema is not None and not (0 < self.ema < 1):
            raise SeqcliError(f"--ema must be in (0, 1), e.g. 0.999, got {self.ema}")
        if not (0 < self.lr_decay <= 1):
            raise SeqcliError(f"--lr-decay must be in (0, 1], got {self.lr_decay}")


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise SeqcliError(f"{_option(name)} must be one of {', '.join(allowed)}, got {value!r}")


def _at_least(name: str, value: int | None, minimum: int) -> None:
    if value is not None and value < minimum:
        raise SeqcliError(f"{_option(name)} must be at least {minimum}, got {value}")


def _positive(name: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise SeqcliError(f"{_option(name)} must be a finite number > 0, got {value}")
