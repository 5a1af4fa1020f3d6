"""The word2vec training loop: one step is one block of the corpus (about a million
tokens), trained by the compiled Hogwild kernel on the CPU or by batched sparse updates in
torch on a GPU.

Why not the shared Trainer: its step is loss → backward → optimizer, while word2vec
updates rows in place inside the kernel, with its own learning rate per sentence, and has
nothing to backpropagate. This loop keeps the rest of the contract: steps and epochs, the
same run directory files (weights, ``state/trainer.pt``, ``metrics.jsonl``), the progress
bar, graceful stop on a signal, ``--max-steps``/``--max-time``, and exact resume at a block
(bit-identical with one thread; with more, Hogwild's races make runs differ by rounding).

Under torchrun each rank trains its own blocks (block ``step * world + rank``) and the ranks
average their matrices after every step (model averaging).
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from seqcli.errors import SeqcliError, TrainingInterrupted
from seqcli.models import word2vec_kernels as kernels
from seqcli.models.word2vec import HuffmanTree, Word2Vec
from seqcli.tasks.embeddings_data import NoiseTable, cbow_examples, chunk_bounds, skipgram_pairs, subsample
from seqcli.train import checkpoint
from seqcli.train.distributed import DistContext
from seqcli.train.progress import TrainingProgress
from seqcli.train.signals import StopRequest

__all__ = ["EmbeddingTrainer", "EmbeddingTraining", "TrainingData", "Word2VecResult"]


@dataclass(frozen=True)
class EmbeddingTraining:
    """Training settings of a vectors run (the ``training`` section of its config.json).

    ``lr`` decays linearly to ``lr * 1e-4`` over ``epochs``; ``step_tokens`` sizes a step
    (the resume and progress granularity; smaller on a small corpus), ``chunk_tokens`` a
    thread's share of a step,
    ``batch_size`` the pairs per update of the torch path; the resumable state is saved
    every ``save_every`` seconds (or ``save_every_steps`` steps) and at the end.
    """

    epochs: int = 5
    lr: float = 0.025
    seed: int = 1
    max_steps: int | None = None
    max_time: float | None = None
    step_tokens: int = 1 << 20
    chunk_tokens: int = 10_000
    batch_size: int = 8192
    save_every: float | None = 300.0
    save_every_steps: int | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "step_tokens", "chunk_tokens", "batch_size", "max_steps", "save_every_steps"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise SeqcliError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
        if not self.lr > 0:
            raise SeqcliError(f"--lr must be positive, got {self.lr}")


@dataclass(frozen=True)
class TrainingData:
    """The corpus as the kernels read it: ``ids`` (N,) the token stream, ``keep`` (V,)
    subsampling probabilities, ``noise`` the noise distribution, ``tree`` the
    Huffman tree (hierarchical softmax only)."""

    ids: np.ndarray
    keep: np.ndarray
    noise: NoiseTable
    tree: HuffmanTree


@dataclass
class Position:
    step: int = 0
    epoch: int = 0
    step_in_epoch: int = 0
    elapsed: float = 0.0
    words: int = 0


@dataclass(frozen=True)
class Word2VecResult:
    steps: int
    epochs: float
    stop_reason: str
    loss: float | None  # mean training loss of the last step
    words: int
    elapsed: float


class EmbeddingTrainer:
    """Trains ``model`` in place on ``data``; ``backend`` "kernel" (CPU) or "torch"."""

    def __init__(
        self,
        model: Word2Vec,
        data: TrainingData,
        config: EmbeddingTraining,
        run_dir: Path,
        *,
        device: torch.device,
        backend: str,
        threads: int,
        dist: DistContext | None = None,
        quiet: bool = False,
    ) -> None:
        self.model, self.data, self.config, self.run_dir = model, data, config, run_dir
        self.device, self.backend, self.dist = device, backend, dist or DistContext()
        self.quiet = quiet or not self.dist.is_main
        # A step is ``step_tokens``, or less on a small corpus, so that each rank still takes
        # about four steps an epoch (progress, resume points), but never below a chunk.
        per_rank = math.ceil(len(data.ids) / (4 * self.dist.world_size))
        step = min(config.step_tokens, max(config.chunk_tokens, per_rank))
        self.blocks = chunk_bounds(data.ids, 0, len(data.ids), step)
        self.position = Position()
        kernels.set_threads(threads)
        if backend == "torch":
            self.model.to(device)
            # The tree's paths on the device once, not per batch: (V, L) rows, labels, lengths.
            tree = data.tree
            self._paths = (
                torch.from_numpy(tree.points.astype(np.int64)).to(device),
                1 - torch.from_numpy(tree.codes.astype(np.int64)).to(device),
                torch.from_numpy(tree.lengths.astype(np.int64)).to(device),
            )

    def steps_per_epoch(self) -> int:
        return math.ceil((len(self.blocks) - 1) / self.dist.world_size)

    def fit(self, *, resume: bool = False) -> Word2VecResult:
        if resume:
            self._restore()
        pos, clock = self.position, time.monotonic() - self.position.elapsed
        total = self.config.epochs * self.steps_per_epoch()
        loss, self._last_save = None, (pos.elapsed, pos.step)
        with StopRequest() as stop, TrainingProgress(total, "word", enabled=not self.quiet) as progress:
            reason = "epochs" if pos.epoch >= self.config.epochs else None
            while reason is None:
                started = time.monotonic()
                loss_sum, examples, words = self._step(pos.epoch, pos.step_in_epoch)
                pos.step, pos.step_in_epoch, pos.words = (
                    pos.step + 1,
                    pos.step_in_epoch + 1,
                    pos.words + words,
                )
                loss = loss_sum / max(examples, 1)
                rate = words / max(time.monotonic() - started, 1e-9)
                self._report(progress, loss, rate, clock)
                if pos.step_in_epoch >= self.steps_per_epoch():
                    pos.epoch, pos.step_in_epoch = pos.epoch + 1, 0
                reason = self._stop_reason(stop, clock)
                if reason is None and self._save_due():
                    self._save(loss)
            pos.elapsed = time.monotonic() - clock
            self._save(loss)
        if reason == "signal" and stop.signum is not None:
            raise TrainingInterrupted(stop.signum, self.run_dir)
        epochs = pos.epoch + pos.step_in_epoch / max(1, self.steps_per_epoch())
        return Word2VecResult(pos.step, epochs, reason, loss, pos.words, pos.elapsed)

    def learning_rate(self, epoch: int, token: int) -> float:
        """The learning rate at stream position ``token`` of ``epoch``."""
        total = self.config.epochs * len(self.data.ids)
        return kernels.learning_rate(self.config.lr, (epoch * len(self.data.ids) + token) / total)

    # --- one step ---------------------------------------------------------------------------

    def _step(self, epoch: int, step: int) -> tuple[float, int, int]:
        block = step * self.dist.world_size + self.dist.rank
        result = (0.0, 0, 0)
        if block < len(self.blocks) - 1:
            start, end = int(self.blocks[block]), int(self.blocks[block + 1])
            # A seed per (run seed, epoch, block): resuming at a block draws what it would have.
            seed = zlib.crc32(f"{self.config.seed}:{epoch}:{block}".encode())
            run = self._kernel_step if self.backend == "kernel" else self._torch_step
            result = run(epoch, start, end, seed)
        if self.dist.enabled:
            result = self._average(result)
        return result

    def _kernel_step(self, epoch: int, start: int, end: int, seed: int) -> tuple[float, int, int]:
        data, cfg, model = self.data, self.model.config, self.model
        return kernels.run_block(
            data.ids, chunk_bounds(data.ids, start, end, self.config.chunk_tokens), model.input.data.numpy(),
            model.output.data.numpy(), data.keep, data.noise, data.tree, skipgram=cfg.model == "skipgram",
            hierarchical=cfg.loss == "hierarchical", window=cfg.window, negative=cfg.negative,
            lr=self.config.lr, done_before=epoch * len(data.ids), total=self.config.epochs * len(data.ids),
            seed=seed,
        )  # fmt: skip

    def _torch_step(self, epoch: int, start: int, end: int, seed: int) -> tuple[float, int, int]:
        cfg, rng = self.model.config, np.random.default_rng(seed)
        block = np.asarray(self.data.ids[start:end], np.int64)
        words_read = int((block >= kernels.FIRST_WORD).sum())
        words, sentence = subsample(block, self.data.keep, rng)
        if cfg.model == "skipgram":
            centres, contexts = skipgram_pairs(words, sentence, cfg.window, rng)
            inputs, mask = contexts[:, None], None
        else:
            centres, inputs, mask = cbow_examples(words, sentence, cfg.window, rng)
        order = rng.permutation(len(centres))  # mixes positions so a batch is not one passage
        loss_sum, size = 0.0, self.config.batch_size
        for index, first in enumerate(range(0, len(order), size)):
            rows = order[first : first + size]
            progress_token = start + (end - start) * index * size // max(len(order), 1)
            lr = self.learning_rate(epoch, progress_token)
            batch_mask = None if mask is None else torch.from_numpy(mask[rows]).to(self.device)
            targets, labels, valid = self._targets(torch.from_numpy(centres[rows]).to(self.device), rng)
            loss = self.model.sgd_step(
                torch.from_numpy(inputs[rows]).to(self.device), batch_mask, targets, labels, valid, lr
            )
            loss_sum += float(loss)
        return loss_sum, len(centres), words_read

    def _targets(self, centres: torch.Tensor, rng: np.random.Generator):
        """Output rows, labels and validity (B, K) for predicting ``centres`` (B,)."""
        cfg = self.model.config
        if cfg.loss == "hierarchical":
            points, labels, lengths = (table[centres] for table in self._paths)
            depth = torch.arange(points.shape[1], device=self.device)
            return points, labels, depth[None, :] < lengths[:, None]
        noise = torch.from_numpy(self.data.noise.sample(rng, (len(centres), cfg.negative))).to(self.device)
        targets = torch.cat([centres[:, None], noise], 1)
        labels = torch.zeros_like(targets)
        labels[:, 0] = 1
        valid = torch.ones_like(targets, dtype=torch.bool)
        valid[:, 1:] = noise != centres[:, None]
        return targets, labels, valid

    def _average(self, result: tuple[float, int, int]) -> tuple[float, int, int]:
        """Average the replicas' matrices, weighted by the words each trained on this step (a
        rank left without a block at an epoch's end must not halve the others' updates), and
        sum the step's figures over ranks."""
        figures = torch.tensor([float(value) for value in result], dtype=torch.float64, device=self.device)
        weight = figures[2].item()
        loss, examples, words = self.dist.sum(figures).tolist()
        if words == 0:
            return 0.0, 0, 0
        for matrix in (self.model.input.data, self.model.output.data):
            matrix *= weight / words
            self.dist.sum(matrix)
        return loss, int(examples), int(words)

    # --- bookkeeping ------------------------------------------------------------------------

    def _report(self, progress: TrainingProgress, loss: float, rate: float, clock: float) -> None:
        pos = self.position
        lr = self.learning_rate(pos.epoch, int(self.blocks[min(pos.step_in_epoch, len(self.blocks) - 1)]))
        total = self.config.epochs * self.steps_per_epoch()
        step_rate = pos.step / max(time.monotonic() - clock, 1e-9)
        remaining = (total - pos.step) / step_rate if step_rate > 0 else math.inf
        progress.update(step=pos.step, epoch=pos.epoch, figures={"loss": loss, "lr": lr}, rate=rate,
                        remaining=remaining)  # fmt: skip
        if self.dist.is_main:
            record = {"step": pos.step, "epoch": pos.epoch, "lr": lr, "train": {"loss": loss}, "rate": rate}
            checkpoint.append_metrics(self.run_dir, record)

    def _stop_reason(self, stop: StopRequest, clock: float) -> str | None:
        pos, cfg = self.position, self.config
        # One all-reduce: any rank's signal stops all; the mean clock steers all alike.
        flags = torch.tensor([float(stop.signum is not None), time.monotonic() - clock], dtype=torch.float64)
        signal_flag, elapsed = self.dist.sum(flags.to(self.device)).tolist()
        pos.elapsed = elapsed / self.dist.world_size
        if signal_flag:
            return "signal"
        if pos.epoch >= cfg.epochs:
            return "epochs"
        if cfg.max_steps is not None and pos.step >= cfg.max_steps:
            return "max-steps"
        if cfg.max_time is not None and pos.elapsed >= cfg.max_time:
            return "max-time"
        return None

    def _save_due(self) -> bool:
        cfg, pos = self.config, self.position
        last_time, last_step = self._last_save
        by_time = cfg.save_every is not None and pos.elapsed - last_time >= cfg.save_every
        by_steps = cfg.save_every_steps is not None and pos.step - last_step >= cfg.save_every_steps
        return by_time or by_steps

    def _save(self, loss: float | None) -> None:
        pos = self.position
        self._last_save = (pos.elapsed, pos.step)
        if self.dist.is_main:
            record = {"step": pos.step, "metric": "loss", "score": loss}
            checkpoint.save_weights(self.run_dir, self.model, record)
            state = {"model": self.model.state_dict(), "position": asdict(pos)}
            checkpoint.save_state(self.run_dir, {**state, "training": asdict(self.config)})
        # The others wait: a process that exits while rank 0 still writes takes the process
        # group down under it (gloo aborts the survivors).
        self.dist.barrier()

    def _restore(self) -> None:
        state = checkpoint.load_state(self.run_dir)
        try:
            self.model.load_state_dict(state["model"])
            self.position = Position(**state["position"])
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise SeqcliError(
                f"{self.run_dir / checkpoint.STATE_FILE}: does not fit this run ({err})"
            ) from None
        if self.dist.is_main:
            checkpoint.truncate_metrics(self.run_dir, self.position.step)
