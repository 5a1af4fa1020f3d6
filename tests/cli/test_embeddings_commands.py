"""train-embeddings, embed, export and evaluate on a vectors run, as a user types them."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from seqcli.data.vectors import read_word2vec
from tests.embeddings.conftest import TOPIC_A, topic_corpus

TINY = ["--dim", "12", "--window", "3", "--min-count", "1", "--epochs", "3", "--threads", "1", "--quiet"]


@pytest.fixture(scope="module")
def vectors_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from seqcli.cli.app import main

    root = tmp_path_factory.mktemp("vec")
    corpus = topic_corpus(root / "corpus.txt")
    corpus.write_text(corpus.read_text().replace("a0", "A0", 5))  # mixed case, for --lowercase
    with pytest.raises(SystemExit) as done:
        main(["train-embeddings", str(corpus), "-o", str(root / "run"), "--lowercase", *TINY])
    assert done.value.code in (0, None)
    return root / "run"


def assert_user_error(result, *fragments: str) -> None:
    assert result.status == 2, (result.status, result.stderr)
    assert "Traceback" not in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in message, message


def test_embed_prints_word2vec_text_lines_and_folds_case(run_cli, vectors_run: Path) -> None:
    result = run_cli("embed", "-m", vectors_run, "A1", "b2")
    assert result.status == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["A1", "b2"]
    assert all(len(line.split()) == 13 for line in lines)


def test_unknown_words_are_named_and_the_rest_answered(run_cli, vectors_run: Path) -> None:
    result = run_cli("embed", "-m", vectors_run, "a1", "zzz", "--format", "jsonl")
    assert result.status == 0
    assert [json.loads(line)["word"] for line in result.stdout.splitlines()] == ["a1"]
    assert "zzz" in result.stderr
    assert_user_error(run_cli("embed", "-m", vectors_run, "zzz", "qqq"), "not in the vocabulary: zzz, qqq")


def test_neighbors_come_from_the_same_topic(run_cli, vectors_run: Path) -> None:
    result = run_cli("embed", "-m", vectors_run, "--neighbors", "4", "a1")
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert len(rows) == 4 and all(row[0] == "a1" for row in rows)
    assert sum(row[1] in TOPIC_A for row in rows) >= 3
    scores = [float(row[2]) for row in rows]
    assert scores == sorted(scores, reverse=True)


def test_analogy_takes_three_words(run_cli, vectors_run: Path) -> None:
    result = run_cli("embed", "-m", vectors_run, "--analogy", "a1", "a2", "b1", "--neighbors", "2")
    assert result.status == 0 and len(result.stdout.splitlines()) == 2
    assert_user_error(run_cli("embed", "-m", vectors_run, "--analogy", "a1", "a2"), "three words")
    assert_user_error(run_cli("embed", "-m", vectors_run, "--analogy", "a1", "a2", "zz"), "zz")


def test_sentences_give_one_mean_vector_per_line(run_cli, vectors_run: Path, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a1 a2\nunknown words\nb1\n"))
    result = run_cli("embed", "-m", vectors_run, "--sentences")
    rows = [list(map(float, line.split())) for line in result.stdout.splitlines()]
    assert len(rows) == 3 and all(len(row) == 12 for row in rows)
    assert rows[1] == [0.0] * 12 and "line(s) 2" in result.stderr
    words = {line.split()[0]: np.array(line.split()[1:], float) for line in
             run_cli("embed", "-m", vectors_run, "a1", "a2").stdout.splitlines()}  # fmt: skip
    assert np.allclose(rows[0], (words["a1"] + words["a2"]) / 2, atol=2e-6)


@pytest.mark.parametrize("fmt", ["word2vec-binary", "word2vec-text"])
def test_export_writes_what_the_reader_reads(run_cli, vectors_run: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "v"
    assert run_cli("export", "-m", vectors_run, "--format", fmt, out, "-q").status == 0
    vectors = read_word2vec(out)
    assert vectors.words[0] == "the" and vectors.dim == 12 and len(vectors.words) == 17
    if fmt == "word2vec-binary":
        header, rest = out.read_bytes().split(b"\n", 1)
        assert header == b"17 12" and rest.startswith(b"the ")
        assert struct.unpack("<12f", rest[4:52]) == pytest.approx(vectors.vectors[0].tolist())


def test_evaluate_reports_sections_then_accuracy_and_rho(run_cli, vectors_run: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.txt"
    questions.write_text(": topic-a\na1 a2 a3 a4\na1 a2 zz a4\n: mixed\na1 b1 a2 b2\n")
    pairs = tmp_path / "p.tsv"
    pairs.write_text("# comment\nWord 1\tWord 2\tHuman (mean)\na1\ta2\t9\na1\tb1\t1\nb1\tb2\t8\na2\tzz\t3\n")
    result = run_cli("evaluate", "-m", vectors_run, "--analogies", questions, "--similarity", pairs)
    assert result.status == 0, result.stderr
    lines = result.stdout.splitlines()
    last = lines[-1].split()
    assert last[0] == "analogy_accuracy" and last[2] == "spearman"
    assert any(line.startswith("topic-a") and line.split()[-1] == "1" for line in lines)  # 1 skipped
    assert any("3 pairs scored, 1 with an unknown word skipped" in line for line in lines)


def test_evaluate_needs_analogies_or_similarity(run_cli, vectors_run: Path, tmp_path: Path) -> None:
    assert_user_error(run_cli("evaluate", "-m", vectors_run), "--analogies")
    text = tmp_path / "t.txt"
    text.write_text("a1\n")
    assert_user_error(run_cli("evaluate", "-m", vectors_run, text), "not a data file")


def test_malformed_evaluation_files_name_file_and_line(run_cli, vectors_run: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.txt"
    questions.write_text(": s\na b c d\na b c\n")
    assert_user_error(run_cli("evaluate", "-m", vectors_run, "--analogies", questions), "q.txt:3:", "4 words")
    pairs = tmp_path / "p.tsv"
    pairs.write_text("a\tb\t1\na\tb\tmany\n")
    assert_user_error(
        run_cli("evaluate", "-m", vectors_run, "--similarity", pairs), "p.tsv:2:", "not a number"
    )


def test_min_count_that_keeps_too_few_words(run_cli, tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c a\n")
    result = run_cli("train-embeddings", corpus, "-o", tmp_path / "r", "--min-count", "2", "--quiet")
    assert_user_error(result, "only 1 of 3 distinct words occur at least 2 times")
    assert not (tmp_path / "r").exists()  # nothing written for a start that failed


def test_options_of_other_trainers_are_refused(run_cli, tmp_path: Path) -> None:
    corpus = topic_corpus(tmp_path / "c.txt", sentences=10)
    result = run_cli("train-embeddings", corpus, "-o", tmp_path / "r", "--optimizer", "adam", "--clip", "1")
    assert_user_error(result, "--clip, --optimizer: not used by train-embeddings")


def test_resume_continues_and_refuses_changed_settings(run_cli, tmp_path: Path) -> None:
    corpus = topic_corpus(tmp_path / "c.txt", sentences=200)
    run_dir = tmp_path / "r"
    first = ["--dim", "12", "--window", "3", "--min-count", "1", "--epochs", "1", "--threads", "1", "-q"]
    assert run_cli("train-embeddings", corpus, "-o", run_dir, *first).status == 0
    changed = run_cli("train-embeddings", corpus, "-o", run_dir, "--resume", "--dim", "20", "-q")
    assert_user_error(changed, "--dim 20 (the run has 12)")
    assert run_cli("train-embeddings", corpus, "-o", run_dir, "--resume", "--epochs", "2", "-q").status == 0
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in metrics if "train" in m] == [0, 1]  # one step per epoch, 0-based


@pytest.mark.slow
def test_torchrun_trains_and_resumes_like_an_uninterrupted_run(tmp_path: Path) -> None:
    import subprocess
    import sys

    from seqcli.data.vectors import load_vectors

    corpus = topic_corpus(tmp_path / "c.txt", sentences=3000)
    common = [
        "--dim",
        "12",
        "--window",
        "3",
        "--min-count",
        "1",
        "--sample",
        "0",
        "--threads",
        "1",
        "--device",
        "cpu",
        "-q",
    ]

    def torchrun(*args: object) -> None:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                   "-m", "seqcli", "train-embeddings", str(corpus), *map(str, args), *common]  # fmt: skip
        env = {**__import__("os").environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
        assert done.returncode == 0, done.stderr

    torchrun("-o", tmp_path / "whole", "--epochs", 3)
    torchrun("-o", tmp_path / "parts", "--epochs", 3, "--max-steps", 2)
    torchrun("-o", tmp_path / "parts", "--epochs", 3, "--resume")
    whole, parts = load_vectors(tmp_path / "whole"), load_vectors(tmp_path / "parts")
    assert np.array_equal(whole.vectors, parts.vectors)
    unit = whole.unit()
    a = unit[[whole.index[w] for w in TOPIC_A]]
    b = unit[[whole.index[w] for w in ("b1", "b2", "b3")]]
    assert float((a @ a.T).mean() - (a @ b.T).mean()) > 0.2
