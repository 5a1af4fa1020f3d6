"""train-lm, sample, score, evaluate and info, end to end on tiny corpora."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from seqcli.cli.app import main

TINY = ["--hidden", "24", "--layers", "1", "--bptt", "8", "--batch-size", "4", "--quiet", "--threads", "1"]
COURSE = ["the apple and pear salad is tasty", "i like apple and pear salad", "a pair of shoes"]


def train(*args: object) -> None:
    try:
        main([str(a) for a in args])
    except SystemExit as exit_:
        assert exit_.code in (0, None), f"training failed with {exit_.code}"


@pytest.fixture(scope="module")
def char_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "char"
    corpus = Path(__file__).parents[1] / "data" / "tiny_shakespeare.txt"
    train(
        "train-lm", corpus, "-o", run_dir, "--valid", corpus, "--max-steps", "30", "--eval-every", "15", *TINY
    )
    return run_dir


@pytest.fixture(scope="module")
def word_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("course")
    corpus = folder / "course.txt"
    corpus.write_text("\n".join(COURSE * 40) + "\n")
    run_dir = folder / "word"
    train(
        "train-lm",
        corpus,
        "-o",
        run_dir,
        "--tokenizer",
        "word",
        "--max-steps",
        "150",
        "--dropout",
        "0",
        "--lr",
        "0.01",
        *TINY,
    )
    return run_dir


def test_train_lm_writes_a_complete_checkpoint(char_model: Path) -> None:
    names = {p.name for p in char_model.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "metrics.jsonl",
        "run.json",
        "state",
    } <= names
    config = json.loads((char_model / "config.json").read_text())
    assert config["task"] == "lm" and config["tokenizer"]["type"] == "char"
    records = [json.loads(line) for line in (char_model / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "valid" in r] == [15, 30]


def test_sample_generates_num_samples_in_jsonl(run_cli, char_model: Path) -> None:
    result = run_cli(
        "sample", "-m", char_model, "--num", "3", "--max-tokens", "20", "--seed", "1", "--format", "jsonl"
    )
    assert result.status == 0, result.stderr
    samples = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(samples) == 3
    assert all(s["tokens"] == 20 and s["log_prob"] < 0 for s in samples)


def test_sample_is_reproducible_with_a_seed_and_continues_the_prompt(run_cli, char_model: Path) -> None:
    args = ("sample", "-m", char_model, "--prompt", "ROMEO:", "--max-tokens", "30", "--seed", "7")
    first, second = run_cli(*args), run_cli(*args)
    assert first.status == 0 and first.stdout == second.stdout
    assert first.stdout.startswith("ROMEO:")
    other = run_cli(*args[:-1], "8")
    assert other.stdout != first.stdout


def test_score_prefers_the_course_sentence(run_cli, word_model: Path, tmp_path: Path) -> None:
    sentences = tmp_path / "s.txt"
    sentences.write_text("the apple and pear salad is tasty\nthe apple and pair salad is tasty\n")
    result = run_cli("score", "-m", word_model, sentences, "--summary")
    assert result.status == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines() if not line.startswith("#")]
    pear, pair = (float(row[0]) for row in rows)
    assert pear > pair
    assert [int(row[1]) for row in rows] == [8, 8]  # 7 words and <eos>
    assert math.isclose(float(rows[0][2]), math.exp(-pear / 8), rel_tol=1e-3)
    total = result.stdout.splitlines()[-1]
    assert total.startswith("# total:") and f"{pear + pair:.2f}"[:-1] in total


def test_score_agrees_with_the_model_probabilities(run_cli, word_model: Path, tmp_path: Path) -> None:
    from seqcli.tasks.lm_use import load_language_model
    from seqcli.text import EOS_ID

    loaded = load_language_model(word_model, torch.device("cpu"))
    ids = [EOS_ID, *loaded.tokenizer.encode("a pair of shoes"), EOS_ID]
    logits, _ = loaded.model(torch.tensor([ids[:-1]]))
    expected = torch.log_softmax(logits[0], -1).gather(1, torch.tensor(ids[1:])[:, None]).sum().item()
    sentences = tmp_path / "s.txt"
    sentences.write_text("a pair of shoes\n")
    result = run_cli("score", "-m", word_model, sentences, "--format", "jsonl")
    assert json.loads(result.stdout)["log_prob"] == pytest.approx(expected, abs=1e-3)


def test_evaluate_reports_perplexity_and_bits_per_character(
    run_cli, char_model: Path, toy_corpus: Path
) -> None:
    result = run_cli("evaluate", "-m", char_model, toy_corpus, "--format", "jsonl")
    assert result.status == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["ppl"] == pytest.approx(math.exp(figures["loss"]), rel=1e-6)
    assert figures["bpc"] == pytest.approx(figures["loss"] / math.log(2), rel=1e-6)


def test_info_shows_config_and_plots_curves(run_cli, char_model: Path, tmp_path: Path) -> None:
    image = tmp_path / "curves.png"
    result = run_cli("info", "-m", char_model, "--plot", image)
    assert result.status == 0, result.stderr
    assert "lm checkpoint" in result.stdout and "best valid" in result.stdout
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tokenizer_round_trip_and_use_in_train_lm(run_cli, toy_corpus: Path, tmp_path: Path) -> None:
    tok = tmp_path / "tok"
    assert (
        run_cli("train-tokenizer", toy_corpus, "-o", tok, "--type", "bpe", "--vocab-size", "120").status == 0
    )
    ids = run_cli("tokenize", "-m", tok, toy_corpus, "--ids")
    first_line = toy_corpus.read_text().splitlines()[0]
    (tmp_path / "ids.txt").write_text(ids.stdout)
    decoded = run_cli("tokenize", "-m", tok, tmp_path / "ids.txt", "--decode", "--ids")
    assert decoded.stdout.splitlines()[0] == first_line
    result = run_cli(
        "train-lm", toy_corpus, "-o", tmp_path / "lm", "--tokenizer", tok, "--max-steps", "2", *TINY
    )
    assert result.status == 0, result.stderr
    assert json.loads((tmp_path / "lm" / "config.json").read_text())["tokenizer"]["type"] == "bpe"


def _trained_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "state" / "trainer.pt", weights_only=True)["model"]


def test_resume_matches_uninterrupted_run(run_cli, toy_corpus: Path, tmp_path: Path) -> None:
    # The parts end at different --max-steps: a schedule that does not follow the limit
    # (the default cosine anneals to each run's own limit).
    common = [
        toy_corpus,
        "--valid",
        toy_corpus,
        "--dropout",
        "0.3",
        "--seed",
        "3",
        "--schedule",
        "constant",
        *TINY,
    ]
    assert run_cli("train-lm", *common, "-o", tmp_path / "whole", "--max-steps", "12").status == 0
    assert run_cli("train-lm", *common, "-o", tmp_path / "split", "--max-steps", "5").status == 0
    resumed = run_cli("train-lm", *common, "-o", tmp_path / "split", "--max-steps", "12", "--resume")
    assert resumed.status == 0, resumed.stderr
    whole, split = _trained_weights(tmp_path / "whole"), _trained_weights(tmp_path / "split")
    for name, tensor in whole.items():
        torch.testing.assert_close(split[name], tensor, rtol=0, atol=1e-6)
    steps = [
        json.loads(line)["step"] for line in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps == sorted(steps)


def test_use_commands_read_standard_input(run_cli, word_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    def feed(text: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))

    feed("a pair of shoes\n")
    pieces = run_cli("tokenize", "-m", word_model, "-")
    assert pieces.stdout == "a pair of shoes\n"
    feed("a pair of shoes\n")
    ids = run_cli("tokenize", "-m", word_model, "--ids")  # the file defaults to -
    feed(ids.stdout)
    assert run_cli("tokenize", "-m", word_model, "-", "--decode", "--ids").stdout == "a pair of shoes\n"
    feed("a pair of shoes\nthe apple and pear salad is tasty\n")
    scored = run_cli("score", "-m", word_model, "-")
    assert [line.split("\t")[3] for line in scored.stdout.splitlines()] == [
        "a pair of shoes",
        "the apple and pear salad is tasty",
    ]
