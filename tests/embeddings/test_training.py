"""Training word vectors end to end: both backends, resume, limits, the run directory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from seqcli.data.vectors import load_vectors
from seqcli.errors import SeqcliError
from seqcli.tasks.embeddings_loop import EmbeddingTrainer, EmbeddingTraining, TrainingData
from seqcli.tasks.embeddings_train import VocabularyOptions, read_counts, train_embeddings
from seqcli.tasks.training import RunOptions
from tests.embeddings.conftest import TOPIC_A, TOPIC_B

MODEL = {"dim": 16, "window": 3, "negative": 5, "sample": 0.0}


def _train(corpus: Path, run_dir: Path, *, resume: bool = False, given=(), model=None, **training):
    settings = {"epochs": 4, "lr": 0.05, "step_tokens": 4000, **training}
    return train_embeddings(
        corpus,
        run=RunOptions(run_dir, "cpu", 1, overwrite=not resume, resume=resume, quiet=True),
        model={**MODEL, **(model or {})},
        vocabulary=VocabularyOptions(min_count=1),
        training=EmbeddingTraining(**settings),
        given=frozenset(given),
        log=lambda message: None,
    )


def _separation(run_dir: Path) -> float:
    vectors = load_vectors(run_dir)
    unit = vectors.unit()
    a = unit[[vectors.index[w] for w in TOPIC_A]]
    b = unit[[vectors.index[w] for w in TOPIC_B]]
    within = (a @ a.T)[~np.eye(len(a), dtype=bool)].mean()
    return float(within - (a @ b.T).mean())


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
@pytest.mark.parametrize("loss", ["negative", "hierarchical"])
def test_training_separates_the_topics(topics: Path, tmp_path: Path, model: str, loss: str) -> None:
    result = _train(topics, tmp_path / "run", model={"model": model, "loss": loss})
    assert result.stop_reason == "epochs" and result.words == 4 * sum(
        len(line.split()) for line in topics.read_text().splitlines()
    )
    assert _separation(tmp_path / "run") > 0.2


def test_run_directory_holds_config_vocabulary_counts_and_metrics(topics: Path, tmp_path: Path) -> None:
    _train(topics, tmp_path / "run")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["task"] == "embeddings" and config["model"]["dim"] == 16
    counts = read_counts(tmp_path / "run")
    assert counts["the"] == 1500 and set(TOPIC_A) <= set(counts)
    metrics = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert metrics and all("lr" in m and "rate" in m for m in metrics)
    assert metrics[-1]["lr"] < metrics[0]["lr"]


def test_resume_matches_an_uninterrupted_run(topics: Path, tmp_path: Path) -> None:
    _train(topics, tmp_path / "whole")
    stopped = _train(topics, tmp_path / "parts", max_steps=3)
    assert stopped.stop_reason == "max-steps" and stopped.steps == 3
    resumed = _train(topics, tmp_path / "parts", resume=True, given={"max_steps"}, max_steps=100)
    assert resumed.stop_reason == "epochs"
    whole, parts = load_vectors(tmp_path / "whole"), load_vectors(tmp_path / "parts")
    assert whole.words == parts.words
    assert np.array_equal(whole.vectors, parts.vectors)


def test_torch_path_learns_the_same_structure(topics: Path, tmp_path: Path) -> None:
    from seqcli.data.token_cache import token_stream
    from seqcli.models.word2vec import Word2Vec, Word2VecConfig, huffman_tree
    from seqcli.tasks.embeddings_data import build_vocabulary, count_ids, keep_probabilities, noise_table

    tokenizer, _ = build_vocabulary([topics], min_count=1, max_vocab=None, lowercase=False)
    ids = token_stream(topics, tokenizer)
    counts = count_ids(ids, tokenizer.vocab_size)
    for loss in ("negative", "hierarchical"):
        torch.manual_seed(0)
        model = Word2Vec(Word2VecConfig(vocab_size=tokenizer.vocab_size, dim=16, window=3, loss=loss))
        data = TrainingData(ids, keep_probabilities(counts, 0), noise_table(counts), huffman_tree(counts))
        config = EmbeddingTraining(epochs=4, lr=0.05, batch_size=256)
        trainer = EmbeddingTrainer(
            model, data, config, tmp_path, device=torch.device("cpu"), backend="torch", threads=1, quiet=True
        )
        result = trainer.fit()
        unit = torch.nn.functional.normalize(model.input.data, dim=1)
        a = unit[[tokenizer.piece_to_id(w) for w in TOPIC_A]]
        b = unit[[tokenizer.piece_to_id(w) for w in TOPIC_B]]
        assert result.loss is not None and float((a @ a.T).mean() - (a @ b.T).mean()) > 0.3, loss


def test_min_count_that_leaves_too_few_words_says_how_many_survive(topics: Path, tmp_path: Path) -> None:
    with pytest.raises(SeqcliError, match=r"only 0 of 17 distinct words occur at least 100000 times"):
        train_embeddings(
            topics,
            run=RunOptions(tmp_path / "run", "cpu", 1, quiet=True),
            model=MODEL,
            vocabulary=VocabularyOptions(min_count=100_000),
            training=EmbeddingTraining(),
            log=lambda message: None,
        )
