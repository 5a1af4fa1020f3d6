"""word2vec text and binary files: written byte for byte as word2vec.c, read back exactly."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from seqcli.data.vectors import WordVectors, read_word2vec, write_word2vec
from seqcli.errors import SeqcliError

VECTORS = WordVectors(["the", "café", "x"], np.array([[0.5, -1.25], [2.0, 0.0], [1e-3, 3.5]], np.float32))


def test_binary_file_follows_the_format_definition(tmp_path: Path) -> None:
    path = tmp_path / "v.bin"
    write_word2vec(path, VECTORS, binary=True)
    data = path.read_bytes()
    expected = b"3 2\n"
    for word, row in zip(VECTORS.words, VECTORS.vectors, strict=True):
        expected += word.encode() + b" " + struct.pack("<2f", *row) + b"\n"
    assert data == expected


def test_text_file_follows_the_c_tool(tmp_path: Path) -> None:
    path = tmp_path / "v.txt"
    write_word2vec(path, VECTORS, binary=False)
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[0] == "3 2"
    assert lines[1] == "the 0.500000 -1.250000 "
    assert lines[2] == "café 2.000000 0.000000 "


@pytest.mark.parametrize("binary", [True, False])
def test_round_trip(tmp_path: Path, binary: bool) -> None:
    path = tmp_path / "v"
    write_word2vec(path, VECTORS, binary=binary)
    back = read_word2vec(path)
    assert back.words == VECTORS.words
    assert np.allclose(back.vectors, VECTORS.vectors, atol=1e-6 if not binary else 0)


def test_gensim_variants_are_read(tmp_path: Path) -> None:
    text = tmp_path / "g.txt"
    text.write_text("2 2\na 1.0 2.0\nb 3 4\n")  # no trailing space, integers
    assert read_word2vec(text).vectors.tolist() == [[1, 2], [3, 4]]
    binary = tmp_path / "g.bin"  # gensim writes no newline after a binary vector
    binary.write_bytes(b"2 1\na " + struct.pack("<f", 1.5) + b"b " + struct.pack("<f", -2.0))
    back = read_word2vec(binary)
    assert back.words == ["a", "b"] and back.vectors.ravel().tolist() == [1.5, -2.0]


def test_gensim_loads_our_files(tmp_path: Path) -> None:
    gensim = pytest.importorskip("gensim.models")
    for binary in (True, False):
        path = tmp_path / f"v{binary}"
        write_word2vec(path, VECTORS, binary=binary)
        loaded = gensim.KeyedVectors.load_word2vec_format(str(path), binary=binary)
        assert list(loaded.index_to_key) == VECTORS.words
        assert np.allclose(loaded.vectors, VECTORS.vectors, atol=1e-6)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello world\n", r":1: expected the word2vec header 'COUNT DIM'"),
        (b"2 3\na 1 2 3\nb 1 2\n", r":3: expected a word and 3 values"),
        (b"3 2\na 1 2\nb 1 2\n", r"truncated: the header says 3 vectors, the file has 2"),
        (b"1 2\na 1 2\nb 3 4\n", r":3: more vectors than the 1"),
        (b"1 2\na 1 x\n", r":2: not a number: 'x'"),
        (b"2 2\na 1 2\na 3 4\n", r"the word 'a' has two vectors"),
        (b"1 2\n\xff\xfe 1 2\n", r":2: the word is not valid UTF-8"),
        (b"0 5\n", r"nothing to read"),
    ],
)
def test_bad_text_files_name_the_problem(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(SeqcliError, match=message):
        read_word2vec(path)


def test_truncated_binary_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "v.bin"
    write_word2vec(path, VECTORS, binary=True)
    path.write_bytes(path.read_bytes()[:-6])
    with pytest.raises(SeqcliError, match=r"truncated: .* vector 3 \('x'\) has only 0"):
        read_word2vec(path)


def test_binary_file_with_a_wrong_dimension_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "v.bin"
    write_word2vec(path, VECTORS, binary=True)
    path.write_bytes(b"3 3\n" + path.read_bytes()[4:])
    with pytest.raises(SeqcliError, match=r"truncated|not valid UTF-8|more data|two vectors"):
        read_word2vec(path)


def test_non_utf8_binary_word_can_be_replaced(tmp_path: Path) -> None:
    path = tmp_path / "v.bin"
    path.write_bytes(b"1 1\n\xff " + struct.pack("<f", 1.0) + b"\n")
    with pytest.raises(SeqcliError, match="vector 1: the word is not valid UTF-8"):
        read_word2vec(path)
    assert read_word2vec(path, encoding_errors="replace").words == ["\ufffd"]


def test_missing_file_and_directory_are_clear(tmp_path: Path) -> None:
    with pytest.raises(SeqcliError, match="no such file"):
        read_word2vec(tmp_path / "nope")
    with pytest.raises(SeqcliError, match="is a directory"):
        read_word2vec(tmp_path)
