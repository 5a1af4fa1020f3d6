"""Hostile and broken input: every reader either parses or raises one clear SeqcliError.

Arbitrary bytes, truncations, mixed line endings, BOMs, NUL bytes, a 10 MB line, odd tabs
and spaces. Never a traceback (any other exception fails the test), never a hang (the
hypothesis deadline), never unbounded memory (readers stream). Set SEQCLI_HOSTILE_LOG to a
file to record each input's outcome: bench/scale.py counts them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from seqcli.data.corpus import iter_lines
from seqcli.data.token_cache import token_stream
from seqcli.tasks.lm_use import load_language_model
from seqcli.text import load_tokenizer, train_tokenizer
from seqcli.train import checkpoint
from tests.io.hostile import HOSTILE, hostile_bytes


@HOSTILE
@given(data=hostile_bytes)
def test_corpus_reader(tmp_path: Path, hostile_outcome, data: bytes) -> None:
    path = tmp_path / "corpus.txt"
    path.write_bytes(data)
    for errors in ("strict", "replace"):
        hostile_outcome("corpus", lambda errors=errors: list(iter_lines(path, encoding_errors=errors)))


@HOSTILE
@given(data=hostile_bytes)
def test_tokenizer_training_and_token_cache(tmp_path: Path, hostile_outcome, data: bytes) -> None:
    path = tmp_path / "corpus.txt"
    path.write_bytes(data)

    def train_and_encode() -> None:
        for kind in ("char", "word"):
            tokenizer = train_tokenizer(kind, [path], encoding_errors="replace")
            token_stream(path, tokenizer, encoding_errors="replace", cache_dir=tmp_path / "cache")

    hostile_outcome("tokenizer-training", train_and_encode)


def test_a_ten_megabyte_line(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_bytes(b"a\tb " * (10 * 2**20 // 4) + b"\r\nend\n")
    lines = list(iter_lines(path))
    assert len(lines) == 2 and len(lines[0]) == 10 * 2**20 and lines[1] == "end"
    tokenizer = train_tokenizer("char", [path])
    assert len(token_stream(path, tokenizer, cache_dir=tmp_path / "cache")) == 10 * 2**20 + 5


@pytest.fixture(scope="module")
def checkpoint_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from seqcli.cli.app import main

    corpus = Path(__file__).parents[1] / "data" / "tiny_shakespeare.txt"
    run_dir = tmp_path_factory.mktemp("hostile") / "run"
    args = [
        "train-lm",
        str(corpus),
        "-o",
        str(run_dir),
        "--max-steps",
        "1",
        "--hidden",
        "8",
        "--layers",
        "1",
        "--bptt",
        "8",
        "--quiet",
    ]
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code in (0, None)
    return run_dir


CHECKPOINT_FILES = ["config.json", "model.safetensors", "tokenizer.json", checkpoint.STATE_FILE]


@HOSTILE
@given(
    name=st.sampled_from(CHECKPOINT_FILES),
    mutation=st.sampled_from(["truncate", "garbage", "flip"]),
    cut=st.floats(0, 1),
    garbage=st.binary(max_size=200),
)
def test_checkpoint_loader(
    hostile_outcome,
    checkpoint_dir: Path,
    tmp_path: Path,
    name: str,
    mutation: str,
    cut: float,
    garbage: bytes,
) -> None:
    run_dir = tmp_path / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    shutil.copytree(checkpoint_dir, run_dir)
    original = (run_dir / name).read_bytes()
    position = int(len(original) * cut)
    damaged = {
        "truncate": original[:position],
        "garbage": garbage,
        "flip": original[:position] + bytes([original[position] ^ 0xFF]) + original[position + 1 :]
        if position < len(original)
        else original + garbage,
    }[mutation]
    (run_dir / name).write_bytes(damaged)

    def load() -> None:
        load_language_model(run_dir, torch.device("cpu"))
        checkpoint.load_state(run_dir)
        load_tokenizer(run_dir)

    hostile_outcome("checkpoint", load)
