"""The Trainer on a toy regression task: it knows nothing of language models."""

from __future__ import annotations

import math
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from seqcli.errors import SeqcliError, TrainingInterrupted
from seqcli.train import checkpoint
from seqcli.train.trainer import TaskBase, TrainConfig, Trainer


class Regression(TaskBase):
    """y = 3x - 1 with optional poisoned steps and a scripted validation loss."""

    unit = "ex"

    def __init__(self, *, nan_from: int | None = None, valid_losses: list[float] | None = None) -> None:
        generator = torch.Generator().manual_seed(0)
        self.x = torch.randn(64, 1, generator=generator)
        self.y = 3 * self.x - 1
        self.nan_from, self.valid_losses, self.calls = nan_from, valid_losses, 0

    def steps_per_epoch(self) -> int:
        return 8

    def train_batches(self, epoch: int, start: int):
        for index in range(start, 8):
            yield self.x[index * 8 : index * 8 + 8], self.y[index * 8 : index * 8 + 8]

    def loss(self, model: nn.Module, batch):
        x, y = batch
        self.calls += 1
        loss = nn.functional.mse_loss(model(x), y, reduction="sum")
        if self.nan_from is not None and self.calls >= self.nan_from:
            loss = loss * math.nan
        return loss, len(x)

    def evaluate(self, model: nn.Module):
        if self.valid_losses is None:
            return {"loss": nn.functional.mse_loss(model(self.x), self.y).item()}
        return {"loss": self.valid_losses.pop(0)}


def make(task, tmp_path: Path, **config) -> Trainer:
    return Trainer(
        task, nn.Linear(1, 1), TrainConfig(**config), tmp_path, device=torch.device("cpu"), quiet=True
    )


def test_trainer_fits_a_regression(tmp_path: Path) -> None:
    result = make(Regression(), tmp_path, epochs=30, lr=0.05).fit()
    assert result.stop_reason == "epochs" and result.steps == 240
    assert result.best_score < 1e-4


def test_nonfinite_losses_skip_updates_then_stop_keeping_the_good_checkpoint(tmp_path: Path) -> None:
    trainer = make(Regression(nan_from=13), tmp_path, epochs=5, max_bad_steps=3, eval_every=4)
    with pytest.raises(SeqcliError, match="3 steps in a row had a non-finite loss"):
        trainer.fit()
    weights = checkpoint.load_state(tmp_path)["model"]
    assert all(torch.isfinite(t).all() for t in weights.values())
    assert checkpoint.load_state(tmp_path)["position"]["step"] == 12


def test_patience_stops_after_evaluations_without_improvement(tmp_path: Path) -> None:
    task = Regression(valid_losses=[3.0, 2.0, 2.5, 2.6, 2.7, 1.0])
    result = make(task, tmp_path, epochs=10, patience=2, eval_every=1).fit()
    assert result.stop_reason == "patience" and result.steps == 5 and result.best_score == 2.0


def test_max_steps_and_max_time(tmp_path: Path) -> None:
    assert make(Regression(), tmp_path / "a", max_steps=5).fit().steps == 5
    result = make(Regression(), tmp_path / "b", epochs=10**6, max_time=0.5).fit()
    assert result.stop_reason == "max-time"


def test_clipping_by_norm_bounds_the_update(tmp_path: Path) -> None:
    trainer = make(Regression(), tmp_path, optimizer="sgd", lr=1.0, clip=0.01, max_steps=1)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.fit()
    moved = torch.cat(
        [(p.detach() - b).flatten() for p, b in zip(trainer.model.parameters(), before, strict=True)]
    )
    assert moved.norm().item() == pytest.approx(0.01, rel=1e-4)


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_betas_reach_adam_and_survive_the_saved_config(tmp_path: Path, optimizer: str) -> None:
    trainer = make(Regression(), tmp_path, optimizer=optimizer, lr=0.1, betas=[0.5, 0.6], max_steps=3)
    start = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    trainer.fit()
    # The same three steps by hand, with torch's optimiser given those betas.
    model = nn.Linear(1, 1)
    model.load_state_dict(start)
    by_hand = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[optimizer]
    reference = by_hand(model.parameters(), lr=0.1, betas=(0.5, 0.6), weight_decay=0.0)
    for x, y in list(Regression().train_batches(1, 0))[:3]:
        reference.zero_grad()
        nn.functional.mse_loss(model(x), y, reduction="sum").backward()
        reference.step()
    for name, p in model.named_parameters():
        torch.testing.assert_close(dict(trainer.model.named_parameters())[name].detach(), p.detach())
    assert TrainConfig(betas=[0.5, 0.6]) == TrainConfig(betas=(0.5, 0.6))  # as read from config.json


class SlowValidation(Regression):
    """Sends itself SIGINT at step 3 and records, at the validation that follows, the step
    of the state already on disk."""

    def __init__(self, run_dir: Path) -> None:
        super().__init__()
        self.run_dir, self.state_step_at_validation = run_dir, None

    def loss(self, model: nn.Module, batch):
        if self.calls == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return super().loss(model, batch)

    def evaluate(self, model: nn.Module):
        self.state_step_at_validation = checkpoint.load_state(self.run_dir)["position"]["step"]
        return super().evaluate(model)


def test_a_stop_signal_saves_the_state_before_the_final_validation(tmp_path: Path) -> None:
    task = SlowValidation(tmp_path)
    with pytest.raises(TrainingInterrupted):
        make(task, tmp_path, epochs=5).fit()
    assert task.state_step_at_validation == 3


def test_a_skipped_step_rolls_back_the_state_the_task_carried() -> None:
    from seqcli.models.lm import LanguageModel, LanguageModelConfig
    from seqcli.tasks.lm import LanguageModelTask, LMDataConfig

    ids = np.arange(400, dtype=np.uint16) % 20 + 4
    task = LanguageModelTask(ids, None, LMDataConfig(batch_size=2, bptt=5), char_level=False)
    model = LanguageModel(LanguageModelConfig(vocab_size=24, embedding_dim=8, hidden_size=8, num_layers=1))
    batches = task.train_batches(0, 0)
    task.loss(model, next(batches))
    carried = task.hidden
    task.loss(model, next(batches))
    assert task.hidden is not carried
    task.rollback()
    assert task.hidden is carried


class Recording(Regression):
    """Remembers the model each validation was given."""

    def __init__(self) -> None:
        super().__init__()
        self.validated: list[nn.Module] = []

    def evaluate(self, model: nn.Module):
        self.validated.append(model)
        return super().evaluate(model)


def test_ema_validates_and_saves_the_moving_average_of_the_weights(tmp_path: Path) -> None:
    torch.manual_seed(0)
    task = Recording()
    trainer = make(task, tmp_path, epochs=2, lr=0.05, ema=0.9)
    start = [p.detach().clone() for p in trainer.model.parameters()]
    snapshots = []
    original_step = trainer.optimizer.step

    def step(*args, **kwargs):
        result = original_step(*args, **kwargs)
        snapshots.append([p.detach().clone() for p in trainer.model.parameters()])
        return result

    trainer.optimizer.step = step
    trainer.fit()
    # the average, by its definition, from the weights after every step
    expected = start
    for n, weights in enumerate(snapshots, start=1):
        rate = 1 - min(0.9, (1 + n) / (10 + n))
        expected = [e + rate * (w - e) for e, w in zip(expected, weights, strict=True)]
    averaged = list(trainer.average.module.parameters())
    for mine, theirs in zip(averaged, expected, strict=True):
        torch.testing.assert_close(mine, theirs)
    assert not torch.equal(averaged[0], trainer.model.weight)
    assert all(model is trainer.average.module for model in task.validated)
    saved = checkpoint.load_state(tmp_path)
    torch.testing.assert_close(saved["average"]["module"]["weight"], averaged[0])


def test_ema_resumes_exactly(tmp_path: Path) -> None:
    torch.manual_seed(0)
    whole = make(Regression(), tmp_path / "whole", epochs=3, lr=0.05, ema=0.95)
    whole.fit()
    torch.manual_seed(0)
    make(Regression(), tmp_path / "parts", epochs=3, lr=0.05, ema=0.95, max_steps=11).fit()
    resumed = make(Regression(), tmp_path / "parts", epochs=3, lr=0.05, ema=0.95)
    resumed.fit(resume=True)
    assert resumed.average.updates == whole.average.updates == 24
    pairs = zip(resumed.average.module.parameters(), whole.average.module.parameters(), strict=True)
    assert all(torch.equal(mine, theirs) for mine, theirs in pairs)


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5])
def test_ema_outside_zero_one_is_refused(decay: float) -> None:
    with pytest.raises(SeqcliError, match="--ema must be in"):
        TrainConfig(ema=decay)
