"""What every train command shares around the Trainer: checking the run directory and the
options before anything is written, threads, device, torchrun's process group, resume
checks, and encoding inputs with a progress bar.

A start that fails must leave the run directory as it was. So a :class:`TrainingSession`
only checks when it is created; a task reads and validates its data, trains its tokenizer
and builds its model configuration first, and only then calls :meth:`TrainingSession.begin`,
which creates the directory and writes ``config.json`` and ``run.json``. Under torchrun,
rank 0 alone writes the run directory and fills caches (:meth:`rank0_first`); the other
ranks wait at a barrier and then read what it wrote.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from seqcli.data.corpus import STDIN, input_size, spool_stdin
from seqcli.data.token_cache import check_cache_dir, token_stream
from seqcli.errors import SeqcliError
from seqcli.text import Tokenizer, load_tokenizer
from seqcli.train import checkpoint
from seqcli.train.config import RESUMABLE, TrainConfig
from seqcli.train.devices import resolve_device
from seqcli.train.distributed import DistContext, from_environment
from seqcli.train.threads import ThreadGovernor
from seqcli.train.trainer import Trainer, TrainResult

__all__ = ["RunOptions", "TrainingSession", "data_fingerprint", "resume_conflicts"]

T = TypeVar("T")
FINGERPRINT_BYTES = 1 << 20  # hashed from each end of a data file


@dataclass(frozen=True)
class RunOptions:
    """Options of every train command that are not about the model or the data."""

    run_dir: Path
    device: str = "auto"
    threads: int | None = None
    overwrite: bool = False
    resume: bool = False
    new_data: bool = False
    quiet: bool = False
    cache_dir: Path | None = None
    argv: list[str] = field(default_factory=list)


class TrainingSession:
    """One training run: checks first, writes the run directory only at :meth:`begin`."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        checkpoint.check_run_dir(options.run_dir, overwrite=options.overwrite, resume=options.resume)
        if options.cache_dir is not None:
            check_cache_dir(options.cache_dir)
        self.threads = ThreadGovernor(options.threads)
        self.device = resolve_device(options.device, _local_rank())
        self.dist: DistContext = from_environment(self.device)
        self.console = Console(stderr=True, quiet=options.quiet or not self.dist.is_main)
        self._begun = False

    @property
    def run_dir(self) -> Path:
        return self.options.run_dir

    def saved_config(self) -> dict[str, Any] | None:
        """The checkpoint's config when resuming, else None."""
        return checkpoint.read_config(self.run_dir) if self.options.resume else None

    def begin(self, config: dict[str, Any]) -> None:
        """Everything is checked: create (or clear) the run directory, write its records."""
        if self.dist.is_main:
            options = self.options
            checkpoint.prepare_run_dir(
                options.run_dir,
                overwrite=options.overwrite,
                resume=options.resume,
                task_files=_task_files(options.run_dir, config),
            )
            if not options.resume:
                checkpoint.write_run_record(options.run_dir, options.argv)
                checkpoint.write_config(options.run_dir, config)
        self.dist.barrier()
        self._begun = True

    def rank0_first(self, build: Callable[[], T]) -> T:
        """``build()`` on rank 0, then on the others (which find its cache or files)."""
        if self.dist.is_main:
            result = build()
        self.dist.barrier()
        if not self.dist.is_main:
            result = build()
        return result

    def shared_tokenizer(self, build: Callable[[], Tokenizer]) -> Tokenizer:
        """A tokenizer trained once, on rank 0 (with every CPU thread), and sent to the others."""
        tokenizer = build() if self.dist.is_main else None
        files = self.dist.broadcast(tokenizer.serialize() if tokenizer is not None else None)
        if tokenizer is not None:
            return tokenizer
        with tempfile.TemporaryDirectory(prefix="seqcli-tokenizer-") as directory:
            for name, data in files.items():
                (Path(directory) / name).write_bytes(data)
            return load_tokenizer(Path(directory))

    def input_path(self, path: Path) -> Path:
        """``path`` itself, or for ``-`` standard input spooled once to the cache (read once,
        used by tokenizer training and encoding alike)."""
        if path != STDIN:
            return path
        if self.dist.enabled:
            raise SeqcliError("standard input cannot be shared by torchrun's processes; pass a file")
        return spool_stdin(self.options.cache_dir)

    def encode(self, path: Path, tokenizer: Any, *, encoding_errors: str) -> np.ndarray:
        """The corpus as token ids, through the cache, rank 0 first."""
        return self.rank0_first(lambda: self._encode(path, tokenizer, encoding_errors))

    def _encode(self, path: Path, tokenizer: Any, encoding_errors: str) -> np.ndarray:
        columns = (TextColumn(f"encoding {path.name}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
        with Progress(
            *columns, console=self.console, transient=True, disable=not self.console.is_terminal
        ) as progress:
            bar = progress.add_task("encode", total=input_size(path))
            return token_stream(
                path,
                tokenizer,
                encoding_errors=encoding_errors,
                cache_dir=self.options.cache_dir,
                progress=lambda done: progress.advance(bar, done),
            )

    def training_config(
        self,
        training: TrainConfig,
        saved: dict[str, Any] | None,
        given: Iterable[str],
        *,
        conflicts: Iterable[str] = (),
    ) -> TrainConfig:
        """The TrainConfig to use: on resume the saved one, with the resumable settings the
        user gave replacing it (a limit given replaces all saved limits); any other training
        setting given must equal the saved one. ``conflicts``: the task's own differences
        (model, tokenizer, data options), refused in the same message."""
        if saved is None:
            return training
        try:
            stored = TrainConfig(**saved["training"])
        except (KeyError, TypeError) as err:
            raise SeqcliError(
                f"{self.run_dir / checkpoint.CONFIG_FILE}: invalid training settings ({err})"
            ) from None
        given = set(given)
        fields = stored.__dataclass_fields__
        conflicts = [
            *conflicts,
            *(
                f"--{name.replace('_', '-')} {getattr(training, name)} (the run has {getattr(stored, name)})"
                for name in sorted(given & set(fields))
                if name not in RESUMABLE and getattr(training, name) != getattr(stored, name)
            ),
        ]
        _refuse(self.run_dir, conflicts)
        changes = {name: getattr(training, name) for name in RESUMABLE if name in given}
        if given & {"epochs", "max_steps", "max_time"}:
            changes.setdefault("max_steps", None)
            changes.setdefault("max_time", None)
        return TrainConfig(**{**stored.__dict__, **changes})

    def check_data(self, saved: dict[str, Any] | None, fingerprints: dict[str, dict[str, Any]]) -> None:
        """On resume, refuse data files that differ from the run's unless --new-data."""
        if saved is None or self.options.new_data:
            return
        recorded = saved.get("data_files", {})
        for role, now in fingerprints.items():
            before = recorded.get(role)
            if before is not None and before != now:
                raise SeqcliError(
                    f"--resume: the {role} data differs from the run's ({_difference(before, now)}); "
                    "pass --new-data to train on it anyway"
                )

    def train(self, task: Any, model: torch.nn.Module, config: TrainConfig) -> TrainResult:
        if not self._begun:
            raise RuntimeError("TrainingSession.begin() must come before train()")
        trainer = Trainer(
            task,
            model,
            config,
            self.run_dir,
            device=self.device,
            dist=self.dist,
            quiet=self.options.quiet,
            threads=self.threads,
        )
        return trainer.fit(resume=self.options.resume)


# The recurrent zoo's model options as --resume compares them: parameter -> (option as
# typed, config.json section, key). Tasks add their own entries (see resume_conflicts).
RECURRENT_RESUME_CHECKED = {
    "cell": ("--cell", "model", "cell"),
    "hidden": ("--hidden", "model", "hidden_size"),
    "embedding": ("--embedding", "model", "embedding_dim"),
    "layers": ("--layers", "model", "num_layers"),
    "dropout": ("--dropout", "model", "dropout"),
}


def check_model_options(model: dict[str, Any], options: dict[str, str]) -> None:
    """The model options ``model`` holds, by config key, named as typed (``options``: key ->
    ``--option``): ``cell`` one of the zoo's cells, ``dropout`` in [0, 1), every other one a
    size of at least 1. Checked before any work, so a bad value is a one-line error rather
    than a failure inside the model's constructor."""
    from seqcli.models.rnn import CELL_TYPES

    for key, option in options.items():
        value = model.get(key)
        if value is None:
            continue
        if key == "cell":
            if value not in CELL_TYPES:
                raise SeqcliError(f"{option} must be one of {', '.join(CELL_TYPES)}, got {value!r}")
        elif key == "dropout":
            if not 0.0 <= value < 1.0:
                raise SeqcliError(f"{option} must be in [0, 1), got {value}")
        elif value < 1:
            raise SeqcliError(f"{option} must be at least 1, got {value}")


def resume_conflicts(saved: dict[str, Any], requested: dict[str, tuple[str, str, Any]]) -> list[str]:
    """Options given on --resume that differ from the saved run.

    ``requested`` maps an option as typed (``--hidden``) to (config section, key, value).
    """
    conflicts = []
    for option, (section, key, value) in requested.items():
        before = saved.get(section, {}).get(key)
        if before != value:
            conflicts.append(f"{option} {value} (the run has {before})")
    return conflicts


def _refuse(run_dir: Path, conflicts: list[str]) -> None:
    if conflicts:
        raise SeqcliError(
            f"--resume {run_dir}: these options differ from the saved run: {'; '.join(conflicts)}; "
            "drop them to continue the run, or train a new one"
        )


def data_fingerprint(path: Path) -> dict[str, Any]:
    """A data file's identity for resume checks: its path, size and a hash of both ends."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(FINGERPRINT_BYTES))
        if size > 2 * FINGERPRINT_BYTES:
            handle.seek(-FINGERPRINT_BYTES, os.SEEK_END)
            digest.update(handle.read())
    return {"path": str(path.resolve()), "size": size, "sha256_ends": digest.hexdigest()[:16]}


def _difference(before: dict[str, Any], now: dict[str, Any]) -> str:
    if before.get("path") != now.get("path"):
        return f"was {before.get('path')}, now {now.get('path')}"
    if before.get("size") != now.get("size"):
        return f"{now.get('path')} was {before.get('size')} bytes, now {now.get('size')}"
    return f"{now.get('path')} has changed content"


def _task_files(run_dir: Path, config: dict[str, Any]) -> tuple[str, ...]:
    """Files of the new run's task and of the task whose run it replaces."""
    from seqcli.tasks import TASKS

    names = {config.get("task")}
    with contextlib.suppress(SeqcliError):  # no readable previous run: nothing of its own to remove
        names.add(checkpoint.read_config(run_dir)["task"])
    return tuple(pattern for name in names if name in TASKS for pattern in TASKS[name].files)


def _local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))
