"""The checkpoint directory: config, weights, resumable state, metrics, run record.

    runs/NAME/config.json         task, model and training settings; rebuilds the model
    runs/NAME/model.safetensors   best weights on validation (last, without validation)
    runs/NAME/tokenizer.*         written by seqcli.text
    runs/NAME/state/trainer.pt    what --resume needs (tensors and plain values only)
    runs/NAME/metrics.jsonl       one JSON object per log line or evaluation
    runs/NAME/run.json            the command line, versions and start time

Every write is atomic (seqcli.atomic), and nothing loaded here can run code: weights go
through safetensors, the trainer state through ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import io
import json
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_model, save_model

from seqcli import __version__
from seqcli.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from seqcli.errors import SeqcliError

__all__ = [
    "CONFIG_FILE",
    "FORMAT_VERSION",
    "METRICS_FILE",
    "STATE_FILE",
    "WEIGHTS_FILE",
    "append_metrics",
    "check_run_dir",
    "has_state",
    "load_state",
    "load_weights",
    "prepare_run_dir",
    "read_config",
    "read_metrics",
    "save_state",
    "save_weights",
    "truncate_metrics",
    "weights_record",
    "write_config",
    "write_run_record",
]

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
STATE_FILE = "state/trainer.pt"
METRICS_FILE = "metrics.jsonl"
RUN_FILE = "run.json"
# Files a run writes; --overwrite removes exactly these (and the files its task declares,
# see seqcli.tasks.registry.TaskEntry.files) and nothing else of the user's.
RUN_FILES = (CONFIG_FILE, WEIGHTS_FILE, METRICS_FILE, RUN_FILE, "tokenizer.json", "tokenizer.model")
REQUIRED_KEYS = ("format_version", "task", "model")


def check_run_dir(run_dir: Path, *, overwrite: bool, resume: bool) -> None:
    """Refuse to train into ``run_dir`` if that would clobber another run (reads only).

    A new run needs a missing or empty directory, one that a failed start left without
    weights or state, or ``overwrite``; ``resume`` needs one holding resumable state.
    """
    if resume and overwrite:
        raise SeqcliError("--resume and --overwrite contradict each other; choose one")
    if resume:
        if not has_state(run_dir):
            raise SeqcliError(f"{run_dir}: nothing to resume ({STATE_FILE} missing)")
    elif run_dir.exists() and not run_dir.is_dir():
        raise SeqcliError(f"{run_dir}: exists and is not a directory")
    elif run_dir.exists() and any(run_dir.iterdir()) and not overwrite and not _never_trained(run_dir):
        raise SeqcliError(
            f"{run_dir}: already holds files (another run?); "
            "pass --overwrite to replace it or --resume to continue it"
        )


def _never_trained(run_dir: Path) -> bool:
    """A run directory whose start failed or was interrupted: its records but no weights or state."""
    has_records = (run_dir / CONFIG_FILE).exists() or (run_dir / RUN_FILE).exists()
    return has_records and not (run_dir / WEIGHTS_FILE).exists() and not has_state(run_dir)


def prepare_run_dir(
    run_dir: Path, *, overwrite: bool, resume: bool, task_files: tuple[str, ...] = ()
) -> None:
    """Check ``run_dir`` (see check_run_dir), clear it for --overwrite (or a failed start's
    leftovers), and prove it writable now rather than at the first save. ``task_files``:
    glob patterns of the files the run's task writes besides the common ones."""
    check_run_dir(run_dir, overwrite=overwrite, resume=resume)
    if not resume and run_dir.exists():
        _remove_run_files(run_dir, task_files)
    _check_writable(run_dir)
    _remove_stale_temporaries(run_dir)


def _remove_run_files(run_dir: Path, task_files: tuple[str, ...]) -> None:
    for name in RUN_FILES:
        (run_dir / name).unlink(missing_ok=True)
    for pattern in task_files:
        for path in run_dir.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    shutil.rmtree(run_dir / "state", ignore_errors=True)


def _remove_stale_temporaries(run_dir: Path) -> None:
    """Temporary files of writes a crash or a second Ctrl-C cut short (seqcli.atomic names them)."""
    for stale in [*run_dir.glob(".*.tmp"), *(run_dir / "state").glob(".*.tmp")]:
        stale.unlink(missing_ok=True)


def _check_writable(run_dir: Path) -> None:
    try:
        (run_dir / "state").mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(run_dir / "state" / ".write-test", b"ok")
        (run_dir / "state" / ".write-test").unlink()
    except OSError as err:
        raise SeqcliError(f"{run_dir}: cannot write there ({err.strerror})") from err


def write_config(run_dir: Path, config: dict[str, Any]) -> None:
    record = {"format_version": FORMAT_VERSION, "seqcli_version": __version__, **config}
    atomic_write_text(run_dir / CONFIG_FILE, json.dumps(record, indent=2) + "\n")


def write_run_record(run_dir: Path, argv: list[str]) -> None:
    record = {
        "argv": argv,
        "seqcli_version": __version__,
        "torch_version": torch.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    atomic_write_text(run_dir / RUN_FILE, json.dumps(record, indent=2) + "\n")


def read_config(run_dir: Path, *, task: str | None = None) -> dict[str, Any]:
    """Read and validate ``config.json``; ``task`` if given must match the checkpoint's."""
    if not run_dir.is_dir():
        raise SeqcliError(f"{run_dir}: no such checkpoint directory")
    path = run_dir / CONFIG_FILE
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SeqcliError(f"{path}: missing; is {run_dir} a seqcli checkpoint?") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SeqcliError(f"{path}: unreadable or truncated ({err})") from None
    _validate_config(path, config, task)
    return config


def _validate_config(path: Path, config: Any, task: str | None) -> None:
    if not isinstance(config, dict):
        raise SeqcliError(f"{path}: expected a JSON object")
    missing = [key for key in REQUIRED_KEYS if key not in config]
    if missing:
        raise SeqcliError(f"{path}: missing keys: {', '.join(missing)}")
    version = config["format_version"]
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise SeqcliError(
            f"{path}: checkpoint format {version} is newer than this seqcli understands "
            f"({FORMAT_VERSION}); upgrade seqcli"
        )
    if task is not None and config["task"] != task:
        raise SeqcliError(f"{path}: this is a '{config['task']}' checkpoint, not a '{task}' one")


def save_weights(run_dir: Path, model: torch.nn.Module, record: dict[str, Any] | None = None) -> None:
    """Save weights with ``record`` (e.g. step and validation loss) as safetensors metadata."""
    metadata = {"seqcli": json.dumps(record or {})}
    # save_model (not save_file) because tied weights share storage, which save_file refuses.
    try:
        with atomic_path(run_dir / WEIGHTS_FILE) as tmp:
            save_model(model, str(tmp), metadata=metadata)
    except OSError as err:
        raise _save_error(run_dir / WEIGHTS_FILE, err) from None


def weights_record(run_dir: Path) -> dict[str, Any]:
    """The record saved with the weights, or {} when there are none (or it is unreadable)."""
    try:
        with safe_open(str(run_dir / WEIGHTS_FILE), framework="pt") as weights:
            return json.loads((weights.metadata() or {}).get("seqcli", "{}"))
    except (SafetensorError, OSError, ValueError):
        return {}


def _save_error(path: Path, err: OSError) -> SeqcliError:
    return SeqcliError(
        f"{path}: cannot save the checkpoint ({err.strerror or err}); the previous one is intact"
    )


def load_weights(run_dir: Path, model: torch.nn.Module) -> None:
    path = run_dir / WEIGHTS_FILE
    if not path.is_file():
        raise SeqcliError(f"{path}: missing; the checkpoint holds no trained weights")
    try:
        missing, unexpected = load_model(model, str(path), strict=False, device="cpu")
    except (SafetensorError, OSError, RuntimeError, ValueError) as err:
        raise SeqcliError(f"{path}: unreadable or truncated ({err})") from None
    if missing or unexpected:
        raise SeqcliError(f"{path}: does not match config.json (missing {missing}, unexpected {unexpected})")


def has_state(run_dir: Path) -> bool:
    return (run_dir / STATE_FILE).is_file()


def save_state(run_dir: Path, state: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    try:
        (run_dir / STATE_FILE).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(run_dir / STATE_FILE, buffer.getvalue())
    except OSError as err:
        raise _save_error(run_dir / STATE_FILE, err) from None


def load_state(run_dir: Path) -> dict[str, Any]:
    path = run_dir / STATE_FILE
    try:
        # weights_only: the state is data; a planted pickle that would run code is refused.
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise SeqcliError(f"{path}: missing; nothing to resume") from None
    except Exception as err:  # torch raises many types for bad files; all mean the same here
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise SeqcliError(f"{path}: cannot be loaded safely ({reason})") from None


def append_metrics(run_dir: Path, record: dict[str, Any]) -> None:
    try:
        with open(run_dir / METRICS_FILE, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
    except OSError as err:
        raise SeqcliError(f"{run_dir / METRICS_FILE}: cannot write ({err.strerror or err})") from None


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """Metric records; a torn last line (a crash mid-write) is ignored."""
    path = run_dir / METRICS_FILE
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def truncate_metrics(run_dir: Path, step: int) -> None:
    """Drop records past ``step``: a resumed run rewrites what followed its saved state."""
    kept = [r for r in read_metrics(run_dir) if r.get("step", 0) <= step]
    atomic_write_text(run_dir / METRICS_FILE, "".join(json.dumps(r) + "\n" for r in kept))
