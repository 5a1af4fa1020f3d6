"""What every train command shares around the Trainer: the run directory, threads, device,
torchrun's process group, and encoding corpora with a progress bar.

Under torchrun, rank 0 alone clears and writes the run directory and fills the token
cache; the other ranks wait at a barrier and then read what it wrote.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from seqcli.data.corpus import input_size
from seqcli.data.token_cache import token_stream
from seqcli.train import checkpoint
from seqcli.train.devices import resolve_device
from seqcli.train.distributed import DistContext, from_environment
from seqcli.train.trainer import TrainConfig, Trainer, TrainResult

__all__ = ["RunOptions", "TrainingSession"]


@dataclass(frozen=True)
class RunOptions:
    """Options of every train command that are not about the model or the data."""

    run_dir: Path
    device: str = "auto"
    threads: int | None = None
    overwrite: bool = False
    resume: bool = False
    quiet: bool = False
    cache_dir: Path | None = None
    argv: list[str] = field(default_factory=list)


class TrainingSession:
    """One training run: prepares its directory and device, then hands over to the Trainer."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        if options.threads:
            torch.set_num_threads(options.threads)
        checkpoint.check_run_dir(options.run_dir, overwrite=options.overwrite, resume=options.resume)
        self.device = resolve_device(options.device, _local_rank())
        self.dist: DistContext = from_environment(self.device)
        if self.dist.is_main:
            checkpoint.prepare_run_dir(options.run_dir, overwrite=options.overwrite, resume=options.resume)
            if not options.resume:
                checkpoint.write_run_record(options.run_dir, options.argv)
        self.dist.barrier()
        self.console = Console(stderr=True, quiet=options.quiet or not self.dist.is_main)

    @property
    def run_dir(self) -> Path:
        return self.options.run_dir

    def saved_config(self) -> dict[str, Any] | None:
        """The checkpoint's config when resuming, else None."""
        return checkpoint.read_config(self.run_dir) if self.options.resume else None

    def write_config(self, config: dict[str, Any]) -> None:
        if self.dist.is_main and not self.options.resume:
            checkpoint.write_config(self.run_dir, config)

    def encode(self, path: Path, tokenizer: Any, *, encoding_errors: str) -> np.ndarray:
        """The corpus as token ids, through the cache, rank 0 first."""
        if self.dist.is_main:
            ids = self._encode_with_progress(path, tokenizer, encoding_errors)
        self.dist.barrier()
        if not self.dist.is_main:
            ids = token_stream(
                path, tokenizer, encoding_errors=encoding_errors, cache_dir=self.options.cache_dir
            )
        return ids

    def _encode_with_progress(self, path: Path, tokenizer: Any, encoding_errors: str) -> np.ndarray:
        columns = (TextColumn(f"encoding {path.name}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
        with Progress(*columns, console=self.console, transient=True) as progress:
            bar = progress.add_task("encode", total=input_size(path))
            return token_stream(
                path,
                tokenizer,
                encoding_errors=encoding_errors,
                cache_dir=self.options.cache_dir,
                progress=lambda done: progress.advance(bar, done),
            )

    def train(self, task: Any, model: torch.nn.Module, config: TrainConfig) -> TrainResult:
        trainer = Trainer(
            task, model, config, self.run_dir, device=self.device, dist=self.dist, quiet=self.options.quiet
        )
        return trainer.fit(resume=self.options.resume)


def _local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))
