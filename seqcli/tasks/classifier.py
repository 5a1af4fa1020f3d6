"""The classifier task: labelled TSV in, batches and loss for the Trainer, prediction out.

Examples come from ``label<TAB>text`` lines (:mod:`seqcli.data.tsv`); columns are picked
by 0-based index or by header name, and a name means the first line is a header. Text is
split on whitespace; the word vocabulary comes from the training texts' counts with
``<pad>`` = 0 and ``<unk>`` = 1. The loss is the cross-entropy summed over the batch with
the number of sentences as normaliser; with class weights (``--class-weights``: class k
weighs ``N / (K N_k)``, King & Zeng 2001's "balanced" weighting as scikit-learn names it)
the normaliser is the summed weight, so the loss stays a weighted mean. The selection
metric is accuracy in percent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqcli.data.batching import BucketBatches, pad
from seqcli.data.corpus import iter_lines
from seqcli.data.labels import LabelVocabulary
from seqcli.data.tsv import LabelledText, read_labelled
from seqcli.data.words import WordVocabulary
from seqcli.errors import SeqcliError
from seqcli.metrics.classification import accuracy, confusion_matrix, macro_f1
from seqcli.models.classifier import Classifier, ClassifierConfig
from seqcli.tasks.registry import Metric
from seqcli.train import checkpoint
from seqcli.train.distributed import DistContext
from seqcli.train.trainer import TaskBase

__all__ = [
    "TASK",
    "ClassifierTask",
    "Columns",
    "LoadedClassifier",
    "class_scores",
    "gold_matrix",
    "load_classifier",
    "predict",
    "read_examples",
]

TASK = "classifier"
PREDICT_TOKENS = 16384


@dataclass(frozen=True)
class Columns:
    """``--label-column`` and ``--text-column`` as typed: indices, or header names."""

    label: str = "0"
    text: str = "1"

    def resolve(self, path: Path, encoding_errors: str = "strict") -> tuple[int, int, bool]:
        """``(label index, text index, header)`` for ``path``; a name is looked up in its
        first line, which is then a header."""
        if self.label.isdigit() and self.text.isdigit():
            return int(self.label), int(self.text), False
        first = next(iter_lines(path, encoding_errors=encoding_errors), "")
        header = [name.strip() for name in first.split("\t")]
        indices = []
        for option, spec in (("--label-column", self.label), ("--text-column", self.text)):
            if spec.isdigit():
                indices.append(int(spec))
            elif spec in header:
                indices.append(header.index(spec))
            else:
                raise SeqcliError(f"{path}:1: {option} {spec!r} is not in the header ({', '.join(header)})")
        return indices[0], indices[1], True


def read_examples(path: Path, columns: Columns, *, encoding_errors: str = "strict") -> list[LabelledText]:
    """Every example of a TSV file; SeqcliError (file:line) for bad input."""
    label, text, header = columns.resolve(path, encoding_errors)
    examples = list(
        read_labelled(
            path, label_column=label, text_column=text, header=header, encoding_errors=encoding_errors
        )
    )
    if not examples:
        raise SeqcliError(f"{path}: no examples")
    return examples


def gold_matrix(gold: Sequence[int], predicted: Sequence[int], num_classes: int) -> list[list[int]]:
    """The confusion matrix, with one more row (and column) for gold labels never seen in
    training (id -1) when there are any: they count as wrong, and as a class in macro-F1."""
    unseen = any(g < 0 for g in gold)
    size = num_classes + unseen
    return confusion_matrix([g if g >= 0 else num_classes for g in gold], list(predicted), size)


def class_scores(matrix: Sequence[Sequence[int]]) -> dict[str, float]:
    """``accuracy`` and ``macro-f1`` of a confusion matrix, in percent."""
    return {"accuracy": 100 * accuracy(matrix), "macro-f1": 100 * macro_f1(matrix)}


def encode_texts(texts: Sequence[str], words: WordVocabulary) -> list[np.ndarray]:
    return [np.array(words.encode(text.split()), dtype=np.int64) for text in texts]


class ClassifierTask(TaskBase):
    """What the Trainer needs to train a :class:`~seqcli.models.classifier.Classifier`."""

    unit = "sent"
    metric = Metric("accuracy", "max")

    def __init__(
        self,
        train: list[np.ndarray],
        labels: np.ndarray,
        valid: list[np.ndarray],
        valid_labels: np.ndarray,
        num_classes: int,
        *,
        batch_size: int,
        seed: int,
        class_weights: Tensor | None = None,
        dist: DistContext | None = None,
    ) -> None:
        self.train, self.labels = train, labels
        self.valid, self.valid_labels, self.num_classes = valid, valid_labels, num_classes
        self.class_weights = class_weights
        lengths = np.array([len(t) for t in train], dtype=np.int64)
        self.batches = BucketBatches(lengths, batch_size=batch_size, seed=seed, dist=dist)

    def steps_per_epoch(self) -> int:
        return self.batches.steps_per_epoch()

    def train_batches(self, epoch: int, start: int):
        for rows in self.batches.epoch(epoch, start):
            tokens = pad([self.train[i] for i in rows])
            yield tokens.tokens, tokens.lengths, torch.from_numpy(self.labels[rows])

    def loss(self, model: nn.Module, batch: tuple[Tensor, Tensor, Tensor]) -> tuple[Tensor, Tensor | int]:
        tokens, lengths, labels = batch
        logits = model(tokens, lengths).float()
        if self.class_weights is None:
            return F.cross_entropy(logits, labels, reduction="sum"), len(labels)
        weights = self.class_weights.to(logits.device)
        return F.cross_entropy(logits, labels, weight=weights, reduction="sum"), weights[labels].sum()

    def evaluate(self, model: nn.Module) -> dict[str, float] | None:
        probabilities = predict(model, self.valid)
        matrix = gold_matrix(self.valid_labels.tolist(), probabilities.argmax(1).tolist(), self.num_classes)
        return class_scores(matrix)


@torch.no_grad()
def predict(model: Classifier, texts: list[np.ndarray]) -> np.ndarray:
    """Class probabilities ``(N, K)`` for encoded texts, in order."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    probabilities = np.zeros((len(texts), model.config.num_classes), dtype=np.float32)
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    for rows in BucketBatches(lengths, max_tokens=PREDICT_TOKENS, shuffle=False).epoch(0):
        tokens = pad([texts[i] for i in rows])
        logits = model(tokens.tokens.to(device), tokens.lengths)
        probabilities[rows] = logits.float().softmax(dim=1).cpu().numpy()
    model.train(was_training)
    return probabilities


@dataclass(frozen=True)
class LoadedClassifier:
    model: Classifier
    words: WordVocabulary
    labels: LabelVocabulary
    config: dict[str, Any]

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """``(N, K)`` class probabilities of raw texts (whitespace-tokenised)."""
        return predict(self.model, encode_texts(texts, self.words))


def load_classifier(run_dir: Path, device: torch.device | str = "cpu") -> LoadedClassifier:
    config = checkpoint.read_config(run_dir, task=TASK)
    labels = LabelVocabulary.load(run_dir, "labels")
    words = WordVocabulary(LabelVocabulary.load(run_dir, "words").labels)
    model = Classifier(ClassifierConfig(**config["model"]))
    checkpoint.load_weights(run_dir, model)
    return LoadedClassifier(model.to(device).eval(), words, labels, config)
