"""Writing results to stdout and summaries to stderr, the same way in every command."""

from __future__ import annotations

import os
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
    """One unwrapped line on stderr, from rank 0 alone under torchrun (RANK set by torchrun)."""
    if quiet or os.environ.get("RANK", "0") != "0":
        return
    best = (
        f"; best validation {result.metric} {result.best_score:.4f}" if result.best_score is not None else ""
    )
    sys.stderr.write(
        f"done ({result.stop_reason}) after {result.steps} steps in {result.elapsed:.0f} s{best}; "
        f"checkpoint in {run_dir}\n"
    )
