"""Parallel text for translation, streamed: two aligned files or one two-column TSV.

Two files hold one sentence per line, line n of the source translated by line n of the
target (Multi30k's ``train.de``/``train.en``); one TSV holds ``source<TAB>target`` (the
Tatoeba/Anki exports). Surrounding whitespace is dropped; a pair that is blank on both
sides is skipped. A pair blank on one side only is an error: it usually means the files
have slipped out of step, and trained on it a model would learn to translate into nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

from seqcli.data.corpus import STDIN, iter_lines
from seqcli.errors import SeqcliError

__all__ = ["SentencePair", "read_parallel"]

# zip_longest's filler for the file that ended first (no real line is None).
_ENDED = None


@dataclass(frozen=True)
class SentencePair:
    """A source sentence, its translation, and the line they came from."""

    source: str
    target: str
    line: int


def read_parallel(
    source: Path, target: Path | None = None, *, encoding_errors: str = "strict"
) -> Iterator[SentencePair]:
    """Sentence pairs of two aligned files, or of one TSV file when ``target`` is None."""
    if target is None:
        return _tsv_pairs(source, encoding_errors)
    if source == STDIN and target == STDIN:
        raise SeqcliError("only one of the two parallel files can be standard input (-)")
    return _file_pairs(source, target, encoding_errors)


def _pair(source: str, target: str, files: tuple[Path, Path], lineno: int) -> SentencePair | None:
    """The pair, or None if both sides are blank; ``files`` are where each side came from."""
    source, target = source.strip(), target.strip()
    if not source and not target:
        return None
    if not source or not target:
        side = 0 if not source else 1
        raise SeqcliError(
            f"{files[side]}:{lineno}: empty {('source', 'target')[side]} sentence, but its translation is not"
        )
    return SentencePair(source, target, lineno)


def _tsv_pairs(path: Path, encoding_errors: str) -> Iterator[SentencePair]:
    for lineno, line in enumerate(iter_lines(path, encoding_errors=encoding_errors), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise SeqcliError(f"{path}:{lineno}: expected 2 tab-separated columns, found {len(fields)}")
        if pair := _pair(fields[0], fields[1], (path, path), lineno):
            yield pair


def _file_pairs(source: Path, target: Path, encoding_errors: str) -> Iterator[SentencePair]:
    source_lines = iter_lines(source, encoding_errors=encoding_errors)
    target_lines = iter_lines(target, encoding_errors=encoding_errors)
    pairs = zip_longest(source_lines, target_lines, fillvalue=_ENDED)
    for lineno, (source_line, target_line) in enumerate(pairs, start=1):
        if source_line is _ENDED or target_line is _ENDED:
            longer = target_lines if source_line is _ENDED else source_lines
            # Count the rest of the longer file as it streams past, holding none of it.
            rest = sum(1 for _ in longer)
            counts = (lineno - 1, lineno + rest) if source_line is _ENDED else (lineno + rest, lineno - 1)
            raise SeqcliError(
                f"{source} has {counts[0]} lines but {target} has {counts[1]}; parallel files must align"
            )
        if pair := _pair(source_line, target_line, (source, target), lineno):
            yield pair
