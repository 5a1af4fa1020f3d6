"""Choosing the device from ``--device auto|cpu|cuda``."""

from __future__ import annotations

import torch

from seqcli.errors import SeqcliError

__all__ = ["DEVICES", "configure_threads", "resolve_device"]

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` takes CUDA when present; under torchrun each process takes its local GPU."""
    if name not in DEVICES:
        raise SeqcliError(f"--device must be one of {', '.join(DEVICES)}, got {name!r}")
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise SeqcliError("--device cuda: no CUDA device is available (this torch build or machine has none)")
    device = torch.device("cuda", local_rank % torch.cuda.device_count())
    torch.cuda.set_device(device)
    return device


def configure_threads(requested: int | None) -> int:
    """Set torch's CPU threads: ``requested`` if given (>= 1), else torch's default."""
    if requested is not None:
        if requested < 1:
            raise SeqcliError(f"--threads must be at least 1, got {requested}")
        torch.set_num_threads(requested)
    return torch.get_num_threads()
