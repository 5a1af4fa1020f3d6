"""train-classifier, classify and evaluate end to end on tiny committed files, and their bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seqcli.cli.app import main

DATA = Path(__file__).parents[1] / "data" / "classification"
TINY = [
    "--hidden", "16", "--embedding", "16", "--batch-size", "4", "--dropout", "0", "--lr", "0.02",
    "--quiet", "--threads", "1",
]  # fmt: skip


@pytest.fixture(scope="module")
def sentiment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("sentiment") / "run"
    try:
        data = str(DATA / "tiny.tsv")
        options = ["--epochs", "15", "--eval-every", "30", *TINY]
        main(["train-classifier", data, "--valid", data, "-o", str(run_dir), *options])
    except SystemExit as exit_:
        assert exit_.code in (0, None), exit_.code
    return run_dir


def assert_user_error(result, *fragments: str) -> None:
    assert result.status == 2, (result.status, result.stderr)
    assert "Traceback" not in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in message, message


def test_evaluate_prints_the_confusion_matrix_then_accuracy_and_macro_f1(
    run_cli, sentiment: Path, tmp_path: Path
) -> None:
    plot = tmp_path / "confusion.png"
    result = run_cli("evaluate", "-m", sentiment, DATA / "tiny.tsv", "--plot", plot)
    assert result.status == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1].split() == ["accuracy", "100", "macro-f1", "100"]
    assert lines[0].startswith("confusion matrix") and any("4" in line and "neg" in line for line in lines)
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_classify_prints_label_and_probability_or_every_class_in_jsonl(
    run_cli, sentiment: Path, tmp_path: Path
) -> None:
    texts = tmp_path / "in.txt"
    texts.write_text("a gripping , beautifully shot film\nthe worst film of the year\n")
    label, probability = run_cli("classify", "-m", sentiment, texts).stdout.splitlines()[0].split("\t")
    assert label == "pos" and 0.5 < float(probability) <= 1
    records = [
        json.loads(line)
        for line in run_cli("classify", "-m", sentiment, texts, "--format", "jsonl").stdout.splitlines()
    ]
    assert records[1]["label"] == "neg"
    assert set(records[1]["probabilities"]) == {"neg", "pos"}
    assert sum(records[1]["probabilities"].values()) == pytest.approx(1, abs=1e-5)


def test_header_names_pick_the_columns_and_a_tenth_is_held_out(run_cli, tmp_path: Path) -> None:
    result = run_cli(
        "train-classifier", DATA / "header.tsv", "-o", tmp_path / "r", "--text-column", "sentence",
        "--label-column", "label", "--epochs", "1", "--pooling", "attention", *TINY,
    )  # fmt: skip
    assert result.status == 0, result.stderr
    assert "holding out a fixed, seeded 10%" in result.stderr
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["data"]["held_out"] and config["model"]["pooling"] == "attention"
    assert json.loads((tmp_path / "r" / "labels.json").read_text())["labels"] == ["0", "1"]


@pytest.mark.parametrize(
    ("text", "options", "fragments"),
    [
        ("pos\tgood\nneg\t\n", [], ["bad.tsv:2", "empty text"]),
        ("pos\tgood\n\tbad\n", [], ["bad.tsv:2", "empty label"]),
        (
            "text\tlabel\ngood\tpos\n",
            ["--text-column", "sentence"],
            ["bad.tsv:1", "'sentence' is not in the header"],
        ),
        ("pos\tgood\npos\tfine\n", [], ["only one label"]),
    ],
)
def test_bad_training_data_writes_nothing(
    run_cli, tmp_path: Path, text: str, options: list[str], fragments: list[str]
) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text(text)
    result = run_cli("train-classifier", path, "--valid", path, "-o", tmp_path / "r", *options, *TINY)
    assert_user_error(result, *fragments)
    assert not (tmp_path / "r").exists()


def test_evaluate_names_labels_never_seen_in_training(run_cli, sentiment: Path, tmp_path: Path) -> None:
    path = tmp_path / "test.tsv"
    path.write_text("pos\ta delight from start to finish\nmixed\ta dull but moving film\n")
    result = run_cli("evaluate", "-m", sentiment, path)
    assert result.status == 0, result.stderr
    assert "labels never seen in training, counted as wrong: mixed (1)" in result.stderr
    assert result.stdout.strip().splitlines()[-1].split()[:2] == ["accuracy", "50"]
    assert "(unseen)" in result.stdout


def test_classify_refuses_a_blank_line_and_writes_nothing(run_cli, sentiment: Path, tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_text("good film\n\nbad film\n")
    result = run_cli("classify", "-m", sentiment, path)
    assert_user_error(result, "in.txt:2", "empty text")
    assert result.stdout == ""


def test_resume_continues_with_the_runs_own_settings(run_cli, tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    data = DATA / "tiny.tsv"
    first = run_cli("train-classifier", data, "--valid", data, "-o", run_dir, "--epochs", "1", *TINY)
    assert first.status == 0, first.stderr
    refused = run_cli(
        "train-classifier", data, "--valid", data, "-o", run_dir, "--resume", "--pooling", "mean"
    )
    assert_user_error(refused, "keeps its own model and data settings", "--pooling")
    resumed = run_cli(
        "train-classifier", data, "--valid", data, "-o", run_dir, "--resume", "--epochs", "2", "--quiet"
    )
    assert resumed.status == 0, resumed.stderr
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records if "valid" in r] == [1, 2]  # epoch 1 was not trained again
