"""CoNLL column files (CoNLL-2000 chunking, CoNLL-2002/2003 named entities), streamed.

One token per line, columns separated by spaces or tabs, the token in column 0 and a tag in
another column (the last by default); a blank line ends a sentence. ``-DOCSTART-`` lines
mark document boundaries in CoNLL-2002/2003: they are skipped and end a sentence.

    Sao NC B-LOC
    Paulo VMI I-LOC
    ( Fpa O

Every token line of a file has the same number of columns; a ragged line is an error, not a
quiet shift of the tag column. Errors name file and line: ``esp.testa:12: expected at least
3 columns, found 2``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from seqcli.data.corpus import iter_lines
from seqcli.errors import SeqcliError

__all__ = ["DOCSTART", "TaggedSentence", "read_conll"]

DOCSTART = "-DOCSTART-"
# Spaces and tabs only: a no-break space inside a token ("100 000") is part of the token.
_COLUMN_SEPARATOR = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class TaggedSentence:
    """A sentence's tokens and their tags (same length); ``line`` is where it starts."""

    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    line: int


def _columns_needed(column: int) -> int:
    """How many columns a line needs for ``column`` to be a tag column, not the token."""
    if column == 0:
        raise SeqcliError("--column 0 is the token column; pick a tag column (1, 2, … or -1 for the last)")
    return column + 1 if column > 0 else 1 - column


def read_conll(path: Path, *, column: int = -1, encoding_errors: str = "strict") -> Iterator[TaggedSentence]:
    """Sentences of a CoNLL file, with the tags of ``column`` (negative counts from the end)."""
    needed = _columns_needed(column)
    return _sentences(path, column, needed, encoding_errors)


def _sentences(path: Path, column: int, needed: int, encoding_errors: str) -> Iterator[TaggedSentence]:
    tokens: list[str] = []
    tags: list[str] = []
    first_line = 0
    width: tuple[int, int] | None = None  # (columns, line) of the file's first token line
    for lineno, line in enumerate(iter_lines(path, encoding_errors=encoding_errors), start=1):
        stripped = line.strip()
        fields = _COLUMN_SEPARATOR.split(stripped) if stripped else []
        if not fields or fields[0] == DOCSTART:
            if tokens:
                yield TaggedSentence(tuple(tokens), tuple(tags), first_line)
                tokens, tags = [], []
            continue
        if len(fields) < needed:
            raise SeqcliError(f"{path}:{lineno}: expected at least {needed} columns, found {len(fields)}")
        width = width or (len(fields), lineno)
        if len(fields) != width[0]:
            raise SeqcliError(
                f"{path}:{lineno}: {len(fields)} columns, but line {width[1]} has {width[0]} (ragged rows)"
            )
        if not tokens:
            first_line = lineno
        tokens.append(fields[0])
        tags.append(fields[column])
    if tokens:
        yield TaggedSentence(tuple(tokens), tuple(tags), first_line)
