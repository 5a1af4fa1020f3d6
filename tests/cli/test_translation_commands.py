"""train-translator, translate and evaluate for translators, through the CLI in-process."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from seqcli.cli.app import main

DATA = Path(__file__).parents[1] / "data" / "translation"
TINY = ["--vocab-size", "60", "--hidden", "32", "--embedding", "16", "--threads", "1", "--quiet"]


def run(capsys, *args, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8"))))
    capsys.readouterr()
    try:
        main([str(a) for a in args])
        status = 0
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 0
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """One small translator trained on the toy corpus (two files, Bahdanau attention)."""
    directory = tmp_path_factory.mktemp("mt") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEQCLI_CACHE_DIR", str(tmp_path_factory.mktemp("mt-cache")))
        try:
            main(
                [
                    "train-translator",
                    str(DATA / "train.de"),
                    str(DATA / "train.en"),
                    "--valid",
                    str(DATA / "valid.de"),
                    str(DATA / "valid.en"),
                    "-o",
                    str(directory),
                    "--epochs",
                    "3",
                    "--lr",
                    "0.01",
                    *TINY,
                ]
            )
        except SystemExit as exit_:
            assert exit_.code == 0
    return directory


def test_train_translator_saves_both_tokenizers_and_selects_on_bleu(run_dir):
    config = json.loads((run_dir / "config.json").read_text())
    assert config["task"] == "translation" and config["model"]["attention"] == "bahdanau"
    for side in ("source-tokenizer", "target-tokenizer"):
        assert (run_dir / side / "tokenizer.model").is_file()
    validations = [
        json.loads(line)["valid"]
        for line in (run_dir / "metrics.jsonl").read_text().splitlines()
        if "valid" in line
    ]
    assert len(validations) == 3 and all("bleu" in v and "loss" in v for v in validations)


def test_translate_streams_a_line_out_for_each_line_in(run_dir, capsys, monkeypatch):
    lines = ["ein hund läuft im schnee .", "", "   ", "eine katze sitzt auf der bank .", "北京 ünbekannt ☃"]
    status, out, err = run(
        capsys,
        "translate",
        "-m",
        run_dir,
        "--beam",
        "3",
        stdin="\n".join(lines) + "\n",
        monkeypatch=monkeypatch,
    )
    assert status == 0, err
    outputs = out.split("\n")[:-1]
    assert len(outputs) == len(lines)
    assert [bool(o.strip()) for o in outputs] == [True, False, False, True, bool(outputs[4].strip())]
    assert outputs[1] == outputs[2] == ""


def test_translate_batching_does_not_change_the_output(run_dir, capsys, monkeypatch):
    lines = (DATA / "valid.de").read_text().splitlines()[:10]
    one = run(
        capsys,
        "translate",
        "-m",
        run_dir,
        "--batch-size",
        "1",
        stdin="\n".join(lines),
        monkeypatch=monkeypatch,
    )
    many = run(
        capsys,
        "translate",
        "-m",
        run_dir,
        "--batch-size",
        "7",
        stdin="\n".join(lines),
        monkeypatch=monkeypatch,
    )
    assert one[0] == many[0] == 0
    assert one[1] == many[1] and len(one[1].splitlines()) == 10


def test_translate_jsonl_gives_nbest_lists_and_attention_weights(run_dir, capsys):
    status, out, err = run(
        capsys,
        "translate",
        "-m",
        run_dir,
        "--format",
        "jsonl",
        "--nbest",
        "3",
        "--beam",
        "4",
        "--attention-weights",
        "ein hund läuft im park .",
    )
    assert status == 0, err
    record = json.loads(out)
    scores = [c["score"] for c in record["nbest"]]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    assert record["translation"] == record["nbest"][0]["translation"]
    weights = record["attention"]
    assert len(weights) == len(record["pieces"]) and record["pieces"][-1] == "<eos>"
    assert all(len(row) == len(record["source_pieces"]) for row in weights)
    assert all(abs(sum(row) - 1) < 1e-2 for row in weights)


def test_greedy_and_length_penalty_options(run_dir, capsys):
    greedy = run(capsys, "translate", "-m", run_dir, "--greedy", "--format", "jsonl", "ein mann sitzt .")
    beam_one = run(capsys, "translate", "-m", run_dir, "--beam", "1", "--format", "jsonl", "ein mann sitzt .")
    assert greedy[0] == beam_one[0] == 0
    assert json.loads(greedy[1])["translation"] == json.loads(beam_one[1])["translation"]


def test_attention_plot_is_drawn(run_dir, capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "attn.png"
    status, out, err = run(
        capsys, "translate", "-m", run_dir, "--attention-plot", path, "ein hund läuft im schnee ."
    )
    assert status == 0, err
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.strip()


def test_long_lines_are_truncated_with_a_warning_counting_them(run_dir, capsys, monkeypatch):
    lines = "ein hund läuft im schnee .\nein\neine kleine katze sitzt auf der bank .\n"
    status, out, err = run(
        capsys,
        "translate",
        "-m",
        run_dir,
        "--max-source-tokens",
        "4",
        "--format",
        "jsonl",
        stdin=lines,
        monkeypatch=monkeypatch,
    )
    assert status == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [r.get("truncated", False) for r in records] == [True, False, True]
    assert "2 line(s) longer than --max-source-tokens 4" in " ".join(err.split())


def test_evaluate_prints_signatures_then_bleu_and_chrf(run_dir, capsys, tmp_path):
    status, out, err = run(capsys, "evaluate", "-m", run_dir, DATA / "valid.de", DATA / "valid.en")
    assert status == 0, err
    lines = out.splitlines()
    assert re.fullmatch(r"bleu \d+(\.\d+)?  chrf \d+(\.\d+)?", lines[-1])
    assert "signature" in lines[-2] and "nrefs:1" in lines[-3]
    tsv = tmp_path / "valid.tsv"
    de, en = (DATA / "valid.de").read_text().splitlines(), (DATA / "valid.en").read_text().splitlines()
    tsv.write_text("".join(f"{s}\t{t}\n" for s, t in zip(de, en, strict=True)))
    assert run(capsys, "evaluate", "-m", run_dir, tsv)[1].splitlines()[-1] == lines[-1]


def test_evaluate_searches_as_told_and_refuses_a_speech_option(run_dir, capsys, monkeypatch):
    """evaluate --beam 1 scores exactly what translate --greedy writes."""
    import sacrebleu

    source, references = (DATA / "valid.de").read_text(), (DATA / "valid.en").read_text().splitlines()
    status, out, err = run(
        capsys, "translate", "-m", run_dir, "--greedy", stdin=source, monkeypatch=monkeypatch
    )
    assert status == 0, err
    expected = sacrebleu.BLEU().corpus_score(out.splitlines(), [references]).score
    data = (DATA / "valid.de", DATA / "valid.en")
    status, out, err = run(capsys, "evaluate", "-m", run_dir, *data, "--beam", 1, "--batch-size", 3)
    assert status == 0, err
    assert float(out.splitlines()[-1].split()[1]) == pytest.approx(expected, abs=1e-4)
    status, _, err = run(capsys, "evaluate", "-m", run_dir, *data, "--lexicon", DATA / "valid.en")
    assert status == 2 and "--lexicon: not an option for evaluating a translator" in err


def test_tsv_training_with_a_joint_vocabulary_and_no_attention(tmp_path, capsys):
    run_dir = tmp_path / "run"
    status, _, err = run(
        capsys,
        "train-translator",
        DATA / "pairs.tsv",
        "--valid",
        DATA / "pairs.tsv",
        "-o",
        run_dir,
        "--joint-vocab",
        "--attention",
        "none",
        "--max-steps",
        "2",
        *TINY,
    )
    assert status == 0, err
    source = (run_dir / "source-tokenizer" / "tokenizer.model").read_bytes()
    assert source == (run_dir / "target-tokenizer" / "tokenizer.model").read_bytes()
    status, _, err = run(
        capsys, "translate", "-m", run_dir, "--attention-plot", tmp_path / "a.png", "ein hund ."
    )
    assert status == 2 and "no attention" in err


def test_resume_continues_a_run_and_refuses_a_different_model(tmp_path, capsys):
    run_dir = tmp_path / "run"
    first = ["train-translator", DATA / "pairs.tsv", "-o", run_dir, *TINY]
    assert run(capsys, *first, "--max-steps", "1")[0] == 0
    status, _, err = run(capsys, *first, "--resume", "--max-steps", "2", "--hidden", "48")
    assert status == 2 and "--hidden 48 (the run has 32)" in " ".join(err.split())
    status, _, err = run(capsys, *first, "--resume", "--max-steps", "2")
    assert status == 0, err
    steps = [json.loads(line).get("step") for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert max(steps) == 2


def test_tokenizers_from_train_tokenizer_are_used_for_both_sides(tmp_path, capsys):
    source_dir, target_dir = tmp_path / "tok-de", tmp_path / "tok-en"
    for corpus, directory in ((DATA / "train.de", source_dir), (DATA / "train.en", target_dir)):
        status, _, err = run(capsys, "train-tokenizer", corpus, "-o", directory, "--vocab-size", "50")
        assert status == 0, err
    run_dir = tmp_path / "run"
    status, _, err = run(
        capsys, "train-translator", DATA / "train.de", DATA / "train.en", "-o", run_dir, "--max-steps", "1",
        *TINY, "--tokenizer", source_dir, "--target-tokenizer", target_dir,
    )  # fmt: skip
    assert status == 0, err
    for side, given in (("source-tokenizer", source_dir), ("target-tokenizer", target_dir)):
        assert (run_dir / side / "tokenizer.model").read_bytes() == (given / "tokenizer.model").read_bytes()
    assert json.loads((run_dir / "config.json").read_text())["model"]["target_vocab_size"] == 50


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--valid", DATA / "pairs.tsv"], "same form as the training data"),
        (["--tokenizer", "nonsense"], "neither bpe, unigram nor a directory"),
        (["--hidden", "33"], "--hidden must be an even number"),
    ],
)
def test_bad_training_options_fail_before_the_run_directory_is_written(tmp_path, capsys, args, message):
    run_dir = tmp_path / "run"
    status, _, err = run(
        capsys, "train-translator", DATA / "train.de", DATA / "train.en", "-o", run_dir, *TINY, *args
    )
    assert status == 2 and message in " ".join(err.split())
    assert not run_dir.exists()


def test_misaligned_files_name_both_line_counts(tmp_path, capsys):
    short = tmp_path / "short.en"
    short.write_text("".join((DATA / "train.en").read_text().splitlines(keepends=True)[:200]))
    status, _, err = run(capsys, "train-translator", DATA / "train.de", short, "-o", tmp_path / "run", *TINY)
    assert status == 2
    assert "has 240 lines but" in err and "has 200" in err


def test_a_pair_blank_on_one_side_is_an_error_naming_the_line(tmp_path, capsys):
    target = tmp_path / "train.en"
    lines = (DATA / "train.en").read_text().splitlines()
    lines[4] = ""
    target.write_text("\n".join(lines) + "\n")
    status, _, err = run(capsys, "train-translator", DATA / "train.de", target, "-o", tmp_path / "run", *TINY)
    assert status == 2 and f"{target}:5: empty target sentence" in err


def test_translate_refuses_nbest_in_text_output(run_dir, capsys):
    status, _, err = run(capsys, "translate", "-m", run_dir, "--nbest", "2", "ein hund .")
    assert status == 2 and "--format jsonl" in err
