"""What a careless user meets: every bad start exits 2 with one line and leaves no trace."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seqcli.train import checkpoint

SMALL = ["--hidden", "16", "--layers", "1", "--bptt", "8", "--batch-size", "4", "--threads", "1", "--quiet"]

# (extra arguments, text the one-line message must contain)
BAD_STARTS = [
    (["--cell", "lstn"], "--cell"),
    (["--clip", "-1"], "--clip"),
    (["--clip", "0"], "--clip"),
    (["--clip-value", "-0.5"], "--clip-value"),
    (["--warmup-steps", "-1"], "--warmup-steps"),
    (["--patience", "-1"], "--patience"),
    (["--lr", "0"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--lr", "inf"], "--lr"),
    (["--weight-decay", "-1"], "--weight-decay"),
    (["--momentum", "-0.1"], "--momentum"),
    (["--betas", "0.9", "1"], "--betas"),
    (["--betas", "-0.1", "0.9"], "--betas"),
    (["--lr-decay", "0"], "--lr-decay"),
    (["--lr-decay", "1.5"], "--lr-decay"),
    (["--dropout", "1"], "--dropout"),
    (["--dropout", "-0.1"], "--dropout"),
    (["--threads", "0"], "--threads"),
    (["--threads", "-2"], "--threads"),
    (["--max-time", "0"], "--max-time"),
    (["--max-time", "soon"], "--max-time"),
    (["--max-steps", "0"], "--max-steps"),
    (["--epochs", "0"], "--epochs"),
    (["--eval-every", "0"], "--eval-every"),
    (["--hidden", "0"], "--hidden"),
    (["--layers", "0"], "--layers"),
    (["--embedding", "0"], "--embedding"),
    (["--bptt", "0"], "--bptt"),
    (["--batch-size", "0"], "--batch-size"),
    (["--init-range", "-1"], "--init-range"),
    (["--tie-weights", "--embedding", "8"], "--tie-weights"),
    (["--schedule", "cosin"], "--schedule"),
    (["--optimizer", "adamx"], "--optimizer"),
    (["--device", "tpu"], "--device"),
    (["--save-every", "often"], "--save-every"),
    (["--tokenizer", "no-such-tokenizer"], "--tokenizer"),
    (["--tokenizer", "bpe", "--vocab-size", "0"], "--vocab-size"),
    (["--min-count", "0"], "--min-count"),
    (["--valid", "no-such-valid.txt"], "no-such-valid.txt"),
    (["--resume"], "nothing to resume"),
    (["--resume", "--overwrite"], "--resume and --overwrite"),
    (["--no-such-option"], "--no-such-option"),
]


def snapshot(directory: Path) -> dict[str, bytes] | None:
    if not directory.exists():
        return None
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("existing", [False, True], ids=["new-dir", "overwrite"])
@pytest.mark.parametrize(("extra", "named"), BAD_STARTS, ids=[" ".join(a) for a, _ in BAD_STARTS])
def test_a_bad_start_exits_2_with_one_line_naming_the_option_and_leaves_the_directory_as_it_was(
    run_cli, toy_corpus: Path, tmp_path: Path, extra: list[str], named: str, existing: bool
) -> None:
    run_dir = tmp_path / "run"
    if existing:  # a run to --overwrite: nothing of it may go before the options are checked
        run_dir.mkdir()
        (run_dir / "notes.txt").write_text("mine")
        (run_dir / "config.json").write_text("{}")
        extra = extra if "--resume" in extra else [*extra, "--overwrite"]
    before = snapshot(run_dir)
    result = run_cli("train-lm", toy_corpus, "-o", run_dir, "--max-steps", 2, *SMALL, *extra)
    assert result.status == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seqcli: error:") and named in lines[0], result.stderr
    assert snapshot(run_dir) == before


def test_a_missing_corpus_or_unwritable_cache_leaves_nothing(
    run_cli, toy_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli("train-lm", tmp_path / "nosuch.txt", "-o", tmp_path / "run", *SMALL)
    assert result.status == 2 and "nosuch.txt" in result.stderr and not (tmp_path / "run").exists()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SEQCLI_CACHE_DIR", str(blocker / "cache"))
    result = run_cli("train-lm", toy_corpus, "-o", tmp_path / "run", *SMALL)
    assert result.status == 2 and "SEQCLI_CACHE_DIR" in result.stderr and not (tmp_path / "run").exists()


def test_a_directory_left_by_an_interrupted_start_is_accepted_by_the_rerun(
    run_cli, toy_corpus: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.json").write_text("{}")  # what a start killed before its first save leaves
    (run_dir / "tokenizer.json").write_text("{}")
    result = run_cli("train-lm", toy_corpus, "-o", run_dir, "--max-steps", 2, *SMALL)
    assert result.status == 0, result.stderr
    assert (run_dir / checkpoint.WEIGHTS_FILE).is_file()


@pytest.fixture
def trained(run_cli, toy_corpus: Path, tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    assert run_cli("train-lm", toy_corpus, "-o", run_dir, "--max-steps", 4, *SMALL).status == 0
    return run_dir


def test_resume_refuses_options_that_differ_naming_each(run_cli, toy_corpus: Path, trained: Path) -> None:
    result = run_cli(
        "train-lm", toy_corpus, "-o", trained, "--resume", "--hidden", 999, "--cell", "gru",
        "--tokenizer", "bpe", "--lr", "0.5",
    )  # fmt: skip
    assert result.status == 2
    for option in ("--hidden 999", "--cell gru", "--tokenizer bpe", "--lr 0.5"):
        assert option in result.stderr
    same = run_cli("train-lm", toy_corpus, "-o", trained, "--resume", "--max-steps", 6, *SMALL)
    assert same.status == 0, same.stderr


def test_resume_refuses_another_corpus_unless_told(
    run_cli, toy_corpus: Path, trained: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.txt"
    other.write_text(toy_corpus.read_text()[::-1])
    result = run_cli("train-lm", other, "-o", trained, "--resume", "--max-steps", 6)
    assert result.status == 2 and "--new-data" in result.stderr and "other.txt" in result.stderr
    assert run_cli("train-lm", other, "-o", trained, "--resume", "--max-steps", 6, "--new-data").status == 0


def test_limits_given_on_resume_replace_the_saved_ones(run_cli, toy_corpus: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    assert (
        run_cli("train-lm", toy_corpus, "-o", run_dir, "--max-time", "1s", "--epochs", 1000, *SMALL).status
        == 0
    )
    stopped = checkpoint.load_state(run_dir)["position"]["step"]
    assert run_cli("train-lm", toy_corpus, "-o", run_dir, "--resume", "--max-steps", stopped + 7).status == 0
    assert checkpoint.load_state(run_dir)["position"]["step"] == stopped + 7
    # A run already past its limit takes no step.
    assert run_cli("train-lm", toy_corpus, "-o", run_dir, "--resume", "--max-steps", 3).status == 0
    assert checkpoint.load_state(run_dir)["position"]["step"] == stopped + 7


@pytest.mark.parametrize(
    "damage",
    [
        lambda c: {"hello": "world"},
        lambda c: [1, 2],
        lambda c: {**c, "model": {"cell": "lstm", "bogus": 1}},
        lambda c: {**c, "model": "not a section"},
        lambda c: {**c, "training": {"lr": "fast"}},  # sample does not read it
    ],
    ids=["foreign", "not-an-object", "unknown-model-key", "model-not-a-dict", "bad-training"],
)
def test_a_foreign_or_edited_config_is_exit_2_naming_the_file(
    run_cli, toy_corpus: Path, trained: Path, damage
) -> None:
    path = trained / checkpoint.CONFIG_FILE
    path.write_text(json.dumps(damage(json.loads(path.read_text()))))
    commands = [("train-lm", toy_corpus, "-o", trained, "--resume"), ("sample", "-m", trained)]
    if "training" in path.read_text():
        commands.pop()
    for args in commands:
        result = run_cli(*args)
        assert result.status == 2 and "config.json" in result.stderr, (args, result.stderr)
    # info shows what is there; it may refuse, but never with an unexpected error.
    info = run_cli("info", "-m", trained)
    assert info.status in (0, 2) and "unexpected" not in info.stderr


def test_kill_9_after_the_first_timed_save_resumes(toy_corpus: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "seqcli", "train-lm", toy_corpus, "-o", run_dir, "--epochs", 10**6,
               "--save-every", "1s", "--eval-every", 10**6, *SMALL]  # fmt: skip
    process = subprocess.Popen(list(map(str, command)), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not checkpoint.has_state(run_dir):
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    saved = checkpoint.load_state(run_dir)["position"]["step"]
    assert saved > 0 and not (run_dir / checkpoint.WEIGHTS_FILE).exists()  # no epoch had ended
    resumed = subprocess.run(
        [sys.executable, "-m", "seqcli", "train-lm", str(toy_corpus), "-o", str(run_dir), "--resume",
         "--max-steps", str(saved + 3), "--eval-every", str(10**6)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert checkpoint.load_state(run_dir)["position"]["step"] == saved + 3


def test_standard_input_is_spooled_and_trained_on(toy_corpus: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "seqcli", "train-lm", "-", "-o", str(run_dir), "--max-steps", "2", *SMALL],
        input=toy_corpus.read_text(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (
        json.loads((run_dir / "config.json").read_text())["data_files"]["train"]["size"]
        == toy_corpus.stat().st_size
    )


def test_progress_goes_to_a_redirected_stderr_as_plain_lines(
    run_cli, toy_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEQCLI_PROGRESS_SECONDS", "0")
    args = [a for a in SMALL if a != "--quiet"]
    result = run_cli("train-lm", toy_corpus, "-o", tmp_path / "run", "--max-steps", 40, *args)
    assert result.status == 0
    lines = result.stderr.splitlines()
    assert any(line.startswith("step 20/40 (epoch") and "tok/s" in line for line in lines), result.stderr
    done = [line for line in lines if line.startswith("done (")]
    assert len(done) == 1 and str(tmp_path / "run") in done[0]


@pytest.mark.parametrize(
    ("command", "own_help", "choices"),
    [
        ("train-lm", "Truncated backpropagation window", "char|word|bpe|unigram|DIR"),
        ("train-tagger", "Tag column: a CoNLL column index", "constant|plateau|step|cosine"),
        ("train-translator", "Label smoothing", "bahdanau|luong-dot|luong-general|none"),
    ],
)
def test_help_teaches_each_command_s_own_options_and_lists_choices(
    run_cli, command: str, own_help: str, choices: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    result = run_cli(command, "--help")
    assert result.status == 0
    assert own_help in result.stdout and choices in result.stdout


@pytest.mark.parametrize(
    ("command", "epochs"), [("train-tagger", 20), ("train-embeddings", 5), ("train-lm", 10)]
)
def test_help_shows_each_command_s_own_shared_defaults(
    run_cli, command: str, epochs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    lines = run_cli(command, "--help").stdout.splitlines()
    line = next(line for line in lines if line.lstrip("│ ").startswith("--epochs"))
    assert f"[default: {epochs}]" in line


DATA = Path(__file__).resolve().parents[1] / "data"
# (command, training file, extra arguments, text the one-line message must contain)
TASK_BAD_STARTS = [
    (command, data, extra, named)
    for command, data in (
        ("train-tagger", DATA / "tagging" / "tiny.conll"),
        ("train-classifier", DATA / "classification" / "header.tsv"),
    )
    for extra, named in (
        (["--hidden", "0"], "--hidden"),
        (["--layers", "0"], "--layers"),
        (["--embedding", "0"], "--embedding"),
        (["--dropout", "1.5"], "--dropout"),
    )
] + [
    ("train-tagger", DATA / "tagging" / "tiny.conll", ["--char-hidden", "0"], "--char-hidden"),
    ("train-tagger", DATA / "tagging" / "tiny.conll", ["--char-embedding", "0"], "--char-embedding"),
]


@pytest.mark.parametrize(
    ("command", "data", "extra", "named"),
    TASK_BAD_STARTS,
    ids=[f"{c} {' '.join(e)}" for c, _, e, _ in TASK_BAD_STARTS],
)
def test_a_tagger_or_classifier_model_option_out_of_range_is_one_line_and_touches_nothing(
    run_cli, tmp_path: Path, command: str, data: Path, extra: list[str], named: str
) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(command, data, "-o", run_dir, "--max-steps", 1, "--threads", 1, "-q", *extra)
    assert result.status == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert len(errors) == 1 and errors[0].startswith("seqcli: error:") and named in errors[0], result.stderr
    assert not run_dir.exists()
