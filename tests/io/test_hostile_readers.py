"""Hostile input for the format readers: each parses it or raises one clear SeqcliError.

Arbitrary bytes, truncated real-looking files, mixed line endings, BOMs, NUL bytes and a
10 MB line, with ``encoding_errors`` strict and replace. The harness (tests/io/hostile.py)
fails on any other exception; the hypothesis deadline fails a hang.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given

from seqcli.data.conll import TaggedSentence, read_conll
from seqcli.data.conllu import read_conllu
from seqcli.data.manifest import read_manifest
from seqcli.data.parallel import SentencePair, read_parallel
from seqcli.data.tsv import LabelledText, read_labelled
from seqcli.errors import SeqcliError
from tests.io.hostile import HOSTILE, hostile_bytes

ERRORS = ("strict", "replace")


@HOSTILE
@given(data=hostile_bytes)
def test_conll_reader(tmp_path: Path, hostile_outcome, data: bytes) -> None:
    path = tmp_path / "hostile.conll"
    path.write_bytes(data)
    for errors in ERRORS:
        for column in (-1, 2):
            hostile_outcome(
                "conll", lambda e=errors, c=column: list(read_conll(path, column=c, encoding_errors=e))
            )


@HOSTILE
@given(data=hostile_bytes)
def test_conllu_reader(tmp_path: Path, hostile_outcome, data: bytes) -> None:
    path = tmp_path / "hostile.conllu"
    path.write_bytes(data)
    for errors in ERRORS:
        hostile_outcome("conllu", lambda e=errors: list(read_conllu(path, field="xpos", encoding_errors=e)))


@HOSTILE
@given(data=hostile_bytes)
def test_labelled_tsv_reader(tmp_path: Path, hostile_outcome, data: bytes) -> None:
    path = tmp_path / "hostile.tsv"
    path.write_bytes(data)
    for errors in ERRORS:
        hostile_outcome("tsv", lambda e=errors: list(read_labelled(path, header=True, encoding_errors=e)))


@HOSTILE
@given(data=hostile_bytes)
def test_parallel_two_file_reader(tmp_path: Path, hostile_outcome, data: bytes) -> None:
    # Halves of the bytes: misaligned files, lines cut mid-character, one side empty.
    source, target = tmp_path / "hostile.src", tmp_path / "hostile.tgt"
    source.write_bytes(data[: len(data) // 2])
    target.write_bytes(data[len(data) // 2 :])
    for errors in ERRORS:
        hostile_outcome("parallel", lambda e=errors: list(read_parallel(source, target, encoding_errors=e)))


@HOSTILE
@given(data=hostile_bytes)
def test_parallel_tsv_reader(tmp_path: Path, hostile_outcome, data: bytes) -> None:
    path = tmp_path / "hostile.tsv"
    path.write_bytes(data)
    for errors in ERRORS:
        hostile_outcome("parallel-tsv", lambda e=errors: list(read_parallel(path, encoding_errors=e)))


def make_speech_root(tmp_path: Path) -> Path:
    """A manifest directory where paths made of the harness's fragments sometimes exist."""
    root = tmp_path / "root"
    for name in ("word", "1", "O", "_/word", "B-PER", "../word", "../1"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"RIFF")
    return root


@HOSTILE
@given(data=hostile_bytes)
def test_manifest_reader(tmp_path: Path, hostile_outcome, data: bytes) -> None:
    manifest = make_speech_root(tmp_path) / "hostile.tsv"
    manifest.write_bytes(data)
    for errors in ERRORS:
        for outside in (False, True):
            hostile_outcome(
                "manifest",
                lambda e=errors, o=outside: list(read_manifest(manifest, allow_outside=o, encoding_errors=e)),
            )


# Real-looking files, cut short at every byte --------------------------------------------------

SAMPLES: dict[str, tuple[bytes, Callable[[Path], object]]] = {
    "conll": (
        "-DOCSTART- -DOCSTART- O\nSão NC B-LOC\nPaulo VMI I-LOC\n\nEFE NC B-ORG\n".encode(),
        lambda p: list(read_conll(p)),
    ),
    "conllu": (
        "# text = I don't … ✓\n1\tI\tI\tPRON\tPRP\t_\t2\tnsubj\t_\t_\n"
        "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n2\tdo\tdo\tAUX\tVBP\t_\t0\troot\t_\t_\n\n".encode(),
        lambda p: list(read_conllu(p)),
    ),
    "tsv": ("pos\tun film très réussi\nneg\tennuyeux\n".encode(), lambda p: list(read_labelled(p))),
    "parallel-tsv": (
        "I won!\tJe l'ai emporté !\nCheers!\tSanté !\n".encode(),
        lambda p: list(read_parallel(p)),
    ),
    "manifest": (
        'word\tzéro\n{"audio": "_/word", "text": "un"}\n'.encode(),
        lambda p: list(read_manifest(p)),
    ),
}


@pytest.mark.parametrize("reader", sorted(SAMPLES))
def test_truncated_files_parse_or_fail_cleanly(tmp_path: Path, hostile_outcome, reader: str) -> None:
    sample, parse = SAMPLES[reader]
    path = make_speech_root(tmp_path) / "truncated"
    for cut in range(len(sample) + 1):
        path.write_bytes(sample[:cut])
        hostile_outcome(reader, lambda: parse(path))


# Line ends, byte-order marks, NUL bytes ---------------------------------------------------------


def test_conll_with_a_bom_and_mixed_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "mixed.conll"
    path.write_bytes(b"\xef\xbb\xbfSao B-LOC\r\nPaulo I-LOC\n\r\n\r\r\nEFE B-ORG\r")
    assert list(read_conll(path)) == [
        TaggedSentence(("Sao", "Paulo"), ("B-LOC", "I-LOC"), 1),
        TaggedSentence(("EFE",), ("B-ORG",), 5),
    ]


def test_conllu_with_a_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "bom.conllu"
    path.write_bytes(b"\xef\xbb\xbf# c\r\n1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_\r\r\n")
    assert list(read_conllu(path)) == [TaggedSentence(("I",), ("PRON",), 1)]


def test_a_lone_carriage_return_does_not_end_a_line(tmp_path: Path) -> None:
    # Old Mac line ends are not line ends to iter_lines: the file is one over-long line.
    path = tmp_path / "mac.tsv"
    path.write_bytes(b"pos\tgood\rneg\tbad\r")
    with pytest.raises(SeqcliError, match=r"mac\.tsv:1: expected 2 tab-separated columns, found 3$"):
        list(read_parallel(path))
    assert list(read_labelled(path)) == [LabelledText("pos", "good\rneg", 1)]


def test_nul_bytes_are_kept_as_text(tmp_path: Path) -> None:
    path = tmp_path / "nul.tsv"
    path.write_bytes(b"\xef\xbb\xbfa\x00b\tc\x00\n")
    assert list(read_parallel(path)) == [SentencePair("a\x00b", "c\x00", 1)]


def test_a_nul_byte_in_an_audio_path_is_not_found(tmp_path: Path) -> None:
    root = make_speech_root(tmp_path)
    (root / "m.tsv").write_bytes(b"wo\x00rd\tzero\n")
    with pytest.raises(SeqcliError, match=r"m\.tsv:1: audio file .*wo\x00rd not found$"):
        list(read_manifest(root / "m.tsv"))


@pytest.mark.parametrize("errors", ERRORS)
def test_invalid_utf8_is_reported_or_replaced_in_every_reader(tmp_path: Path, errors: str) -> None:
    path = tmp_path / "latin1.tsv"
    path.write_bytes("pos\tfine\npos\tcafé\n".encode("latin-1"))
    readers = [read_labelled, read_parallel, read_conll]
    for reader in readers:
        if errors == "strict":
            with pytest.raises(SeqcliError, match=r"latin1\.tsv:2: not valid UTF-8"):
                list(reader(path, encoding_errors=errors))
        else:
            assert "caf\ufffd" in str(list(reader(path, encoding_errors=errors)))


# A 10 MB line -------------------------------------------------------------------------------

TEN_MB = 10 * 2**20


@pytest.mark.parametrize("errors", ERRORS)
def test_a_ten_megabyte_line_parses(tmp_path: Path, errors: str) -> None:
    text = b"a" * TEN_MB
    (tmp_path / "long.tsv").write_bytes(b"pos\t" + text + b"\nneg\tshort\n")
    (tmp_path / "long.conll").write_bytes(text + b" B-PER\n")
    assert len(next(read_labelled(tmp_path / "long.tsv", encoding_errors=errors)).text) == TEN_MB
    assert len(list(read_parallel(tmp_path / "long.tsv", encoding_errors=errors))) == 2
    assert next(read_conll(tmp_path / "long.conll", encoding_errors=errors)).tags == ("B-PER",)


def test_a_ten_megabyte_line_of_bad_bytes_fails_cleanly_or_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "long.conllu"
    path.write_bytes(b"1\t" + b"\xff" * TEN_MB + b"\n")
    with pytest.raises(SeqcliError, match=r"long\.conllu:1: not valid UTF-8 \(byte 0xff at column 3\)"):
        list(read_conllu(path))
    with pytest.raises(SeqcliError, match=r"long\.conllu:1: expected 10 tab-separated fields, found 2$"):
        list(read_conllu(path, encoding_errors="replace"))


def test_a_ten_megabyte_json_line_parses_or_fails_cleanly(tmp_path: Path) -> None:
    root = make_speech_root(tmp_path)
    line = b'{"audio": "word", "text": "' + b"x" * TEN_MB + b'"'
    (root / "m.jsonl").write_bytes(line + b"}\n" + line + b"\n")
    entries = read_manifest(root / "m.jsonl")
    assert len(next(entries).text) == TEN_MB
    with pytest.raises(
        SeqcliError, match=r"m\.jsonl:2: invalid JSON \(Expecting ',' delimiter at column 10485789\)$"
    ):
        next(entries)
