"""Labelled text for classification: tab-separated ``label<TAB>text`` lines, streamed.

Other layouts (GLUE's ``sentence<TAB>label`` with a header) are read by naming the columns.
Blank lines are skipped; surrounding whitespace is dropped from label and text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from seqcli.data.corpus import iter_lines
from seqcli.errors import SeqcliError

__all__ = ["LabelledText", "read_labelled"]


@dataclass(frozen=True)
class LabelledText:
    """One example: its label, its text, and the line it came from."""

    label: str
    text: str
    line: int


def _check_columns(label_column: int, text_column: int) -> None:
    if label_column < 0 or text_column < 0:
        raise SeqcliError("--label-column and --text-column count from 0 and cannot be negative")
    if label_column == text_column:
        raise SeqcliError(f"--label-column and --text-column are both {label_column}; they must differ")


def read_labelled(
    path: Path,
    *,
    label_column: int = 0,
    text_column: int = 1,
    header: bool = False,
    encoding_errors: str = "strict",
) -> Iterator[LabelledText]:
    """Examples of a TSV file; with ``header`` the file's first line is skipped."""
    _check_columns(label_column, text_column)
    return _examples(path, label_column, text_column, header, encoding_errors)


def _example(line: str, label_column: int, text_column: int, path: Path, lineno: int) -> LabelledText:
    where = f"{path}:{lineno}"
    fields = line.split("\t")
    needed = max(label_column, text_column) + 1
    if len(fields) < needed:
        raise SeqcliError(f"{where}: expected at least {needed} tab-separated columns, found {len(fields)}")
    label, text = fields[label_column].strip(), fields[text_column].strip()
    if not label:
        raise SeqcliError(f"{where}: empty label (column {label_column})")
    if not text:
        raise SeqcliError(f"{where}: empty text (column {text_column})")
    return LabelledText(label, text, lineno)


def _examples(
    path: Path, label_column: int, text_column: int, header: bool, encoding_errors: str
) -> Iterator[LabelledText]:
    for lineno, line in enumerate(iter_lines(path, encoding_errors=encoding_errors), start=1):
        if (header and lineno == 1) or not line.strip():
            continue
        yield _example(line, label_column, text_column, path, lineno)
