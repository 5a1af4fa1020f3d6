"""Training settings shared by every task: the ``training`` section of config.json."""

from __future__ import annotations

from dataclasses import dataclass

from seqcli.errors import SeqcliError

__all__ = ["OPTIMIZERS", "TrainConfig"]

OPTIMIZERS = ("sgd", "adam", "adamw")


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
    schedule: str = "constant"
    lr_decay: float = 0.25
    decay_start: int = 4
    warmup_steps: int = 0
    clip: float | None = None
    clip_value: float | None = None
    eval_every: int | None = None  # steps; None evaluates at the end of every epoch
    patience: int | None = None
    max_bad_steps: int = 10
    log_every: int = 20
    seed: int = 0
    amp: bool = False

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise SeqcliError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}")
        for name in ("epochs", "max_steps", "eval_every", "max_bad_steps", "log_every"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise SeqcliError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
        if self.lr <= 0:
            raise SeqcliError(f"--lr must be positive, got {self.lr}")
