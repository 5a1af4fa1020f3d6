"""Hostile input for the word-vector readers: word2vec files, analogy and similarity files.

Each parses what it is given or raises one clear SeqcliError (tests/io/hostile.py), for
arbitrary bytes, bytes behind a plausible header, and real-looking files cut at every byte.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqcli.data.vectors import read_word2vec
from seqcli.errors import SeqcliError
from seqcli.metrics.analogy import read_analogies
from seqcli.metrics.similarity import read_word_pairs
from tests.io.hostile import HOSTILE, hostile_bytes

ERRORS = ("strict", "replace")
HEADERS = st.sampled_from([b"", b"2 3\n", b"1 1\n", b"3 2\n", b"99999999 300\n", b"2 0\n", b"-1 2\n"])


@HOSTILE
@given(header=HEADERS, data=hostile_bytes)
def test_word2vec_reader(tmp_path: Path, hostile_outcome, header: bytes, data: bytes) -> None:
    path = tmp_path / "hostile.vec"
    path.write_bytes(header + data)
    for errors in ERRORS:
        hostile_outcome("word2vec", lambda e=errors: read_word2vec(path, encoding_errors=e))


@HOSTILE
@given(data=hostile_bytes)
def test_analogy_reader(tmp_path: Path, hostile_outcome, data: bytes) -> None:
    path = tmp_path / "hostile.txt"
    path.write_bytes(b": section\n" + data)
    for errors in ERRORS:
        hostile_outcome("analogies", lambda e=errors: read_analogies(path, encoding_errors=e))


@HOSTILE
@given(data=hostile_bytes)
def test_similarity_reader(tmp_path: Path, hostile_outcome, data: bytes) -> None:
    path = tmp_path / "hostile.tsv"
    path.write_bytes(data)
    for errors in ERRORS:
        hostile_outcome("similarity", lambda e=errors: read_word_pairs(path, encoding_errors=e))


BINARY = b"2 2\n" + b"caf\xc3\xa9 " + struct.pack("<2f", 0.5, -1) + b"\nx " + struct.pack("<2f", 2, 3) + b"\n"
SAMPLES = {
    "word2vec-binary": (BINARY, read_word2vec),
    "word2vec-text": ("2 2\ncafé 0.5 -1.0 \nx 2 3\n".encode(), read_word2vec),
    "analogies": (b": capital\nAthens Greece Oslo Norway\n: gram\ngood better bad worse\n", read_analogies),
    "similarity": (
        b"# c\nWord 1\tWord 2\tHuman (mean)\ntiger\tcat\t7.35\nbook\tpaper\t7.46\n",
        read_word_pairs,
    ),
}


@pytest.mark.parametrize("reader", sorted(SAMPLES))
def test_truncated_files_parse_or_fail_cleanly(tmp_path: Path, hostile_outcome, reader: str) -> None:
    sample, parse = SAMPLES[reader]
    path = tmp_path / "truncated"
    for cut in range(len(sample) + 1):
        path.write_bytes(sample[:cut])
        hostile_outcome(reader, lambda: parse(path))


def test_every_truncated_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v.bin"
    for cut in range(5, len(BINARY) - 1):  # a missing final newline alone is fine
        path.write_bytes(BINARY[:cut])
        with pytest.raises(SeqcliError, match=r"truncated|header"):
            read_word2vec(path)


def test_a_header_promising_more_than_the_file_holds_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "v.bin"
    path.write_bytes(b"99999999 300\n" + BINARY[4:])
    with pytest.raises(
        SeqcliError, match="the header says 99999999 vectors of 300 values, but the file has only"
    ):
        read_word2vec(path)
