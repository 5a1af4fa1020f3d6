"""Language modelling: P(y<1..T>) as a product of next-token distributions.

The training stream is the whole corpus as one sequence of token ids (each line ends with
``<eos>`` for word and subword models, so sentence probabilities form a distribution; a
character model reads running text, newlines included). As in Zaremba et al. (2014) and
pytorch/examples word_language_model, the stream is cut into ``B`` parallel rows and read in
windows of ``bptt`` steps; the hidden state is carried from one window to the next and
detached (truncated backpropagation through time).

Under torchrun the global batch is ``B * world_size`` rows and each rank reads its own
``B`` of them, so two ranks with batch B/2 see exactly what one process with batch B sees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqcli.errors import SeqcliError
from seqcli.metrics.perplexity import bits_per_char, perplexity
from seqcli.metrics.selection import Metric
from seqcli.models.lm import LanguageModel, LanguageModelConfig
from seqcli.models.rnn import detach_state
from seqcli.train.distributed import DistContext
from seqcli.train.trainer import TaskBase

__all__ = ["LMDataConfig", "LanguageModelTask", "evaluate_stream", "stream_rows"]

TASK = "lm"
EVAL_BATCH_SIZE = 10


@dataclass(frozen=True)
class LMDataConfig:
    batch_size: int = 20
    bptt: int = 35

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.bptt < 1:
            raise SeqcliError("--batch-size and --bptt must be at least 1")


def stream_rows(ids: np.ndarray, rows: int, *, source: str, bptt: int) -> np.ndarray:
    """Cut a 1-D id stream into ``rows`` equal rows: ``(rows, length)``, still a memmap view."""
    length = len(ids) // rows
    if length - 1 < bptt:
        raise SeqcliError(
            f"{source}: {len(ids)} tokens give rows of {length} for batch size {rows}, shorter than one "
            f"BPTT window ({bptt} + 1); use a longer corpus or a smaller --batch-size / --bptt"
        )
    return ids[: rows * length].reshape(rows, length)


def _window(rows: np.ndarray, index: int, bptt: int) -> tuple[Tensor, Tensor]:
    """Inputs and next-token targets of window ``index``: both ``(B, T)``, T <= bptt."""
    start = index * bptt
    end = min(start + bptt, rows.shape[1] - 1)
    chunk = torch.from_numpy(np.asarray(rows[:, start : end + 1], dtype=np.int64))
    return chunk[:, :-1], chunk[:, 1:]


def _windows(length: int, bptt: int) -> int:
    return math.ceil((length - 1) / bptt)


class LanguageModelTask(TaskBase):
    """Batches, loss and evaluation of a recurrent language model (see module docstring)."""

    unit = "tok"
    metric = Metric("loss", "min")

    def __init__(
        self,
        train_ids: np.ndarray,
        valid_ids: np.ndarray | None,
        data: LMDataConfig,
        *,
        char_level: bool,
        dist: DistContext | None = None,
        source: str = "corpus",
    ) -> None:
        dist = dist or DistContext()
        rows = stream_rows(train_ids, data.batch_size * dist.world_size, source=source, bptt=data.bptt)
        self.rows = rows[dist.rank * data.batch_size : (dist.rank + 1) * data.batch_size]
        self.valid_ids = valid_ids
        self.data, self.char_level = data, char_level
        self.hidden: Any = None
        self._previous_hidden: Any = None

    def steps_per_epoch(self) -> int:
        return _windows(self.rows.shape[1], self.data.bptt)

    def train_batches(self, epoch: int, start: int):
        if start == 0:
            self.hidden = None  # each epoch starts from a<0> = 0
        for index in range(start, self.steps_per_epoch()):
            yield _window(self.rows, index, self.data.bptt)

    def loss(self, model: nn.Module, batch: tuple[Tensor, Tensor]) -> tuple[Tensor, int]:
        inputs, targets = batch
        hidden = _to_device(self.hidden, inputs.device)
        logits, hidden = model(inputs, hidden)
        self._previous_hidden, self.hidden = self.hidden, detach_state(hidden)
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), reduction="sum"
        )
        return loss, targets.numel()

    def rollback(self) -> None:
        # A skipped step must not carry its (possibly non-finite) state into the next window.
        self.hidden = self._previous_hidden

    def evaluate(self, model: nn.Module) -> dict[str, float] | None:
        if self.valid_ids is None:
            return None
        loss = evaluate_stream(model, self.valid_ids, bptt=self.data.bptt, device=_device_of(model))
        return {"loss": loss, **self.describe(loss)}

    def describe(self, loss: float) -> dict[str, float]:
        if self.char_level:
            return {"bpc": bits_per_char(loss)}
        return {"ppl": perplexity(loss)}

    def state_dict(self) -> dict[str, Any]:
        return {"hidden": self.hidden}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.hidden = state["hidden"]


@torch.no_grad()
def evaluate_stream(
    model: nn.Module, ids: np.ndarray, *, bptt: int, device: torch.device, batch_size: int = EVAL_BATCH_SIZE
) -> float:
    """Mean negative log-likelihood (nats per token) of a whole id stream."""
    was_training = model.training
    model.eval()
    rows = stream_rows(
        ids, min(batch_size, max(1, (len(ids) - 1) // (bptt + 1))), source="evaluation data", bptt=1
    )
    # Summed on the device, read once at the end: no host sync per window.
    total, count, hidden = torch.zeros((), dtype=torch.float64, device=device), 0, None
    for index in range(_windows(rows.shape[1], bptt)):
        inputs, targets = (t.to(device) for t in _window(rows, index, bptt))
        logits, hidden = model(inputs, hidden)
        total += F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), reduction="sum"
        )
        count += targets.numel()
    model.train(was_training)
    return total.item() / count


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _to_device(state: Any, device: torch.device) -> Any:
    if state is None or isinstance(state, Tensor):
        return None if state is None else state.to(device)
    return tuple(part.to(device) for part in state)


def build_model(config: dict[str, Any]) -> LanguageModel:
    return LanguageModel(LanguageModelConfig(**config["model"]))
