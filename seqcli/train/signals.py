"""Graceful interruption: the first SIGINT/SIGTERM asks training to stop after the current
step (so the resumable state can be written); a second one exits at once.

Exiting at once is safe because every checkpoint file is replaced atomically: the files on
disk are always a complete earlier generation.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType

__all__ = ["StopRequest", "exit_status"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_status(signum: int) -> int:
    """The shell convention: 128 + signal number (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + signum


class StopRequest:
    """Context manager that records the first stop signal instead of dying on it."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for signum in _SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            sys.stderr.write("\nsecond interrupt: exiting now\n")
            os._exit(exit_status(signum))
        self.signum = signum
        sys.stderr.write("\nstopping after this step (interrupt again to exit at once)\n")
