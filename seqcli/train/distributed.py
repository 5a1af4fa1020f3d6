"""Multi-process training under torchrun: process group set-up from torchrun's environment.

torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; without them training is one process. The
backend is nccl when the process trains on CUDA and gloo on CPU.
"""

from __future__ import annotations

import atexit
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

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """Element-wise sum over ranks (one all-reduce); the tensor itself in one process."""
        if self.enabled:
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` (plain data), on every rank."""
        if not self.enabled:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

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
        atexit.register(_leave_group)
    return context


def _leave_group() -> None:
    """Shut the process group down before the interpreter does. A rank that finished first
    and exited with gloo's threads still running aborted at random ("terminate called
    without an active exception") while rank 0 was still writing its files."""
    if dist.is_initialized():
        dist.destroy_process_group()
