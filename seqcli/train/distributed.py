"""Multi-process training under torchrun: process group set-up from torchrun's environment.

torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; without them training is one process. The
backend is nccl when the process trains on CUDA and gloo on CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

__all__ = ["DistContext", "from_environment"]


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def max(self, values: list[float], device: torch.device) -> list[float]:
        """Element-wise maximum over ranks, in one all-reduce: ranks must agree on when to
        stop and on the time-based learning rate, or their replicas drift apart."""
        if not self.enabled:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return tensor.tolist()

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value`` (plain data, tensors on CPU), on every rank, in rank order."""
        if not self.enabled:
            return [value]
        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, value)
        return gathered

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


def from_environment(device: torch.device) -> DistContext:
    """Join torchrun's process group if this process was started by torchrun."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistContext()
    context = DistContext(
        rank=int(os.environ["RANK"]),
        world_size=world_size,
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
    )
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return context
