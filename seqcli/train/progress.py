"""Training progress on standard error: a rich bar on a terminal, plain lines elsewhere.

With stderr redirected (``2> train.log``, CI, nohup, torchrun) a bar would show nothing until
the end, so progress is written as one plain line every ``plain_every`` seconds instead. It
is silent with --quiet and off rank 0.
"""

from __future__ import annotations

import os
import time

import torch
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from torch import Tensor

__all__ = ["PLAIN_EVERY", "Throughput", "TrainingProgress"]

PLAIN_EVERY = 30.0  # seconds between plain progress lines; $SEQCLI_PROGRESS_SECONDS overrides


def _plain_every() -> float:
    """Seconds between plain progress lines: ``$SEQCLI_PROGRESS_SECONDS``, else 30."""
    try:
        return max(0.0, float(os.environ.get("SEQCLI_PROGRESS_SECONDS", PLAIN_EVERY)))
    except ValueError:
        return PLAIN_EVERY


class TrainingProgress:
    """A bar over steps with loss, task figures (e.g. perplexity), throughput and ETA."""

    def __init__(
        self,
        total_steps: int | None,
        unit: str,
        enabled: bool = True,
        *,
        console: Console | None = None,
        plain_every: float | None = None,
    ) -> None:
        self.console = console or Console(stderr=True, quiet=not enabled, highlight=False)
        self.unit, self.total = unit, total_steps
        self.plain = enabled and not self.console.is_terminal
        self._plain_every = _plain_every() if plain_every is None else plain_every
        self._last_plain = time.monotonic()
        self._progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[figures]}"),
            TimeElapsedColumn(),
            TextColumn("ETA {task.fields[eta]}"),
            console=self.console,
            transient=False,
            disable=not enabled or self.plain,
        )
        self._task = self._progress.add_task("train", total=total_steps, epoch=1, figures="", eta="-:--:--")

    def __enter__(self) -> TrainingProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(
        self, *, step: int, epoch: int, figures: dict[str, float], rate: float, remaining: float
    ) -> None:
        """``remaining``: seconds left, by steps or by --max-time, whichever ends first."""
        text = "  ".join(f"{name} {value:.4g}" for name, value in figures.items())
        text += f"  {rate:,.0f} {self.unit}/s"
        eta = _clock(remaining)
        self._progress.update(self._task, completed=step, epoch=epoch + 1, figures=text, eta=eta)
        now = time.monotonic()
        if self.plain and now - self._last_plain >= self._plain_every:
            self._last_plain = now
            total = f"/{self.total}" if self.total else ""
            self.log(f"step {step}{total} (epoch {epoch + 1}): train {text}  ETA {eta}")

    def log(self, message: str) -> None:
        self.console.print(message, highlight=False, markup=False, soft_wrap=True)


def _clock(seconds: float) -> str:
    """
    >>> _clock(3725.2), _clock(float("inf"))
    ('1:02:05', '-:--:--')
    """
    if seconds == float("inf"):
        return "-:--:--"
    whole = max(0, round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class Throughput:
    """Items per second and mean training loss since the last report, summed on the device
    so logging costs no host sync until the report itself."""

    def __init__(self, device: torch.device) -> None:
        self._device = device
        self._since, self._items, self._steps = time.monotonic(), 0.0, 0
        self._loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        self._count = torch.zeros((), dtype=torch.float64, device=device)

    def add(self, loss_sum: Tensor, count: Tensor, global_count: float) -> None:
        self._loss_sum += loss_sum.double()
        self._count += count
        self._items += global_count
        self._steps += 1

    def take(self) -> tuple[float, float | None, float]:
        """Items per second, mean loss per item and steps per second since the last call."""
        seconds = max(time.monotonic() - self._since, 1e-9)
        loss = (self._loss_sum / self._count).item() if self._steps else None
        result = (self._items / seconds, loss, self._steps / seconds)
        self.__init__(self._device)
        return result
