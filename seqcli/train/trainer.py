"""The one training loop every task uses.

A task supplies batches, a summed loss with its normaliser, an evaluation and a selection
metric (:class:`TrainTask`); the Trainer owns everything else: optimiser, learning-rate
schedule, clipping, a moving average of the weights (``--ema``), devices, bf16 autocast,
``torch.compile``, DistributedDataParallel under torchrun, evaluation cadence, early
stopping on the task's metric (lower or higher is better), best/last checkpoints,
time-based saves, exact resume, graceful stop on signals, non-finite losses, progress and
``metrics.jsonl``. Nothing here knows what a language model is.

Losses are sums over items (tokens, sentences, frames) with a count of those items. Each
step all-reduces the counts once, so a batch of padded sentences weighs every token the
same, and two ranks with batch B/2 take exactly the step one process with batch B takes:
each rank backpropagates ``loss_sum * world_size / global_count`` and DDP averages the
gradients over ranks.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from seqcli.errors import SeqcliError, TrainingInterrupted
from seqcli.metrics.selection import Metric
from seqcli.train import checkpoint
from seqcli.train.averaging import WeightAverage
from seqcli.train.config import TrainConfig
from seqcli.train.distributed import DistContext
from seqcli.train.progress import Throughput, TrainingProgress
from seqcli.train.schedule import Schedule
from seqcli.train.signals import StopRequest
from seqcli.train.task import LOSS, TaskBase, TrainTask
from seqcli.train.threads import ThreadGovernor

__all__ = ["TaskBase", "TrainConfig", "TrainResult", "TrainTask", "Trainer", "TrainingInterrupted"]

REBALANCE_SECONDS = 30.0


@dataclass
class Position:
    """Where training is; saved with the state so resume continues exactly."""

    step: int = 0
    epoch: int = 0
    step_in_epoch: int = 0
    elapsed: float = 0.0
    best_score: float | None = None
    evals_since_best: int = 0
    bad_steps: int = 0


@dataclass
class TrainResult:
    steps: int
    epochs: float
    stop_reason: str
    metric: str
    best_score: float | None
    elapsed: float


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
        threads: ThreadGovernor | None = None,
    ) -> None:
        self.task, self.config, self.run_dir, self.device = task, config, run_dir, device
        self.threads = threads
        self.metric: Metric = getattr(task, "metric", LOSS)
        self.dist = dist or DistContext()
        self.model = model.to(device)
        self.train_model = self._wrap(self.model)
        self.optimizer = self._make_optimizer()
        # Validated and saved in place of the raw weights when --ema is given.
        self.average = WeightAverage(self.model, config.ema) if config.ema is not None else None
        self.schedule = Schedule(
            config.schedule,
            config.lr,
            decay=config.lr_decay,
            decay_start=config.decay_start,
            warmup_steps=config.warmup_steps,
        )
        self.position = Position()
        self.quiet = quiet or not self.dist.is_main
        self._autocast = config.amp and device.type == "cuda"

    def _wrap(self, model: nn.Module) -> nn.Module:
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            model = nn.parallel.DistributedDataParallel(model, device_ids=ids)
        # Compile the DDP wrapper, not the module inside it, so DDP's bucketing still applies.
        return torch.compile(model) if self.config.compile else model

    def _make_optimizer(self) -> torch.optim.Optimizer:
        c, params = self.config, [p for p in self.model.parameters() if p.requires_grad]
        if c.optimizer == "sgd":
            return torch.optim.SGD(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)
        if c.optimizer == "adam":
            return torch.optim.Adam(params, lr=c.lr, betas=c.betas, weight_decay=c.weight_decay)
        return torch.optim.AdamW(params, lr=c.lr, betas=c.betas, weight_decay=c.weight_decay)

    # --- the loop -----------------------------------------------------------------------

    def fit(self, *, resume: bool = False) -> TrainResult:
        """Train until epochs, steps, time, patience or a signal end it; return a summary."""
        if resume:
            self._restore()
        else:
            torch.manual_seed(self.config.seed)
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        self._clock = time.monotonic() - self.position.elapsed
        self._last_eval_step = self.position.step if resume else -1
        self._last_save = (self.position.elapsed, self.position.step)
        self._rate = Throughput(self.device)
        self._last_rebalance = time.monotonic()
        with (
            StopRequest() as stop,
            TrainingProgress(self._total_steps(), self.task.unit, enabled=not self.quiet) as progress,
        ):
            self._progress = progress
            self.train_model.train()
            if self.config.amp and not self._autocast:
                progress.log("--amp is bf16 autocast on CUDA; training on the CPU in float32")
            reason = self._run_epochs(stop)
            if reason == "signal":
                self._save_state()  # save first: a second interrupt during validation loses nothing
            self._finish()
        if reason == "signal" and stop.signum is not None:
            raise TrainingInterrupted(stop.signum, self.run_dir)
        return TrainResult(
            steps=self.position.step,
            epochs=self.position.epoch + self.position.step_in_epoch / max(1, self.task.steps_per_epoch()),
            stop_reason=reason,
            metric=self.metric.name,
            best_score=self.position.best_score,
            elapsed=self.position.elapsed,
        )

    def _run_epochs(self, stop: StopRequest) -> str:
        c, pos = self.config, self.position
        reason = self._limit_reached()
        if reason:
            return reason
        while True:
            for batch in self.task.train_batches(pos.epoch, pos.step_in_epoch):
                stopping = self._train_step(batch, stop)
                pos.step += 1
                pos.step_in_epoch += 1
                if c.eval_every and pos.step % c.eval_every == 0 and self._evaluate_and_save():
                    return "patience"
                if stopping:
                    return "signal"
                reason = self._limit_reached()
                if reason:
                    return reason
                self._save_on_cadence()
            pos.epoch += 1
            pos.step_in_epoch = 0
            if not c.eval_every and self._evaluate_and_save():
                return "patience"
            if pos.epoch >= c.epochs:
                return "epochs"

    def _limit_reached(self) -> str | None:
        c, pos = self.config, self.position
        if pos.epoch >= c.epochs:
            return "epochs"
        if c.max_steps is not None and pos.step >= c.max_steps:
            return "max-steps"
        if c.max_time is not None and pos.elapsed >= c.max_time:
            return "max-time"
        return None

    def _train_step(self, batch: Any, stop: StopRequest) -> bool:
        """One optimiser step (or a skipped one); True when a stop signal arrived."""
        c, pos = self.config, self.position
        for group in self.optimizer.param_groups:
            group["lr"] = self.schedule.lr(step=pos.step, epoch=pos.epoch, progress=self._run_progress())
        self.optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self._autocast):
            loss_sum, count = self.task.loss(self.train_model, move_to(batch, self.device))
        loss_sum = loss_sum.float()
        local = torch.as_tensor(count, dtype=torch.float64, device=self.device)
        # The step's one collective and one host sync: the global item count, whether any
        # rank's loss is non-finite, whether any rank got a stop signal, and the clock
        # (averaged, so every rank takes the same time-based decisions).
        flags = torch.stack(
            [
                local,
                (~torch.isfinite(loss_sum.detach())).double(),
                torch.tensor(float(stop.signum is not None), dtype=torch.float64, device=self.device),
                torch.tensor(time.monotonic() - self._clock, dtype=torch.float64, device=self.device),
            ]
        )
        total, bad, stopping, elapsed = self.dist.sum(flags).tolist()
        pos.elapsed = elapsed / self.dist.world_size
        if bad:
            self._bad_step(loss_sum)
            return bool(stopping)
        pos.bad_steps = 0
        (loss_sum * (self.dist.world_size / max(total, 1.0))).backward()
        if c.clip is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), c.clip)
        if c.clip_value is not None:
            nn.utils.clip_grad_value_(self.model.parameters(), c.clip_value)
        self.optimizer.step()
        if self.average is not None:
            self.average.update(self.model)
        self._rate.add(loss_sum.detach(), local, total)
        if (pos.step + 1) % c.log_every == 0:
            self._log_progress(pos.step + 1)
        return bool(stopping)

    def _bad_step(self, loss_sum: Tensor) -> None:
        pos = self.position
        self.task.rollback()
        pos.bad_steps += 1
        self._progress.log(f"step {pos.step + 1}: loss is {loss_sum.item()}; update skipped")
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

    def _log_progress(self, step: int) -> None:
        now = time.monotonic()
        if self.threads is not None and now - self._last_rebalance >= REBALANCE_SECONDS:
            # Give cores back when another job starts, take them again when it ends.
            self._last_rebalance = now
            self.threads.rebalance()
        pos, (rate, loss, step_rate) = self.position, self._rate.take()
        if loss is None:
            return
        figures = {"loss": loss, **self.task.describe(loss)}
        self._progress.update(
            step=step, epoch=pos.epoch, figures=figures, rate=rate, remaining=self._remaining(step_rate)
        )
        if self.dist.is_main:
            lr = self.optimizer.param_groups[0]["lr"]
            record = {"step": step, "epoch": pos.epoch, "lr": lr, "train": figures, "rate": rate}
            checkpoint.append_metrics(self.run_dir, record)

    def _remaining(self, step_rate: float) -> float:
        """Seconds to the end: the step budget at the current pace, or --max-time if nearer."""
        by_steps = (self._total_steps() - self.position.step) / step_rate if step_rate > 0 else math.inf
        if self.config.max_time is None:
            return by_steps
        return min(by_steps, self.config.max_time - self.position.elapsed)

    # --- evaluation and checkpoints -------------------------------------------------------

    @property
    def selected_model(self) -> nn.Module:
        """The weights that are validated and saved: their moving average under --ema."""
        return self.average.module if self.average is not None else self.model

    def _evaluate(self) -> dict[str, float] | None:
        """Validation on rank 0 alone; every rank gets its figures (they steer all of them)."""
        figures = None
        if self.dist.is_main:
            self.model.eval()
            with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=self._autocast):
                figures = self.task.evaluate(self.selected_model)
            self.train_model.train()
            if figures is not None and self.metric.name not in figures:
                raise SeqcliError(f"validation gave no {self.metric.name!r} (it gave {', '.join(figures)})")
        return self.dist.broadcast(figures)

    def _evaluate_and_save(self, *, final: bool = False) -> bool:
        """Evaluate, keep the best weights, save the state; True when patience runs out."""
        pos, c = self.position, self.config
        self._last_eval_step = pos.step
        figures = self._evaluate()
        self._rate = Throughput(self.device)  # throughput is of training alone
        score = figures[self.metric.name] if figures is not None else None
        improved = score is None or self.metric.better(score, pos.best_score)
        if figures is not None:
            self._report(figures)
            if improved:
                pos.best_score, pos.evals_since_best = score, 0
            elif not final:
                pos.evals_since_best += 1
            if not final:
                # A final evaluation must not steer training: a resumed run never saw it.
                self.schedule.observe(improved)
        if improved and self.dist.is_main:
            record = {"step": pos.step, "metric": self.metric.name, "score": score}
            checkpoint.save_weights(self.run_dir, self.selected_model, record)
        # Weights first, state last: a crash between the two leaves weights the state does
        # not know of yet, which _restore reconciles.
        self._save_state()
        return c.patience is not None and pos.evals_since_best > c.patience

    def _save_on_cadence(self) -> None:
        """Save the resumable state every --save-every seconds (or steps), between validations."""
        c, pos = self.config, self.position
        last_time, last_step = self._last_save
        due_by_steps = c.save_every_steps is not None and pos.step - last_step >= c.save_every_steps
        # pos.elapsed is the same on every rank, so all ranks agree on when to save.
        due_by_time = c.save_every is not None and pos.elapsed - last_time >= c.save_every
        if due_by_steps or due_by_time:
            self._save_state()

    def _report(self, figures: dict[str, float]) -> None:
        pos = self.position
        text = "  ".join(f"{name} {value:.4g}" for name, value in figures.items())
        self._progress.log(f"step {pos.step} (epoch {pos.epoch + (pos.step_in_epoch > 0)}): valid {text}")
        if self.dist.is_main:
            checkpoint.append_metrics(self.run_dir, {"step": pos.step, "epoch": pos.epoch, "valid": figures})

    def _finish(self) -> None:
        self._log_progress(self.position.step)
        if self._last_eval_step != self.position.step:
            self._evaluate_and_save(final=True)

    def _save_state(self) -> None:
        pos = self.position
        self._last_save = (pos.elapsed, pos.step)
        # Each rank's data position (e.g. its rows' carried hidden state) is its own.
        task_states = self.dist.gather(move_to(self.task.state_dict(), torch.device("cpu")))
        if self.dist.is_main:
            state = {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "schedule": self.schedule.state_dict(),
                "position": asdict(pos),
                "task": task_states,
                "rng": {"torch": torch.get_rng_state()},
                "training": asdict(self.config),
            }
            if self.average is not None:
                state["average"] = self.average.state_dict()
            if torch.cuda.is_available():
                state["rng"]["cuda"] = torch.cuda.get_rng_state_all()
            checkpoint.save_state(self.run_dir, state)
        self.dist.barrier()

    def _restore(self) -> None:
        state = checkpoint.load_state(self.run_dir)
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            if self.average is not None:
                self.average.load_state_dict(state["average"])
            self.schedule.load_state_dict(state["schedule"])
            self.position = _position(state["position"])
            self._restore_task(state["task"])
            torch.set_rng_state(state["rng"]["torch"])
            if "cuda" in state["rng"] and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise SeqcliError(
                f"{self.run_dir / checkpoint.STATE_FILE}: does not fit this run ({err})"
            ) from None
        saved = checkpoint.weights_record(self.run_dir)
        score = saved.get("score") if saved.get("metric") == self.metric.name else None
        # Weights saved after the state (a crash between the two writes) hold the best score.
        if score is not None and self.metric.better(score, self.position.best_score):
            self.position.best_score = score
        if self.dist.is_main:
            checkpoint.truncate_metrics(self.run_dir, self.position.step)

    def _restore_task(self, task_states: list[dict[str, Any]]) -> None:
        if len(task_states) != self.dist.world_size:
            raise SeqcliError(
                f"{self.run_dir}: saved by {len(task_states)} process(es); resume it with the same number "
                f"(this run has {self.dist.world_size})"
            )
        self.task.load_state_dict(task_states[self.dist.rank])


def _position(saved: dict[str, Any]) -> Position:
    """A Position from a saved state; states of seqcli 0.1 kept the best loss as best_loss."""
    saved = dict(saved)
    if "best_loss" in saved:
        best = saved.pop("best_loss")
        saved["best_score"] = None if best is None or math.isinf(best) else best
    return Position(**saved)
