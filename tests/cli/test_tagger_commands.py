"""train-tagger, tag and evaluate end to end on tiny committed files, and their bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from seqcli.cli.app import main
from seqcli.data.words import UNK_ID

DATA = Path(__file__).parents[1] / "data" / "tagging"
TINY = [
    "--layers", "1", "--hidden", "24", "--embedding", "16", "--char-embedding", "8", "--char-hidden", "8",
    "--batch-size", "8", "--dropout", "0", "--word-dropout", "0", "--lr", "0.03", "--quiet", "--threads", "1",
]  # fmt: skip


def train(*args: object) -> None:
    try:
        main(["train-tagger", *map(str, args)])
    except SystemExit as exit_:
        assert exit_.code in (0, None), exit_.code


@pytest.fixture(scope="module")
def ner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("ner") / "run"
    train(
        DATA / "tiny.conll",
        "--valid",
        DATA / "tiny.conll",
        "-o",
        run_dir,
        "--crf",
        "--epochs",
        30,
        "--eval-every",
        30,
        *TINY,
    )
    return run_dir


@pytest.fixture(scope="module")
def pos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("pos") / "run"
    train(
        DATA / "tiny.conllu",
        "--valid",
        DATA / "tiny.conllu",
        "-o",
        run_dir,
        "--epochs",
        30,
        "--eval-every",
        30,
        *TINY,
    )
    return run_dir


def assert_user_error(result, *fragments: str) -> None:
    assert result.status == 2, (result.status, result.stderr)
    assert "Traceback" not in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in message, message


def test_ner_overfits_and_evaluate_prints_f1_first(run_cli, ner: Path) -> None:
    result = run_cli("evaluate", "-m", ner, DATA / "tiny.conll")
    assert result.status == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1].split()
    assert last[0::2] == ["f1", "precision", "recall", "accuracy"]
    assert float(last[1]) == 100.0
    assert "PER" in result.stdout  # the per-type table comes before the figures
    config = json.loads((ner / "config.json").read_text())
    assert config["task"] == "tagger" and config["data"]["scheme"] == "iob2" and config["model"]["crf"]


def test_tag_raw_text_in_every_format(run_cli, ner: Path, tmp_path: Path) -> None:
    text = tmp_path / "in.txt"
    text.write_text("John lives in Paris .\nMary Smith visited Berlin .\n")
    plain = run_cli("tag", "-m", ner, text)
    assert plain.stdout.splitlines()[0] == "John/B-PER lives/O in/O Paris/B-LOC ./O"
    records = [
        json.loads(line) for line in run_cli("tag", "-m", ner, text, "--format", "jsonl").stdout.splitlines()
    ]
    assert records[1]["spans"] == [["PER", 0, 2], ["LOC", 3, 4]]
    assert len(records[1]["scores"]) == 5 and all(0 < s <= 1 for s in records[1]["scores"])
    conll = run_cli("tag", "-m", ner, text, "--format", "conll").stdout.split("\n\n")
    assert conll[0].splitlines()[0] == "John\tB-PER"


def test_tag_conll_keeps_the_layout_and_adds_a_column(run_cli, ner: Path) -> None:
    result = run_cli("tag", "-m", ner, DATA / "tiny.conll")
    lines = result.stdout.splitlines()
    source = (DATA / "tiny.conll").read_text().splitlines()
    assert lines[0] == source[0]  # -DOCSTART- passes through untagged
    tagged = [line for line in lines if line and not line.startswith("-DOCSTART-")]
    assert all(line.split()[2] == line.split()[3] for line in tagged)  # gold == predicted
    assert tagged[0] == "John NNP B-PER B-PER"


def test_pos_tags_conllu_and_writes_it_back(run_cli, pos: Path) -> None:
    evaluated = run_cli("evaluate", "-m", pos, DATA / "tiny.conllu")
    assert evaluated.stdout.strip().split()[:2] == ["accuracy", "100"]
    result = run_cli("tag", "-m", pos, DATA / "tiny.conllu")
    assert result.stdout.splitlines() == (DATA / "tiny.conllu").read_text().splitlines()
    as_conll = run_cli("tag", "-m", pos, DATA / "tiny.conllu", "--format", "conll").stdout.splitlines()
    assert as_conll[:2] == ["I\tPRON", "like\tVERB"] and as_conll[5] == ""
    as_conllu = run_cli("tag", "-m", pos, DATA / "tiny.conll", "--format", "conllu").stdout.splitlines()
    fields = as_conllu[0].split("\t")
    assert len(fields) == 10 and fields[:2] == ["1", "John"] and fields[3] != "_"  # UPOS filled in


def test_tag_reads_standard_input(run_cli, ner: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"Anna likes Rome\n")))
    assert run_cli("tag", "-m", ner).stdout == "Anna/B-PER likes/O Rome/B-LOC\n"


def test_without_valid_a_seeded_tenth_is_held_out_and_said(run_cli, tmp_path: Path) -> None:
    result = run_cli("train-tagger", DATA / "tiny.conll", "-o", tmp_path / "r", "--epochs", "1", *TINY)
    assert result.status == 0, result.stderr
    assert "holding out a fixed, seeded 10%" in result.stderr
    assert json.loads((tmp_path / "r" / "config.json").read_text())["data"]["held_out"]


# Bad input: file:line, exit 2, nothing written --------------------------------------------------


def bad_file(tmp_path: Path, text: str, name: str = "bad.conll") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("A NNP B-PER\nB I-PER\n", ["bad.conll:2", "ragged rows"]),
        ("A NNP B-PER\nB NNP X-PER\n", ["bad.conll:1", "'X-PER'", "not valid in iob2"]),
    ],
)
def test_bad_training_data_writes_nothing(run_cli, tmp_path: Path, text: str, fragments: list[str]) -> None:
    result = run_cli(
        "train-tagger", bad_file(tmp_path, text), "-o", tmp_path / "r", "--scheme", "iob2", *TINY
    )
    assert_user_error(result, *fragments)
    assert not (tmp_path / "r").exists()


def test_scheme_breaking_tags_are_repaired_with_a_count_or_refused_with_strict(
    run_cli, tmp_path: Path
) -> None:
    path = bad_file(tmp_path, "A NNP O\nB NNP I-PER\nC NNP I-PER\n\nD NNP B-LOC\n\nE NNP I-LOC\n")
    refused = run_cli(
        "train-tagger", path, "--valid", path, "-o", tmp_path / "s", "--scheme", "iob2", "--strict", *TINY
    )
    assert_user_error(refused, "bad.conll:1", "break the iob2 scheme")
    assert not (tmp_path / "s").exists()
    repaired = run_cli(
        "train-tagger",
        path,
        "--valid",
        path,
        "-o",
        tmp_path / "r",
        "--scheme",
        "iob2",
        "--epochs",
        "1",
        *TINY,
    )
    assert repaired.status == 0, repaired.stderr
    assert "repaired 2 tags in 2 sentences that break the iob2 scheme" in repaired.stderr


def test_tag_refuses_an_empty_sentence_and_writes_nothing(run_cli, ner: Path, tmp_path: Path) -> None:
    result = run_cli("tag", "-m", ner, bad_file(tmp_path, "John lives here\n\nMary too\n", "in.txt"))
    assert_user_error(result, "in.txt:2", "no tokens")
    assert result.stdout == ""


def test_conllu_sentence_without_words(run_cli, tmp_path: Path) -> None:
    path = bad_file(tmp_path, "# sent_id = 1\n# text = nothing\n\n", "bad.conllu")
    assert_user_error(run_cli("train-tagger", path, "-o", tmp_path / "r", *TINY), "bad.conllu:1", "no words")


def test_evaluate_names_tags_never_seen_in_training(run_cli, ner: Path, tmp_path: Path) -> None:
    path = bad_file(tmp_path, "John NNP B-PER\nlives NNP O\nin NNP O\nMars NNP B-PLANET\n")
    result = run_cli("evaluate", "-m", ner, path)
    assert result.status == 0, result.stderr
    assert "tags never seen in training, counted as wrong: B-PLANET (1)" in result.stderr
    figures = result.stdout.strip().splitlines()[-1].split()
    assert float(figures[figures.index("recall") + 1]) == 50.0


def test_resume_continues_with_the_runs_own_settings(run_cli, tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    data = DATA / "tiny.conll"
    first = run_cli("train-tagger", data, "--valid", data, "-o", run_dir, "--epochs", "1", *TINY)
    assert first.status == 0, first.stderr
    refused = run_cli("train-tagger", data, "--valid", data, "-o", run_dir, "--resume", "--hidden", "8")
    assert_user_error(refused, "keeps its own model and data settings", "--hidden")
    resumed = run_cli(
        "train-tagger", data, "--valid", data, "-o", run_dir, "--resume", "--epochs", "2", "--quiet"
    )
    assert resumed.status == 0, resumed.stderr
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records if "valid" in r] == [1, 2]  # epoch 1 was not trained again


def test_defaults_are_the_benchmarked_recipe(run_cli, tmp_path: Path) -> None:
    run_dir, data = tmp_path / "r", DATA / "tiny.conll"
    trained = run_cli("train-tagger", data, "--valid", data, "-o", run_dir, "--max-steps", "1", "--quiet")
    assert trained.status == 0, trained.stderr
    config = json.loads((run_dir / "config.json").read_text())
    model = {k: config["model"][k] for k in ("num_layers", "hidden_size", "dropout")}
    chars = (config["model"]["char_embedding_dim"], config["model"]["char_hidden_size"])
    assert (model, chars) == ({"num_layers": 2, "hidden_size": 200, "dropout": 0.33}, (100, 200))
    assert (config["data"]["word_dropout"], config["data"]["case_fallback"]) == (0.25, True)
    assert config["training"]["betas"] == [0.9, 0.9]


@pytest.mark.parametrize(
    ("trained_with", "section", "key"),
    [
        ([], "data", "word_dropout"),  # TINY trains without it; the default is now 0.25
        (["--betas", "0.9", "0.999"], "training", "betas"),  # train-tagger's default is now 0.9 0.9
    ],
    ids=["word_dropout", "betas"],
)
def test_a_run_saved_before_an_option_existed_resumes_as_it_trained(
    run_cli, tmp_path: Path, trained_with: list[str], section: str, key: str
) -> None:
    data = DATA / "tiny.conll"
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    for run_dir, epochs in ((whole, "2"), (parts, "1")):
        args = ["--valid", data, "-o", run_dir, "--epochs", epochs, *TINY, *trained_with]
        trained = run_cli("train-tagger", data, *args)
        assert trained.status == 0, trained.stderr
    config_path = parts / "config.json"
    config = json.loads(config_path.read_text())
    del config[section][key]  # as a run saved before the option existed
    config_path.write_text(json.dumps(config))
    # One thread, as in training: a different thread count sums in another order (last bits differ).
    resume = ["--resume", "--epochs", "2", "-q", "--threads", "1"]
    resumed = run_cli("train-tagger", data, "--valid", data, "-o", parts, *resume)
    assert resumed.status == 0, resumed.stderr
    # The last weights (the saved model is the best epoch, which may be the first).
    weights = [torch.load(run_dir / "state" / "trainer.pt")["model"] for run_dir in (whole, parts)]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_locked_dropout_is_saved_with_the_model_and_tags(run_cli, tmp_path: Path) -> None:
    run_dir, data = tmp_path / "r", DATA / "tiny.conll"
    args = ["--valid", data, "-o", run_dir, "--epochs", "1", *TINY, "--locked-dropout", "--dropout", "0.3"]
    trained = run_cli("train-tagger", data, *args)  # the last --dropout counts
    assert trained.status == 0, trained.stderr
    model = json.loads((run_dir / "config.json").read_text())["model"]
    assert model["locked_dropout"] is True and model["dropout"] == 0.3
    assert len(run_cli("tag", "-m", run_dir, data).stdout.splitlines()) == len(data.read_text().splitlines())


def test_case_fallback_changes_no_training_word_and_reads_unseen_case_variants(
    run_cli, tmp_path: Path
) -> None:
    import safetensors.torch

    data = DATA / "tiny.conll"
    runs = {flag: tmp_path / flag for flag in ("--case-fallback", "--no-case-fallback")}
    for flag, run_dir in runs.items():
        trained = run_cli("train-tagger", data, "--valid", data, "-o", run_dir, "--epochs", "2", flag, *TINY)
        assert trained.status == 0, trained.stderr
    weights = [safetensors.torch.load_file(run_dir / "model.safetensors") for run_dir in runs.values()]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])  # the same training

    from seqcli.tasks.tagger import load_tagger

    on, off = (load_tagger(run_dir) for run_dir in runs.values())
    sentence = [["JOHN", "lives", "in", "PARIS", "Xyzzy"]]
    assert on.encode(sentence).words[0].tolist() == [
        *on.words.encode(["John", "lives", "in", "Paris"]),
        UNK_ID,
    ]
    assert off.encode(sentence).words[0].tolist() == [
        UNK_ID,
        off.words.id("lives"),
        off.words.id("in"),
        UNK_ID,
        UNK_ID,
    ]
    # A run saved before the option existed keeps reading unseen forms as <unk>.
    config_path = runs["--case-fallback"] / "config.json"
    config = json.loads(config_path.read_text())
    del config["data"]["case_fallback"]
    config_path.write_text(json.dumps(config))
    assert load_tagger(runs["--case-fallback"]).encode(sentence).words[0].tolist()[0] == UNK_ID


def test_word_dropout_outside_zero_one_is_refused_before_anything_is_written(run_cli, tmp_path: Path) -> None:
    path = bad_file(tmp_path, "John NNP B-PER\nlives VBZ O\n")
    result = run_cli("train-tagger", path, "-o", tmp_path / "r", *TINY, "--word-dropout", "1")
    assert_user_error(result, "--word-dropout must be in [0, 1), got 1.0")
    assert not (tmp_path / "r").exists()
