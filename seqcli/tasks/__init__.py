"""Tasks: each says how its data becomes batches, its loss, evaluation and prediction.

``evaluate_checkpoint`` dispatches on the task named in a checkpoint's config.json, so
``seqcli evaluate`` works for every task.
"""

from __future__ import annotations

from pathlib import Path

import torch

from seqcli.errors import SeqcliError
from seqcli.train import checkpoint

__all__ = ["evaluate_checkpoint"]


def evaluate_checkpoint(
    run_dir: Path, data: Path, *, device: torch.device, encoding_errors: str = "strict"
) -> dict[str, float]:
    config = checkpoint.read_config(run_dir)
    if config["task"] == "lm":
        from seqcli.tasks.lm_use import evaluate_corpus, load_language_model

        return evaluate_corpus(load_language_model(run_dir, device), data, encoding_errors=encoding_errors)
    raise SeqcliError(f"{run_dir}: task {config['task']!r} is not known to this seqcli")
