"""Streaming text readers with errors that name file and line.

Corpora can be larger than memory, so nothing here reads a whole file: text arrives in
chunks of about ``chunk_bytes`` that end on a line boundary (a line longer than a chunk is
split at a character boundary). Bytes that are not UTF-8 stop the read with
``corpus.txt:1843: not valid UTF-8 …`` unless ``encoding_errors`` is ``replace`` or
``ignore``. A UTF-8 byte-order mark at the start is dropped; CRLF line ends become LF.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from seqcli.errors import SeqcliError

__all__ = [
    "ENCODING_ERRORS",
    "STDIN",
    "check_readable",
    "input_size",
    "iter_lines",
    "iter_text_chunks",
    "spool_stdin",
]

ENCODING_ERRORS = ("strict", "replace", "ignore")
STDIN = Path("-")
# 4 MB: large enough for vectorised encoding, small enough that the per-chunk temporaries
# (a UTF-32 copy, int64 ids) stay far below the memory of the model itself.
CHUNK_BYTES = 1 << 22
# A line longer than this is refused by iter_lines rather than held in memory whole.
MAX_LINE_BYTES = 1 << 28
_BOM = b"\xef\xbb\xbf"


def check_readable(path: Path) -> None:
    """Raise SeqcliError unless ``path`` is ``-`` or an existing regular, readable file."""
    if path == STDIN:
        return
    if not path.exists():
        raise SeqcliError(f"{path}: no such file")
    if path.is_dir():
        raise SeqcliError(f"{path}: is a directory, expected a text file")
    try:
        with open(path, "rb"):
            pass
    except OSError as err:
        raise SeqcliError(f"{path}: cannot read ({err.strerror})") from err


def input_size(path: Path) -> int | None:
    """Size in bytes, or None for standard input (for progress bars)."""
    return None if path == STDIN else path.stat().st_size


@contextmanager
def _open_binary(path: Path) -> Iterator[BinaryIO]:
    check_readable(path)
    if path == STDIN:
        yield sys.stdin.buffer
    else:
        with open(path, "rb") as handle:
            yield handle


def _split_at_char_boundary(data: bytes) -> int:
    """Index at which to cut ``data`` without splitting a UTF-8 sequence."""
    cut = len(data)
    # Continuation bytes look like 0b10xxxxxx; a sequence is at most 4 bytes long.
    while cut > max(0, len(data) - 4) and (data[cut - 1] & 0xC0) == 0x80:
        cut -= 1
    if cut > 0 and data[cut - 1] >= 0xC0:
        cut -= 1
    return cut if cut > 0 else len(data)


def _raw_chunks(handle: BinaryIO, chunk_bytes: int) -> Iterator[bytes]:
    """Chunks that end after a newline, or at a character boundary for over-long lines."""
    pending = b""
    while True:
        data = pending + handle.read(chunk_bytes)
        if not data:
            return
        end = data.rfind(b"\n") + 1
        if end == 0:
            extra = handle.readline(chunk_bytes)
            data += extra
            end = len(data) if data.endswith(b"\n") or not extra else _split_at_char_boundary(data)
        pending = data[end:]
        yield data[:end]


def _decode(chunk: bytes, path: Path, first_line: int, errors: str) -> str:
    try:
        return chunk.decode("utf-8", errors=errors)
    except UnicodeDecodeError as err:
        line = first_line + chunk.count(b"\n", 0, err.start)
        column = err.start - (chunk.rfind(b"\n", 0, err.start) + 1) + 1
        raise SeqcliError(
            f"{path}:{line}: not valid UTF-8 (byte 0x{chunk[err.start]:02x} at column {column});"
            " fix the file or pass --encoding-errors replace"
        ) from None


def iter_text_chunks(
    path: Path, *, encoding_errors: str = "strict", chunk_bytes: int = CHUNK_BYTES
) -> Iterator[str]:
    """Decoded text of ``path`` (or ``-`` for stdin) in chunks that end on line boundaries."""
    if encoding_errors not in ENCODING_ERRORS:
        raise SeqcliError(f"--encoding-errors must be one of {', '.join(ENCODING_ERRORS)}")
    with _open_binary(path) as handle:
        line = 1
        for index, chunk in enumerate(_raw_chunks(handle, chunk_bytes)):
            if index == 0 and chunk.startswith(_BOM):
                chunk = chunk[len(_BOM) :]
            text = _decode(chunk, path, line, encoding_errors)
            line += chunk.count(b"\n")
            yield text.replace("\r\n", "\n") if "\r" in text else text


def iter_lines(path: Path, *, encoding_errors: str = "strict") -> Iterator[str]:
    """The lines of ``path`` without their line ends (a final line without one included)."""
    partial = ""
    for chunk in iter_text_chunks(path, encoding_errors=encoding_errors):
        lines = (partial + chunk).split("\n")
        partial = lines.pop()
        if len(partial) > MAX_LINE_BYTES:
            raise SeqcliError(f"{path}: a line is longer than {MAX_LINE_BYTES} characters")
        yield from lines
    if partial:
        yield partial


def spool_stdin(directory: Path | None) -> Path:
    """Copy standard input once into ``directory`` (a temporary one if None) and return the
    file: a corpus read from a pipe is needed twice, to train the tokenizer and to encode."""
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="seqcli-stdin-"))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".stdin-", suffix=".tmp", delete=False) as out:
            for block in iter(lambda: sys.stdin.buffer.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
        target = directory / f"stdin-{digest.hexdigest()[:16]}.txt"
        Path(out.name).replace(target)
    except OSError as err:
        raise SeqcliError(f"{directory}: cannot spool standard input there ({err.strerror or err})") from None
    return target
