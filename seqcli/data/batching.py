"""Batches of variable-length sequences: padding, token-budget buckets, seeded order, shards.

Sentence-level tasks (tagging, classification, translation, speech) train on sequences of
different lengths. :func:`pad` right-pads them into one ``(B, T)`` tensor with their lengths
and a mask. :class:`BucketBatches` plans an epoch the way fairseq and ESPnet do: sort by
length inside large random buckets (so padding stays small while batches still vary), cut
batches by a token budget (``B * T_max <= max_tokens``) or a sentence count, and shuffle the
batch order with a generator seeded by ``(seed, epoch)``. The plan is a pure function of
the lengths, the seed and the epoch, so a resumed run re-creates it and continues at a batch
index. Under torchrun every rank plans the same global batches and takes its own share of
each (rows ``rank::world_size``), so two ranks with B/2 see what one process with B sees.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from seqcli.errors import SeqcliError
from seqcli.train.distributed import DistContext

__all__ = ["BucketBatches", "Padded", "pad"]

BUCKET_BATCHES = 100  # batches' worth of sequences sorted together


@dataclass(frozen=True)
class Padded:
    """Right-padded sequences.

    tokens: ``(B, T)`` ids (or ``(B, T, F)`` features); lengths: ``(B,)`` int64;
    mask: ``(B, T)`` bool, True at real positions.
    """

    tokens: Tensor
    lengths: Tensor
    mask: Tensor

    def to(self, device: torch.device) -> Padded:
        return Padded(self.tokens.to(device), self.lengths.to(device), self.mask.to(device))


def pad(sequences: Sequence[Sequence[int] | np.ndarray | Tensor], *, pad_id: int | float = 0) -> Padded:
    """Pad ids ``(T_i,)`` to ``(B, T)`` (int64), or features ``(T_i, F)`` to ``(B, T, F)``.

    >>> batch = pad([[5, 6, 7], [8]])
    >>> batch.tokens.tolist(), batch.lengths.tolist(), batch.mask.tolist()
    ([[5, 6, 7], [8, 0, 0]], [3, 1], [[True, True, True], [True, False, False]])
    """
    if not sequences:
        raise ValueError("pad() needs at least one sequence")
    # np.array copies: rows of a read-only memmap cannot back a tensor without a warning.
    tensors = [s if isinstance(s, Tensor) else torch.from_numpy(np.array(s)) for s in sequences]
    dtype = torch.float32 if tensors[0].is_floating_point() else torch.long
    tensors = [t.to(dtype) for t in tensors]
    lengths = torch.tensor([len(t) for t in tensors], dtype=torch.long)
    tokens = torch.nn.utils.rnn.pad_sequence(tensors, batch_first=True, padding_value=pad_id)
    if tokens.shape[1] == 0:  # every sequence empty
        tokens = tokens.new_full((len(tensors), 0, *tokens.shape[2:]), pad_id)
    mask = torch.arange(tokens.shape[1])[None, :] < lengths[:, None]
    return Padded(tokens, lengths, mask)


class BucketBatches:
    """A seeded, resumable plan of length-bucketed batches of example indices (module docs).

    lengths: ``(N,)`` length of each example (tokens, frames). Give ``max_tokens`` (a budget
    on ``B * T_max`` per global batch), ``batch_size`` (examples per global batch), or both.
    """

    def __init__(
        self,
        lengths: np.ndarray | Sequence[int],
        *,
        max_tokens: int | None = None,
        batch_size: int | None = None,
        seed: int = 0,
        shuffle: bool = True,
        dist: DistContext | None = None,
    ) -> None:
        if max_tokens is None and batch_size is None:
            raise ValueError("BucketBatches needs max_tokens, batch_size or both")
        if (max_tokens is not None and max_tokens < 1) or (batch_size is not None and batch_size < 1):
            raise SeqcliError("--batch-size and --max-tokens must be at least 1")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        if len(self.lengths) == 0:
            raise SeqcliError("no examples to train on")
        self.max_tokens, self.batch_size = max_tokens, batch_size
        self.seed, self.shuffle = seed, shuffle
        self.dist = dist or DistContext()
        self._plans: dict[int, list[np.ndarray]] = {}

    def steps_per_epoch(self) -> int:
        return len(self.plan(0))

    def plan(self, epoch: int) -> list[np.ndarray]:
        """The global batches of ``epoch``: arrays of example indices (the same on every rank)."""
        if epoch not in self._plans:
            self._plans = {epoch: self._make_plan(epoch)}  # keep one epoch: plans can be large
        return self._plans[epoch]

    def epoch(self, epoch: int, start: int = 0) -> Iterator[np.ndarray]:
        """This rank's share of each batch of ``epoch``, from batch ``start`` on."""
        rank, world = self.dist.rank, self.dist.world_size
        for batch in self.plan(epoch)[start:]:
            yield batch[rank::world]

    def _make_plan(self, epoch: int) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.lengths)) if self.shuffle else np.arange(len(self.lengths))
        bucket = BUCKET_BATCHES * (self.batch_size or max(1, self._typical_batch()))
        batches: list[np.ndarray] = []
        for first in range(0, len(order), bucket):
            chunk = order[first : first + bucket]
            # Stable sort: equal lengths keep their shuffled order.
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches.extend(self._cut(chunk))
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def _typical_batch(self) -> int:
        return int(self.max_tokens // max(1, int(np.median(self.lengths))))

    def _cut(self, chunk: np.ndarray) -> list[np.ndarray]:
        """Cut length-sorted indices into batches within the budget; each holds at least one
        example per rank (a rank with nothing to do would stall DDP's gradient all-reduce)."""
        minimum = self.dist.world_size
        batches, start = [], 0
        while start < len(chunk):
            end = start + minimum
            while end < len(chunk) and self._fits(chunk[start : end + 1]):
                end += 1
            batches.append(chunk[start:end])
            start = end
        if len(batches) > 1 and len(batches[-1]) < minimum:
            batches[-2] = np.concatenate([batches[-2], batches.pop()])
        return batches

    def _fits(self, batch: np.ndarray) -> bool:
        if self.batch_size is not None and len(batch) > self.batch_size:
            return False
        # batch is sorted by length, so its last example is the longest.
        return self.max_tokens is None or len(batch) * int(self.lengths[batch[-1]]) <= self.max_tokens
