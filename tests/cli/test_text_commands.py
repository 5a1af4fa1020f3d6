"""tokenize round trips, and train-tokenizer never writes over a model or fails with a traceback."""

from __future__ import annotations

import errno
import hashlib
from pathlib import Path

import pytest

from seqcli.cli.app import app

TINY = ["--hidden", "16", "--layers", "1", "--bptt", "8", "--batch-size", "2", "--quiet", "--threads", "1"]


def assert_user_error(result, *fragments: str) -> None:
    assert result.status == 2, (result.status, result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def snapshot(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def char_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from seqcli.cli.app import main

    folder = tmp_path_factory.mktemp("text-cli")
    corpus = folder / "corpus.txt"
    corpus.write_text("  To be, or not to be:\tthat is the question 123.\n" * 30)
    try:
        main(["train-lm", str(corpus), "-o", str(folder / "run"), "--max-steps", "2", *TINY])
    except SystemExit as exit_:
        assert exit_.code in (0, None)
    return folder / "run"


def test_char_pieces_then_decode_gives_each_line_back(run_cli, char_run: Path, tmp_path: Path) -> None:
    lines = ["  To be,\tor not  ", "123", "t", " "]
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n")
    pieces = run_cli("tokenize", "-m", char_run, tmp_path / "in.txt")
    assert pieces.status == 0, pieces.stderr
    assert pieces.stdout.splitlines()[2] == "t" and pieces.stdout.splitlines()[3] == "▁"
    (tmp_path / "pieces.txt").write_text(pieces.stdout)
    decoded = run_cli("tokenize", "-m", char_run, tmp_path / "pieces.txt", "--decode")
    assert decoded.stdout.splitlines() == lines


def test_ids_then_decode_ids_gives_each_line_back(run_cli, char_run: Path, tmp_path: Path) -> None:
    lines = ["  To be,\tor not  ", "123"]
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n")
    ids = run_cli("tokenize", "-m", char_run, tmp_path / "in.txt", "--ids")
    (tmp_path / "ids.txt").write_text(ids.stdout)
    decoded = run_cli("tokenize", "-m", char_run, tmp_path / "ids.txt", "--decode", "--ids")
    assert decoded.stdout.splitlines() == lines


def test_ids_read_as_pieces_say_to_pass_ids(run_cli, char_run: Path, tmp_path: Path) -> None:
    (tmp_path / "ids.txt").write_text("14 27 5\n")
    result = run_cli("tokenize", "-m", char_run, tmp_path / "ids.txt", "--decode")
    assert_user_error(result, "ids.txt:1", "--decode --ids")


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_train_tokenizer_refuses_a_model_directory(
    run_cli, char_run: Path, tmp_path: Path, overwrite: list[str]
) -> None:
    before = snapshot(char_run)
    corpus = tmp_path / "other.txt"
    corpus.write_text("completely different text\n" * 5)
    result = run_cli("train-tokenizer", corpus, "-o", char_run, "--type", "word", *overwrite)
    assert_user_error(result, str(char_run / "config.json"), "holds a model")
    assert snapshot(char_run) == before
    # the model still works with its own tokenizer
    assert run_cli("sample", "-m", char_run, "--max-tokens", "5", "--seed", "1").status == 0
    (tmp_path / "line.txt").write_text("to be\n")
    assert run_cli("score", "-m", char_run, tmp_path / "line.txt").status == 0
    assert run_cli("tokenize", "-m", char_run, tmp_path / "line.txt").stdout == "t o ▁ b e\n"


def test_train_tokenizer_under_a_file_is_one_line(run_cli, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c\n")
    result = run_cli("train-tokenizer", corpus, "-o", tmp_path / "file" / "tok", "--type", "word")
    assert_user_error(result, "cannot write")


def test_train_tokenizer_on_a_read_only_path_is_one_line(
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c\n")

    def read_only(self: Path, *args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    result = run_cli("train-tokenizer", corpus, "-o", tmp_path / "ro" / "tok", "--type", "word")
    assert_user_error(result, "cannot write", "Read-only file system")
    assert not (tmp_path / "ro").exists()


def test_train_tokenizer_leaves_no_directory_when_training_fails(run_cli, tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    output = tmp_path / "a" / "tok"
    result = run_cli("train-tokenizer", tmp_path / "empty.txt", "-o", output, "--type", "word")
    assert_user_error(result, "empty corpus")
    assert not (tmp_path / "a").exists()


def test_train_tokenizer_output_help_is_not_about_checkpoints() -> None:
    from typer.main import get_command

    command = get_command(app).commands["train-tokenizer"]
    output = next(p for p in command.params if p.name == "output")
    assert "checkpoint" not in output.help and "tokenizer" in output.help
