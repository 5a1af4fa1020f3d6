"""A toy second task for the spine's tests: classify variable-length id sequences.

Not a CLI command: it trains through the registry, the shared data layer (padding,
token-budget buckets, label vocabulary) and the Trainer with a "higher is better" metric,
in one process or under torchrun (``python -m torch.distributed.run … toy_task.py RUN_DIR
MAX_TOKENS``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seqcli.data.batching import BucketBatches, pad
from seqcli.data.labels import LabelVocabulary
from seqcli.metrics.selection import Metric
from seqcli.models.rnn import RecurrentConfig, RecurrentStack
from seqcli.tasks.registry import EvalRequest, Evaluation
from seqcli.tasks.training import RunOptions, TrainingSession
from seqcli.train import checkpoint
from seqcli.train.config import TrainConfig
from seqcli.train.trainer import TaskBase

VOCAB, CLASSES = 8, ("even", "odd")


def toy_data(count: int, seed: int) -> tuple[list[np.ndarray], list[str]]:
    """Sequences of 1–12 ids; the label says whether id 1 occurs an odd number of times."""
    rng = np.random.default_rng(seed)
    sequences = [rng.integers(1, VOCAB, rng.integers(1, 13)) for _ in range(count)]
    return sequences, [CLASSES[int((s == 1).sum()) % 2] for s in sequences]


class ToyClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 16, padding_idx=0)
        self.encoder = RecurrentStack(RecurrentConfig(input_size=16, hidden_size=16, cell="gru"))
        self.output = nn.Linear(16, len(CLASSES))

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """tokens: (B, T), lengths: (B,) -> logits (B, classes)."""
        _, state = self.encoder(self.embedding(tokens), lengths=lengths)
        return self.output(state[-1])


class ToyTask(TaskBase):
    unit = "sent"
    metric = Metric("accuracy", "max")

    def __init__(self, sequences, labels, batches: BucketBatches, valid) -> None:
        self.sequences, self.labels, self.batches, self.valid = sequences, labels, batches, valid

    def steps_per_epoch(self) -> int:
        return self.batches.steps_per_epoch()

    def train_batches(self, epoch: int, start: int):
        for indices in self.batches.epoch(epoch, start):
            padded = pad([self.sequences[i] for i in indices])
            yield padded.tokens, padded.lengths, torch.tensor([self.labels[i] for i in indices])

    def loss(self, model: nn.Module, batch):
        tokens, lengths, labels = batch
        return F.cross_entropy(model(tokens, lengths), labels, reduction="sum"), len(labels)

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        return {"accuracy": accuracy(model, *self.valid)}


def accuracy(model: nn.Module, sequences, labels) -> float:
    padded = pad(sequences)
    with torch.no_grad():
        predicted = model(padded.tokens, padded.lengths).argmax(-1)
    return (predicted == torch.tensor(labels)).float().mean().item() * 100


def train(run_dir: Path, max_tokens: int, *, steps: int = 12, lr: float = 0.5) -> None:
    """Train the toy task into ``run_dir``; the token budget is per process, as for every task,
    so batches hold different numbers of sentences and split unevenly between ranks."""
    session = TrainingSession(RunOptions(run_dir, device="cpu", threads=1, quiet=True))
    labels = LabelVocabulary(CLASSES)
    sequences, names = toy_data(256, seed=0)
    valid_sequences, valid_names = toy_data(64, seed=1)
    budget = max_tokens * session.dist.world_size
    batches = BucketBatches([len(s) for s in sequences], max_tokens=budget, seed=0, dist=session.dist)
    task = ToyTask(sequences, labels.encode(names), batches, (valid_sequences, labels.encode(valid_names)))
    session.begin({"task": "toy", "model": {}})
    if session.dist.is_main:
        labels.save(run_dir)
    config = TrainConfig(optimizer="sgd", lr=lr, max_steps=steps, eval_every=4, epochs=100)
    torch.manual_seed(0)
    session.train(task, ToyClassifier(), config)


def evaluate(run_dir: Path, request: EvalRequest) -> Evaluation:
    """The registry's entry point for the toy task (data: none; a fixed generated set)."""
    model = ToyClassifier()
    checkpoint.load_weights(run_dir, model)
    labels = LabelVocabulary.load(run_dir)
    sequences, names = toy_data(64, seed=1)
    return Evaluation({"accuracy": accuracy(model.eval(), sequences, labels.encode(names))}, ["toy details"])


if __name__ == "__main__":
    train(Path(sys.argv[1]), int(sys.argv[2]))
