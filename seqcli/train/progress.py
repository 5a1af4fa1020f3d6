"""The training progress bar: rich, on standard error, silent with --quiet or off rank 0."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

__all__ = ["TrainingProgress"]


class TrainingProgress:
    """A bar over steps with loss, task figures (e.g. perplexity), throughput and ETA."""

    def __init__(self, total_steps: int | None, unit: str, enabled: bool = True) -> None:
        self.console = Console(stderr=True, quiet=not enabled)
        self.unit = unit
        self._progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[figures]}"),
            TimeElapsedColumn(),
            TextColumn("ETA {task.fields[eta]}"),
            console=self.console,
            transient=False,
            disable=not enabled,
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

    def log(self, message: str) -> None:
        self.console.print(message, highlight=False)


def _clock(seconds: float) -> str:
    """
    >>> _clock(3725.2), _clock(float("inf"))
    ('1:02:05', '-:--:--')
    """
    if seconds == float("inf"):
        return "-:--:--"
    whole = max(0, round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
