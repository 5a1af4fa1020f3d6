"""The training progress bar: rich, on standard error, silent with --quiet or off rank 0."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
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
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
            disable=not enabled,
        )
        self._task = self._progress.add_task("train", total=total_steps, epoch=1, figures="")

    def __enter__(self) -> TrainingProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, *, step: int, epoch: int, figures: dict[str, float], rate: float) -> None:
        text = "  ".join(f"{name} {value:.4g}" for name, value in figures.items())
        text += f"  {rate:,.0f} {self.unit}/s"
        self._progress.update(self._task, completed=step, epoch=epoch + 1, figures=text)

    def log(self, message: str) -> None:
        self.console.print(message, highlight=False)
