"""The one error type for user mistakes.

Anything the user can fix — a missing file, bad bytes, an option out of range, a checkpoint
of the wrong kind — raises :class:`SeqcliError` with a message that says what and where.
The CLI prints that message on one line and exits with status 2; a traceback appears only
with ``--debug``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["SeqcliError", "TrainingInterrupted"]


class SeqcliError(Exception):
    """A mistake in the user's input or options: reported as one line, exit status 2."""


class TrainingInterrupted(Exception):
    """Training stopped on a signal after saving its state; the CLI exits 128 + signum."""

    def __init__(self, signum: int, run_dir: Path) -> None:
        super().__init__(f"interrupted; state saved in {run_dir}")
        self.signum = signum
        self.run_dir = run_dir
