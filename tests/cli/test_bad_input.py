"""Every user mistake the foundation issue lists: exit status 2 and one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TINY = ["--hidden", "16", "--layers", "1", "--bptt", "8", "--batch-size", "2", "--quiet", "--max-steps", "2"]


@pytest.fixture
def trained(run_cli, toy_corpus: Path, tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    assert run_cli("train-lm", toy_corpus, "-o", run_dir, *TINY).status == 0
    return run_dir


def assert_user_error(result, *fragments: str) -> None:
    assert result.status == 2, (result.status, result.stderr)
    assert "Traceback" not in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in message, message


def test_missing_corpus(run_cli, tmp_path: Path) -> None:
    assert_user_error(
        run_cli("train-lm", tmp_path / "nope.txt", "-o", tmp_path / "r"), "nope.txt: no such file"
    )


def test_empty_corpus(run_cli, tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    assert_user_error(
        run_cli("train-lm", tmp_path / "empty.txt", "-o", tmp_path / "r", *TINY), "empty.txt", "empty"
    )


def test_corpus_shorter_than_one_bptt_window(run_cli, tmp_path: Path) -> None:
    (tmp_path / "short.txt").write_text("to be or not\n")
    result = run_cli("train-lm", tmp_path / "short.txt", "-o", tmp_path / "r", *TINY[:-2], "--bptt", "35")
    assert_user_error(result, "short.txt", "shorter than one BPTT window")


def test_bytes_that_are_not_utf8_name_file_and_line(run_cli, tmp_path: Path) -> None:
    corpus = tmp_path / "bad.txt"
    corpus.write_bytes(b"first line is fine\nsecond too\nthird has \xff\xfe here\n" * 20)
    assert_user_error(run_cli("train-lm", corpus, "-o", tmp_path / "r", *TINY), "bad.txt:3: not valid UTF-8")
    replaced = run_cli("train-lm", corpus, "-o", tmp_path / "r2", *TINY, "--encoding-errors", "replace")
    assert replaced.status == 0, replaced.stderr


def test_vocab_size_larger_than_the_corpus_allows(run_cli, toy_corpus: Path, tmp_path: Path) -> None:
    result = run_cli(
        "train-tokenizer", toy_corpus, "-o", tmp_path / "t", "--type", "bpe", "--vocab-size", "50000"
    )
    assert_user_error(result, "--vocab-size 50000", "larger than this corpus allows")


def test_output_directory_holding_another_run_is_refused(run_cli, trained: Path, toy_corpus: Path) -> None:
    assert_user_error(run_cli("train-lm", toy_corpus, "-o", trained, *TINY), "already holds", "--overwrite")
    assert run_cli("train-lm", toy_corpus, "-o", trained, *TINY, "--overwrite").status == 0


def test_resume_without_state(run_cli, toy_corpus: Path, tmp_path: Path) -> None:
    assert_user_error(run_cli("train-lm", toy_corpus, "-o", tmp_path / "r", "--resume"), "nothing to resume")


def test_unwritable_output_is_reported_before_training(run_cli, toy_corpus: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert_user_error(run_cli("train-lm", toy_corpus, "-o", tmp_path / "file" / "run", *TINY), "cannot write")


@pytest.mark.parametrize("name", ["model.safetensors", "config.json", "tokenizer.json"])
def test_checkpoint_with_a_missing_file(run_cli, trained: Path, name: str) -> None:
    (trained / name).unlink()
    assert_user_error(run_cli("sample", "-m", trained, "--max-tokens", "5"), name)


@pytest.mark.parametrize("name", ["model.safetensors", "config.json", "tokenizer.json"])
def test_checkpoint_with_a_truncated_file(run_cli, trained: Path, name: str) -> None:
    data = (trained / name).read_bytes()
    (trained / name).write_bytes(data[: len(data) // 2])
    assert_user_error(run_cli("sample", "-m", trained, "--max-tokens", "5"), name)


def test_checkpoint_of_another_task(run_cli, trained: Path) -> None:
    config = json.loads((trained / "config.json").read_text())
    (trained / "config.json").write_text(json.dumps({**config, "task": "tagger"}))
    assert_user_error(run_cli("sample", "-m", trained), "'tagger' checkpoint, not a 'lm' one")


def test_checkpoint_of_an_unknown_task(run_cli, trained: Path, toy_corpus: Path) -> None:
    config = json.loads((trained / "config.json").read_text())
    (trained / "config.json").write_text(json.dumps({**config, "task": "telepathy"}))
    assert_user_error(run_cli("info", "-m", trained), "unknown task 'telepathy'")
    assert_user_error(run_cli("evaluate", "-m", trained, toy_corpus), "unknown task 'telepathy'")


def test_checkpoint_of_a_newer_format(run_cli, trained: Path) -> None:
    config = json.loads((trained / "config.json").read_text())
    (trained / "config.json").write_text(json.dumps({**config, "format_version": 99}))
    assert_user_error(run_cli("info", "-m", trained), "newer than this seqcli understands")


def test_bad_option_values(run_cli, trained: Path, toy_corpus: Path, tmp_path: Path) -> None:
    assert_user_error(run_cli("sample", "-m", trained, "--temperature", "-1"), "temperature")
    assert_user_error(run_cli("sample", "-m", trained, "--format", "xml"), "--format")
    assert_user_error(run_cli("train-lm", toy_corpus, "-o", tmp_path / "x", "--cell", "lstn", *TINY), "lstn")
    assert_user_error(
        run_cli("train-lm", toy_corpus, "-o", tmp_path / "y", "--max-time", "soon", *TINY), "soon"
    )


def test_debug_shows_the_traceback(run_cli, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="no such file"):
        run_cli("--debug", "train-lm", tmp_path / "nope.txt", "-o", tmp_path / "r")
