"""The one training loop every task uses.

A task supplies batches, a loss and an evaluation (:class:`TrainTask`); the Trainer owns
everything else: optimiser, learning-rate schedule, clipping, devices, bf16 autocast,
DistributedDataParallel under torchrun, evaluation cadence, early stopping, best/last
checkpoints, exact resume, graceful stop on signals, non-finite losses, progress and
``metrics.jsonl``. Nothing here knows what a language model is.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from seqcli.errors import SeqcliError
from seqcli.train import checkpoint
from seqcli.train.config import TrainConfig
from seqcli.train.distributed import DistContext
from seqcli.train.progress import TrainingProgress
from seqcli.train.schedule import Schedule
from seqcli.train.signals import StopRequest

__all__ = ["TrainConfig", "TrainResult", "TrainTask", "Trainer", "TrainingInterrupted"]


class TrainTask(Protocol):
    """What a task gives the Trainer. Batches may be any nesting of tensors."""

    unit: str  # what ``loss`` counts, for throughput: "tok", "sent", "utt"

    def steps_per_epoch(self) -> int: ...

    def train_batches(self, epoch: int, start: int) -> Iterable[Any]:
        """The batches of ``epoch`` from index ``start`` on; the same every time (resume)."""

    def loss(self, model: nn.Module, batch: Any) -> tuple[Tensor, int]:
        """Mean loss over the batch and how many items (e.g. tokens) it averaged."""

    def evaluate(self, model: nn.Module) -> dict[str, float] | None:
        """Validation figures including "loss", or None without validation data."""

    def describe(self, loss: float) -> dict[str, float]:
        """Figures derived from a mean loss for display (e.g. perplexity)."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@dataclass
class Position:
    """Where training is; saved with the state so resume continues exactly."""

    step: int = 0
    epoch: int = 0
    step_in_epoch: int = 0
    elapsed: float = 0.0
    best_loss: float = math.inf
    evals_since_best: int = 0
    bad_steps: int = 0


@dataclass
class TrainResult:
    steps: int
    epochs: float
    stop_reason: str
    best_loss: float | None
    elapsed: float


class TrainingInterrupted(Exception):
    """Training stopped on a signal after saving its state; the CLI exits 128 + signum."""

    def __init__(self, signum: int, run_dir: Path) -> None:
        super().__init__(f"interrupted; state saved in {run_dir}")
        self.signum = signum
        self.run_dir = run_dir


def move_to(batch: Any, device: torch.device) -> Any:
    """Move every tensor in a nested batch to ``device``."""
    if isinstance(batch, Tensor):
        # Asynchronous only towards CUDA: a non-blocking copy to the CPU may be read unfinished.
        return batch.to(device, non_blocking=device.type == "cuda")
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to(item, device) for item in batch)
    if isinstance(batch, dict):
        return {key: move_to(value, device) for key, value in batch.items()}
    return batch


class Trainer:
    def __init__(
        self,
        task: TrainTask,
        model: nn.Module,
        config: TrainConfig,
        run_dir: Path,
        *,
        device: torch.device,
        dist: DistContext | None = None,
        quiet: bool = False,
    ) -> None:
        self.task, self.config, self.run_dir, self.device = task, config, run_dir, device
        self.dist = dist or DistContext()
        self.model = model.to(device)
        self.train_model = self._wrap(self.model)
        self.optimizer = self._make_optimizer()
        self.schedule = Schedule(
            config.schedule,
            config.lr,
            decay=config.lr_decay,
            decay_start=config.decay_start,
            warmup_steps=config.warmup_steps,
        )
        self.position = Position()
        self.quiet = quiet or not self.dist.is_main
        if self.dist.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
        self._autocast = config.amp and device.type == "cuda"

    def _wrap(self, model: nn.Module) -> nn.Module:
        if not self.dist.enabled:
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def _make_optimizer(self) -> torch.optim.Optimizer:
        c, params = self.config, self.model.parameters()
        if c.optimizer == "sgd":
            return torch.optim.SGD(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)
        if c.optimizer == "adam":
            return torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay)
        return torch.optim.AdamW(params, lr=c.lr, weight_decay=c.weight_decay)

    # --- the loop -----------------------------------------------------------------------

    def fit(self, *, resume: bool = False) -> TrainResult:
        """Train until epochs, steps, time, patience or a signal end it; return a summary."""
        if resume:
            self._restore()
        else:
            torch.manual_seed(self.config.seed)
        self._clock = time.monotonic() - self.position.elapsed
        self._last_eval_step = self.position.step if resume else -1
        self._rate = _Throughput()
        with (
            StopRequest() as stop,
            TrainingProgress(self._total_steps(), self.task.unit, enabled=not self.quiet) as progress,
        ):
            self._progress = progress
            if self.config.amp and not self._autocast:
                progress.log("[yellow]--amp is bf16 autocast on CUDA; training on the CPU in float32")
            reason = self._run_epochs(stop)
            self._finish()
        if reason == "signal" and stop.signum is not None:
            raise TrainingInterrupted(stop.signum, self.run_dir)
        return TrainResult(
            steps=self.position.step,
            epochs=self.position.epoch + self.position.step_in_epoch / max(1, self.task.steps_per_epoch()),
            stop_reason=reason,
            best_loss=None if math.isinf(self.position.best_loss) else self.position.best_loss,
            elapsed=self.position.elapsed,
        )

    def _run_epochs(self, stop: StopRequest) -> str:
        c, pos = self.config, self.position
        if pos.epoch >= c.epochs:
            return "epochs"
        if c.max_steps is not None and pos.step >= c.max_steps:
            return "max-steps"
        while True:
            for batch in self.task.train_batches(pos.epoch, pos.step_in_epoch):
                self._train_step(batch)
                pos.step += 1
                pos.step_in_epoch += 1
                if c.eval_every and pos.step % c.eval_every == 0 and self._evaluate_and_save():
                    return "patience"
                reason = self._stop_reason(stop)
                if reason:
                    return reason
            pos.epoch += 1
            pos.step_in_epoch = 0
            if not c.eval_every and self._evaluate_and_save():
                return "patience"
            if pos.epoch >= c.epochs:
                return "epochs"

    def _stop_reason(self, stop: StopRequest) -> str | None:
        c, pos = self.config, self.position
        signal_flag, pos.elapsed = self.dist.max(
            [float(stop.signum is not None), time.monotonic() - self._clock], self.device
        )
        if signal_flag:
            return "signal"
        if c.max_steps is not None and pos.step >= c.max_steps:
            return "max-steps"
        if c.max_time is not None and pos.elapsed >= c.max_time:
            return "max-time"
        return None

    def _train_step(self, batch: Any) -> None:
        c, pos = self.config, self.position
        for group in self.optimizer.param_groups:
            group["lr"] = self.schedule.lr(step=pos.step, epoch=pos.epoch, progress=self._run_progress())
        self.train_model.train()
        self.optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self._autocast):
            loss, count = self.task.loss(self.train_model, move_to(batch, self.device))
        loss_value = loss.item()
        # Every rank must skip together, or one would wait forever in DDP's all-reduce.
        if self.dist.max([float(not math.isfinite(loss_value))], self.device)[0]:
            self._bad_step(loss_value)
            return
        pos.bad_steps = 0
        loss.backward()
        if c.clip is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), c.clip)
        if c.clip_value is not None:
            nn.utils.clip_grad_value_(self.model.parameters(), c.clip_value)
        self.optimizer.step()
        self._rate.add(count * self.dist.world_size, loss_value)
        if pos.step % c.log_every == 0:
            self._log_progress()

    def _bad_step(self, loss_value: float) -> None:
        pos = self.position
        pos.bad_steps += 1
        self._progress.log(f"[yellow]step {pos.step + 1}: loss is {loss_value}; update skipped")
        if pos.bad_steps >= self.config.max_bad_steps:
            raise SeqcliError(
                f"{pos.bad_steps} steps in a row had a non-finite loss (last at step {pos.step + 1}); "
                f"stopped. The last good checkpoint in {self.run_dir} is kept; "
                "try a lower --lr or --clip"
            )

    def _run_progress(self) -> float:
        """Fraction of the run done, by steps or by time, whichever is further along."""
        c, pos = self.config, self.position
        total = self._total_steps()
        by_steps = pos.step / total if total else 0.0
        by_time = pos.elapsed / c.max_time if c.max_time else 0.0
        return max(by_steps, by_time)

    def _total_steps(self) -> int:
        total = self.config.epochs * self.task.steps_per_epoch()
        return min(total, self.config.max_steps) if self.config.max_steps else total

    def _log_progress(self) -> None:
        pos, (rate, loss, step_rate) = self.position, self._rate.take()
        if loss is None:
            return
        figures = {"loss": loss, **self.task.describe(loss)}
        self._progress.update(
            step=pos.step, epoch=pos.epoch, figures=figures, rate=rate, remaining=self._remaining(step_rate)
        )
        if self.dist.is_main:
            lr = self.optimizer.param_groups[0]["lr"]
            record = {"step": pos.step, "epoch": pos.epoch, "lr": lr, "train": figures, "rate": rate}
            checkpoint.append_metrics(self.run_dir, record)

    def _remaining(self, step_rate: float) -> float:
        """Seconds to the end: the step budget at the current pace, or --max-time if nearer."""
        by_steps = (self._total_steps() - self.position.step) / step_rate if step_rate > 0 else math.inf
        if self.config.max_time is None:
            return by_steps
        return min(by_steps, self.config.max_time - (time.monotonic() - self._clock))

    # --- evaluation and checkpoints -------------------------------------------------------

    def _evaluate(self) -> dict[str, float] | None:
        self.model.eval()
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=self._autocast):
            return self.task.evaluate(self.model)

    def _evaluate_and_save(self, *, final: bool = False) -> bool:
        """Evaluate, keep the best weights, save the state; True when patience runs out."""
        pos, c = self.position, self.config
        self._last_eval_step = pos.step
        figures = self._evaluate()
        self._rate = _Throughput()  # throughput is of training alone
        improved = figures is None or figures["loss"] < pos.best_loss
        if figures is not None:
            self._report(figures)
            if improved:
                pos.best_loss, pos.evals_since_best = figures["loss"], 0
            elif not final:
                pos.evals_since_best += 1
            if not final:
                # A final evaluation must not steer training: a resumed run never saw it.
                self.schedule.observe(figures["loss"])
        # Each rank's data position (e.g. its rows' carried hidden state) is its own.
        task_states = self.dist.gather(move_to(self.task.state_dict(), torch.device("cpu")))
        if self.dist.is_main:
            if improved:
                record = {"step": pos.step, "valid_loss": pos.best_loss if figures else None}
                checkpoint.save_weights(self.run_dir, self.model, record)
            # Weights first, state last: a crash between the two leaves weights the state
            # does not know of yet, which _restore reconciles.
            self._save_state(task_states)
        self.dist.barrier()
        return c.patience is not None and pos.evals_since_best > c.patience

    def _report(self, figures: dict[str, float]) -> None:
        pos = self.position
        text = "  ".join(f"{name} {value:.4g}" for name, value in figures.items())
        self._progress.log(f"step {pos.step} (epoch {pos.epoch + (pos.step_in_epoch > 0)}): valid {text}")
        if self.dist.is_main:
            checkpoint.append_metrics(self.run_dir, {"step": pos.step, "epoch": pos.epoch, "valid": figures})

    def _finish(self) -> None:
        self.position.elapsed = time.monotonic() - self._clock
        self._log_progress()
        if self._last_eval_step != self.position.step:
            self._evaluate_and_save(final=True)

    def _save_state(self, task_states: list[dict[str, Any]]) -> None:
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "position": asdict(self.position),
            "task": task_states,
            "rng": {"torch": torch.get_rng_state()},
            "training": asdict(self.config),
        }
        if torch.cuda.is_available():
            state["rng"]["cuda"] = torch.cuda.get_rng_state_all()
        checkpoint.save_state(self.run_dir, state)

    def _restore(self) -> None:
        state = checkpoint.load_state(self.run_dir)
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.schedule.load_state_dict(state["schedule"])
            self.position = Position(**state["position"])
            self._restore_task(state["task"])
            torch.set_rng_state(state["rng"]["torch"])
            if "cuda" in state["rng"] and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise SeqcliError(
                f"{self.run_dir / checkpoint.STATE_FILE}: does not fit this run ({err})"
            ) from None
        saved = checkpoint.weights_record(self.run_dir).get("valid_loss")
        if saved is not None and saved < self.position.best_loss:
            self.position.best_loss = saved
        checkpoint.truncate_metrics(self.run_dir, self.position.step)

    def _restore_task(self, task_states: list[dict[str, Any]]) -> None:
        if len(task_states) != self.dist.world_size:
            raise SeqcliError(
                f"{self.run_dir}: saved by {len(task_states)} process(es); resume it with the same number "
                f"(this run has {self.dist.world_size})"
            )
        self.task.load_state_dict(task_states[self.dist.rank])


class _Throughput:
    """Items per second and mean loss since the last report."""

    def __init__(self) -> None:
        self._since, self._items, self._loss_sum, self._steps = time.monotonic(), 0, 0.0, 0

    def add(self, items: int, loss: float) -> None:
        self._items += items
        self._loss_sum += loss
        self._steps += 1

    def take(self) -> tuple[float, float | None, float]:
        """Items per second, mean loss and steps per second since the last call."""
        now = time.monotonic()
        seconds = max(now - self._since, 1e-9)
        loss = self._loss_sum / self._steps if self._steps else None
        result = (self._items / seconds, loss, self._steps / seconds)
        self.__init__()
        return result
