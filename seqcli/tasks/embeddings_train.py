"""``seqcli train-embeddings``: vocabulary, cached ids, counts, then the word2vec loop.

On ``--resume`` the run directory decides the vocabulary, model and training settings;
only the stopping limits given on the command line replace the saved ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqcli.atomic import atomic_write_text
from seqcli.errors import SeqcliError
from seqcli.models.word2vec import Word2Vec, Word2VecConfig, huffman_tree
from seqcli.tasks.embeddings_data import build_vocabulary, count_ids, keep_probabilities, noise_table
from seqcli.tasks.embeddings_loop import EmbeddingTrainer, EmbeddingTraining, TrainingData, Word2VecResult
from seqcli.tasks.training import RunOptions, TrainingSession
from seqcli.text import load_tokenizer
from seqcli.train import checkpoint

__all__ = ["TASK", "VOCAB_FILE", "VocabularyOptions", "train_embeddings"]

TASK = "embeddings"
VOCAB_FILE = "vocab.txt"  # "word count" per line, as word2vec's -save-vocab


@dataclass(frozen=True)
class VocabularyOptions:
    min_count: int = 5
    max_vocab: int | None = None
    lowercase: bool = False


def train_embeddings(
    corpus: Path,
    *,
    run: RunOptions,
    model: dict[str, Any],
    vocabulary: VocabularyOptions,
    training: EmbeddingTraining,
    limits: dict[str, Any],
    encoding_errors: str = "strict",
    log=print,
) -> Word2VecResult:
    """Train word vectors on ``corpus`` into ``run.run_dir``. ``model`` holds Word2VecConfig
    fields except vocab_size; ``limits`` the stopping limits given explicitly (they win on
    resume); ``log`` receives progress messages."""
    session = TrainingSession(run)
    saved = session.saved_config()
    if saved is not None:
        _check_task(session.run_dir, saved)
        tokenizer = load_tokenizer(session.run_dir)
        config = Word2VecConfig(**saved["model"])
        training = replace(EmbeddingTraining(**saved["training"]), **limits)
    else:
        tokenizer, report = build_vocabulary(
            [corpus], min_count=vocabulary.min_count, max_vocab=vocabulary.max_vocab,
            lowercase=vocabulary.lowercase, encoding_errors=encoding_errors,
        )  # fmt: skip
        log(report.describe())
        try:
            config = Word2VecConfig(vocab_size=tokenizer.vocab_size, **model)
        except ValueError as err:
            raise SeqcliError(str(err)) from None
        training = replace(training, **limits)
        if session.dist.is_main:
            tokenizer.save(session.run_dir)
        session.write_config(_config_record(config, vocabulary, report, training, corpus, encoding_errors))
    ids = session.encode(corpus, tokenizer, encoding_errors=encoding_errors)
    counts = count_ids(ids, tokenizer.vocab_size)
    if counts.sum() == 0:
        raise SeqcliError(f"{corpus}: no words of the vocabulary in the corpus")
    if saved is None and session.dist.is_main:
        _write_counts(session.run_dir, tokenizer, counts)
    data = TrainingData(
        ids=ids,
        keep=keep_probabilities(counts, config.sample),
        noise=noise_table(counts),
        tree=huffman_tree(counts) if config.loss == "hierarchical" else huffman_tree(counts[:1]),
    )
    torch.manual_seed(training.seed)  # the initial vectors are part of what --seed fixes
    trainer = EmbeddingTrainer(
        Word2Vec(config), data, training, session.run_dir,
        device=session.device, backend="torch" if session.device.type == "cuda" else "kernel",
        threads=run.threads or torch.get_num_threads(), dist=session.dist, quiet=run.quiet,
    )  # fmt: skip
    return trainer.fit(resume=run.resume)


def _check_task(run_dir: Path, config: dict[str, Any]) -> None:
    if config.get("task") != TASK:
        raise SeqcliError(
            f"{run_dir}: a '{config.get('task')}' run, not a vectors run; cannot resume it here"
        )


def _config_record(config, vocabulary, report, training, corpus, encoding_errors) -> dict[str, Any]:
    return {
        "task": TASK,
        "model": asdict(config),
        "tokenizer": {"type": "word", "lowercase": vocabulary.lowercase},
        "vocabulary": {**asdict(vocabulary), "distinct": report.distinct, "kept": report.kept},
        "training": asdict(training),
        "corpus": {"train": str(corpus), "encoding_errors": encoding_errors},
    }


def _write_counts(run_dir: Path, tokenizer, counts: np.ndarray) -> None:
    lines = (f"{tokenizer.id_to_piece(i)} {int(counts[i])}\n" for i in range(4, tokenizer.vocab_size))
    atomic_write_text(run_dir / VOCAB_FILE, "".join(lines))


def read_counts(run_dir: Path) -> dict[str, int]:
    """Word counts of a vectors run (from ``vocab.txt``)."""
    path = run_dir / VOCAB_FILE
    if not path.is_file():
        raise SeqcliError(f"{path}: missing; not a vectors run")
    counts = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        word, _, count = line.rpartition(" ")
        if not word or not count.isdigit():
            raise SeqcliError(f"{path}:{lineno}: expected 'word count'; the file is damaged")
        counts[word] = int(count)
    return counts


def read_vectors_config(run_dir: Path) -> dict[str, Any]:
    """config.json of a vectors run; SeqcliError for any other run."""
    return checkpoint.read_config(run_dir, task=TASK)
