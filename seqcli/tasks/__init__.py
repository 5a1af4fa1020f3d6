"""Tasks: each says how its data becomes batches, its loss, evaluation and prediction.

``read_task_config`` is how commands that work on any checkpoint (``evaluate``, ``info``)
read one: it refuses a task this seqcli does not know. ``evaluate_checkpoint`` dispatches
on that task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from seqcli.errors import SeqcliError
from seqcli.train import checkpoint

__all__ = ["TASKS", "evaluate_checkpoint", "read_task_config"]

TASKS = ("lm",)


def read_task_config(run_dir: Path) -> dict[str, Any]:
    config = checkpoint.read_config(run_dir)
    if config["task"] not in TASKS:
        raise SeqcliError(
            f"{run_dir / checkpoint.CONFIG_FILE}: unknown task {config['task']!r} "
            f"(this seqcli knows {', '.join(TASKS)}); was it written by a newer seqcli?"
        )
    return config


def evaluate_checkpoint(
    run_dir: Path, data: Path, *, device: torch.device, encoding_errors: str = "strict"
) -> dict[str, float]:
    """Evaluate any checkpoint on ``data`` with its own task's measure."""
    read_task_config(run_dir)
    from seqcli.tasks.lm_use import evaluate_corpus, load_language_model

    return evaluate_corpus(load_language_model(run_dir, device), data, encoding_errors=encoding_errors)
