"""Writing results to stdout and summaries to stderr, the same way in every command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from seqcli.errors import SeqcliError

__all__ = ["check_format", "emit", "stderr_console", "training_summary"]


def emit(line: str) -> None:
    """One record on standard output (results only; everything else goes to stderr)."""
    sys.stdout.write(line + "\n")


def stderr_console(quiet: bool = False) -> Console:
    return Console(stderr=True, quiet=quiet, highlight=False)


def check_format(name: str, allowed: tuple[str, ...]) -> None:
    if name not in allowed:
        raise SeqcliError(f"--format must be one of {', '.join(allowed)}, got {name!r}")


def training_summary(result: Any, run_dir: Path, *, quiet: bool) -> None:
    best = f"; best validation loss {result.best_loss:.4f}" if result.best_loss is not None else ""
    stderr_console(quiet).print(
        f"[bold green]done[/] ({result.stop_reason}) after {result.steps} steps "
        f"in {result.elapsed:.0f} s{best}; "
        f"checkpoint in {run_dir}"
    )
