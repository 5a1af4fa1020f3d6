"""sample, score and info as a pipeline meets them: separators, empty input, long lines, plots."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from seqcli.cli.app import app, main

ROOT = Path(__file__).parents[2]
TINY = ["--hidden", "16", "--layers", "1", "--bptt", "8", "--batch-size", "2", "--quiet", "--threads", "1"]
TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"


def train(corpus: Path, run_dir: Path, *options: str) -> Path:
    try:
        main(["train-lm", str(corpus), "-o", str(run_dir), *options, *TINY])
    except SystemExit as exit_:
        assert exit_.code in (0, None)
    return run_dir


def command_params(name: str) -> tuple:
    from typer.main import get_command

    command = get_command(app).commands[name]
    return command, {param.name: param for param in command.params}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("use-cli") / "corpus.txt"
    path.write_text(TEXT * 20)
    return path


@pytest.fixture(scope="module")
def char_run(corpus: Path) -> Path:
    options = ["--max-steps", "4", "--valid", str(corpus), "--eval-every", "2"]
    return train(corpus, corpus.parent / "char", *options)


@pytest.fixture(scope="module")
def word_run(corpus: Path) -> Path:
    return train(corpus, corpus.parent / "word", "--max-steps", "2", "--tokenizer", "word")


def test_sample_null_separates_the_samples_of_jsonl(run_cli, char_run: Path) -> None:
    common = ["sample", "-m", char_run, "--num", "3", "--max-tokens", "60", "--seed", "7", "--threads", "1"]
    jsonl = run_cli(*common, "--format", "jsonl")
    texts = [json.loads(line)["text"] for line in jsonl.stdout.splitlines()]
    null = run_cli(*common, "-0")
    assert null.status == 0, null.stderr
    assert null.stdout.endswith("\0") and null.stdout.split("\0")[:-1] == texts
    assert any("\n" in text for text in texts)  # why a separator is needed at all
    assert run_cli(*common, "--null").stdout == null.stdout


def test_sample_null_with_jsonl_is_refused(run_cli, char_run: Path) -> None:
    result = run_cli("sample", "-m", char_run, "--format", "jsonl", "-0")
    assert result.status == 2 and "--null" in result.stderr


def test_sample_help_names_the_pipeline_forms() -> None:
    command, params = command_params("sample")
    assert "jsonl" in params["output_format"].help and "pipeline" in params["output_format"].help
    assert "-0" in params["null"].opts and "NUL" in params["null"].help
    assert "--format jsonl or -0" in command.help


@pytest.mark.parametrize("content", ["", "\n"], ids=["empty", "one-blank-line"])
def test_score_of_an_empty_input(run_cli, word_run: Path, tmp_path: Path, content: str) -> None:
    (tmp_path / "in.txt").write_text(content)
    result = run_cli("score", "-m", word_run, tmp_path / "in.txt", "--summary", "--threads", "1")
    if content:
        # a blank line is a sentence of its <eos> alone: one token, a finite score
        assert result.status == 0, result.stderr
        assert result.stdout.splitlines()[0].split("\t")[1] == "1"
        assert "nan" not in result.stdout
    else:
        assert result.status == 2 and result.stdout == ""
        message = f"seqcli: error: {tmp_path / 'in.txt'}: no lines to score (the input is empty)"
        assert result.stderr.strip().splitlines() == [message]


def test_score_help_says_what_an_empty_input_does() -> None:
    command, _ = command_params("score")
    assert "no lines at all is an error" in " ".join(command.help.split())


def test_evaluate_jsonl_counts_are_integers(run_cli, char_run: Path, corpus: Path) -> None:
    result = run_cli("evaluate", "-m", char_run, corpus, "--format", "jsonl", "--threads", "1")
    assert result.status == 0, result.stderr
    assert f'"tokens": {len(corpus.read_text())}' in result.stdout


def test_info_plot_says_where_it_wrote(run_cli, char_run: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    result = run_cli("info", "-m", char_run, "--plot", tmp_path / "c")
    assert result.status == 0, result.stderr
    assert (tmp_path / "c.png").is_file()
    assert f"written to {tmp_path / 'c.png'}" in result.stderr


def _score_in_child(run_dir: Path, data: Path) -> tuple[subprocess.CompletedProcess, int]:
    """Run ``seqcli score`` in a child process; return it and the children's peak memory in MB."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "seqcli", "score", "-m", str(run_dir), str(data), "--threads", "1"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return done, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024


# A torch process starts at about 350 MB; unwindowed, the word model took 10 GB here.
@pytest.mark.parametrize("kind", ["char", "word"])
def test_score_of_a_one_megabyte_line_in_bounded_memory(
    kind: str, char_run: Path, word_run: Path, tmp_path: Path
) -> None:
    words = TEXT.split()
    line = " ".join(words * (1_000_000 // len(" ".join(words)) + 1))[:1_000_000]
    (tmp_path / "long.txt").write_text(line + "\n")
    done, peak_mb = _score_in_child(char_run if kind == "char" else word_run, tmp_path / "long.txt")
    assert done.returncode == 0, done.stderr
    fields = done.stdout.split("\t")
    assert float(fields[0]) < 0 and int(fields[1]) > 100_000 / (1 if kind == "char" else 10)
    assert peak_mb < 800, f"peak memory {peak_mb} MB"
