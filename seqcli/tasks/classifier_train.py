"""``seqcli train-classifier``: read and check the TSV data, build vocabulary and model, train.

Every input is read and checked before the run directory is touched (an empty field, a
missing column or a header name not in the header stops the command with ``file:line``).
Without ``--valid`` a fixed, seeded 10% of the training examples is held out for model
selection, and the command says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqcli.data.labels import LabelVocabulary
from seqcli.data.words import WordVocabulary
from seqcli.errors import SeqcliError
from seqcli.models.classifier import Classifier, ClassifierConfig
from seqcli.tasks.classifier import TASK, ClassifierTask, Columns, encode_texts, read_examples
from seqcli.tasks.pretrained import load_initial_embeddings, read_vectors, with_embedding_size
from seqcli.tasks.resume import open_session, saved_fields
from seqcli.tasks.tagger_data import hold_out_for_selection
from seqcli.tasks.training import RunOptions, check_model_options, data_fingerprint
from seqcli.train.trainer import TrainConfig, TrainResult

__all__ = ["ClassifierData", "train_classifier"]

MODEL_OPTIONS = {
    "embedding_dim": "--embedding",
    "hidden_size": "--hidden",
    "num_layers": "--layers",
    "dropout": "--dropout",
}


@dataclass(frozen=True)
class ClassifierData:
    """The data options of ``train-classifier`` (``config.json`` section ``data``)."""

    label_column: str = "0"
    text_column: str = "1"
    min_count: int = 1
    batch_size: int = 32
    class_weights: bool = False
    embeddings: Path | None = None
    encoding_errors: str = "strict"

    def check(self) -> None:
        for option, value in (("--min-count", self.min_count), ("--batch-size", self.batch_size)):
            if value < 1:
                raise SeqcliError(f"{option} must be at least 1, got {value}")

    @property
    def columns(self) -> Columns:
        return Columns(self.label_column, self.text_column)


def train_classifier(
    train: Path,
    valid: Path | None,
    *,
    run: RunOptions,
    model: dict[str, Any],
    data: ClassifierData,
    training: TrainConfig,
    warn: Callable[[str], None],
    given: frozenset[str] = frozenset(),
    task_options_given: Sequence[str] = (),
) -> TrainResult:
    """Train a classifier into ``run.run_dir``; ``model`` holds ClassifierConfig fields other
    than the vocabulary and class counts. ``--resume`` keeps the run's own settings and
    vocabularies, as for the tagger (:func:`seqcli.tasks.tagger_train.train_tagger`)."""
    data.check()
    check_model_options(model, MODEL_OPTIONS)
    session, saved, training = open_session(
        run, train, (valid, data.embeddings), training, given=given, task_options_given=task_options_given
    )
    if saved is not None:
        data = ClassifierData(**saved_fields(ClassifierData, saved["data"]))
    train_examples = read_examples(train, data.columns, encoding_errors=data.encoding_errors)
    if valid is not None:
        valid_examples = read_examples(valid, data.columns, encoding_errors=data.encoding_errors)
    else:
        train_examples, valid_examples = hold_out_for_selection(
            train_examples, training.seed, train, "examples", warn
        )
    if saved is not None:
        labels = LabelVocabulary.load(run.run_dir, "labels")
    else:
        labels = LabelVocabulary.from_labels(e.label for e in train_examples)
    if len(labels) < 2:
        raise SeqcliError(f"{train}: only one label ({labels.labels[0]}); a classifier needs at least two")
    unseen = Counter(e.label for e in valid_examples if e.label not in labels)
    if unseen:
        listed = ", ".join(f"{label} ({n})" for label, n in unseen.most_common())
        warn(f"{valid or train}: labels never seen in training, counted as wrong: {listed}")

    counts = Counter(word for e in train_examples for word in e.text.split())
    vectors = read_vectors(data.embeddings) if data.embeddings is not None and saved is None else None
    if saved is not None:
        words = WordVocabulary(LabelVocabulary.load(run.run_dir, "words").labels)
        model_config = ClassifierConfig(**saved["model"])
    else:
        words = WordVocabulary.from_counts(
            counts, min_count=data.min_count, extra=vectors[0] if vectors else ()
        )
        model_config = ClassifierConfig(
            vocab_size=len(words), num_classes=len(labels), **with_embedding_size(model, vectors, default=300)
        )
    train_labels = np.array(labels.encode(e.label for e in train_examples), dtype=np.int64)
    # An unseen validation label gets the id -1: no prediction ever equals it.
    valid_labels = np.array([labels.index(e.label) if e.label in labels else -1 for e in valid_examples])
    task = ClassifierTask(
        encode_texts([e.text for e in train_examples], words),
        train_labels,
        encode_texts([e.text for e in valid_examples], words),
        valid_labels,
        len(labels),
        batch_size=data.batch_size,
        seed=training.seed,
        class_weights=_balanced(train_labels, len(labels)) if data.class_weights else None,
        dist=session.dist,
    )
    record = {
        "task": TASK,
        "model": asdict(model_config),
        "data": {
            **asdict(data),
            "embeddings": str(data.embeddings) if data.embeddings else None,
            "train": str(train),
            "valid": str(valid) if valid else None,
            "held_out": valid is None,
        },
        "training": asdict(training),
        "data_files": {"train": data_fingerprint(train)},
    }
    torch.manual_seed(training.seed)  # the initial weights are part of what --seed fixes
    network = Classifier(model_config)
    if vectors is not None:
        load_initial_embeddings(network.embedding, words.items, vectors, seed=training.seed, warn=warn)
    session.begin(record)
    if session.dist.is_main and saved is None:
        labels.save(run.run_dir, "labels")
        LabelVocabulary(words.items).save(run.run_dir, "words")
    return session.train(task, network, training)


def _balanced(labels: np.ndarray, num_classes: int) -> torch.Tensor:
    """Class k weighs ``N / (K N_k)``: every class carries the same total weight."""
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    return torch.tensor(len(labels) / (num_classes * np.maximum(counts, 1)), dtype=torch.float32)
