"""The one error type for user mistakes.

Anything the user can fix — a missing file, bad bytes, an option out of range, a checkpoint
of the wrong kind — raises :class:`SeqcliError` with a message that says what and where.
The CLI prints that message on one line and exits with status 2; a traceback appears only
with ``--debug``.
"""

from __future__ import annotations

__all__ = ["SeqcliError"]


class SeqcliError(Exception):
    """A mistake in the user's input or options: reported as one line, exit status 2."""
