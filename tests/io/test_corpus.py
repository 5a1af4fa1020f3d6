"""Streaming readers: line numbers in errors, BOM, CRLF, chunk boundaries, long lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqcli.data.corpus import iter_lines, iter_text_chunks
from seqcli.errors import SeqcliError


def test_invalid_utf8_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_bytes(b"ok\n" * 1842 + b"caf\xe9 au lait\n")
    with pytest.raises(SeqcliError, match=r"c\.txt:1843: not valid UTF-8 \(byte 0xe9 at column 4\)"):
        list(iter_lines(path))


def test_line_numbers_survive_chunk_boundaries(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_bytes(b"abcdefghij\n" * 100 + b"\xff\n")
    with pytest.raises(SeqcliError, match=r":101: "):
        list(iter_text_chunks(path, chunk_bytes=64))


def test_replace_and_ignore_carry_on(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_bytes(b"a\xffb\n")
    assert list(iter_lines(path, encoding_errors="replace")) == ["a\ufffdb"]
    assert list(iter_lines(path, encoding_errors="ignore")) == ["ab"]


def test_bom_dropped_and_crlf_normalised(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_bytes(b"\xef\xbb\xbfone\r\ntwo\r\nthree")
    assert list(iter_lines(path)) == ["one", "two", "three"]


def test_chunks_reassemble_to_the_text(tmp_path: Path) -> None:
    text = "".join(f"line {i} é ✓ 𝄞\n" for i in range(500)) + "x" * 300
    path = tmp_path / "c.txt"
    path.write_text(text, encoding="utf-8")
    chunks = list(iter_text_chunks(path, chunk_bytes=50))
    assert "".join(chunks) == text
    assert all(chunk.endswith("\n") for chunk in chunks if not chunk.startswith("x"))


def test_a_line_longer_than_a_chunk_is_split_at_a_character_boundary(tmp_path: Path) -> None:
    text = "é" * 1000 + "\nend\n"
    path = tmp_path / "c.txt"
    path.write_text(text, encoding="utf-8")
    assert "".join(iter_text_chunks(path, chunk_bytes=33)) == text
    assert list(iter_lines(path)) == ["é" * 1000, "end"]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SeqcliError, match="no such file"):
        list(iter_lines(tmp_path / "missing.txt"))
    with pytest.raises(SeqcliError, match="is a directory"):
        list(iter_lines(tmp_path))
