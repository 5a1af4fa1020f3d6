"""Choosing the device from ``--device auto|cpu|cuda``."""

from __future__ import annotations

import torch

from seqcli.errors import SeqcliError
from seqcli.train.threads import configure_threads

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
