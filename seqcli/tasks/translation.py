"""Translation as a task: parallel text as cached token ids, batches, loss, search, and
validation BLEU for the Trainer.

Each source sentence is its pieces followed by ``<eos>``; each target ``y<1..T>`` is fed
to the decoder as ``<bos> y<1..T>`` (teacher forcing) and predicted as ``y<1..T> <eos>``.
The loss is the label-smoothed cross-entropy summed over real target tokens, with their
count as the normaliser, so every token weighs the same whatever its sentence's length.
The best checkpoint is the one with the highest BLEU of greedy translations of the
validation set (decoded on rank 0).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from seqcli.data.batching import BucketBatches, pad
from seqcli.data.indexed import IndexedArray, file_identity, indexed_cache
from seqcli.data.parallel import SentencePair, read_parallel
from seqcli.decode.beam import Hypothesis, beam_search, greedy_search
from seqcli.errors import SeqcliError
from seqcli.metrics.bleu import corpus_bleu
from seqcli.models.seq2seq import Seq2Seq, Seq2SeqConfig, sequence_loss
from seqcli.tasks.registry import Metric
from seqcli.text import BOS_ID, EOS_ID, PAD_ID, Tokenizer
from seqcli.train.distributed import DistContext
from seqcli.train.trainer import TaskBase

__all__ = [
    "BLEU",
    "MAX_TRAIN_TOKENS",
    "SOURCE_TOKENIZER",
    "TARGET_TOKENIZER",
    "TASK",
    "ParallelIds",
    "SearchOptions",
    "TranslationDataConfig",
    "TranslationTask",
    "build_model",
    "encode_parallel",
    "search_batch",
    "translate_ids",
]

TASK = "translation"
BLEU = Metric("bleu", "max")
SOURCE_TOKENIZER, TARGET_TOKENIZER = "source-tokenizer", "target-tokenizer"  # run sub-directories
MAX_TRAIN_TOKENS = 250  # longer training pairs are left out (with a warning): one would fill a batch
_ENCODE_CHUNK = 4096  # sentences per encode_batch call


@dataclass(frozen=True)
class TranslationDataConfig:
    """How training batches are made: sentences per batch and label smoothing ε."""

    batch_size: int = 64
    label_smoothing: float = 0.1

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise SeqcliError(f"--batch-size must be at least 1, got {self.batch_size}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise SeqcliError(f"--label-smoothing must be in [0, 1), got {self.label_smoothing}")


@dataclass(frozen=True)
class SearchOptions:
    """How translations are searched for. The output may be at most
    ``max_length_ratio * T_x + max_length_extra`` tokens long, ``<eos>`` included."""

    beam_size: int = 5
    greedy: bool = False
    length_penalty: float = 0.7
    nbest: int = 1
    max_length_ratio: float = 2.0
    max_length_extra: int = 10
    attention: bool = False  # keep each hypothesis's attention weights

    def __post_init__(self) -> None:
        if self.beam_size < 1:
            raise SeqcliError(f"--beam must be at least 1, got {self.beam_size}")
        if not self.length_penalty >= 0:
            raise SeqcliError(f"--length-penalty must be >= 0, got {self.length_penalty}")
        if self.nbest < 1:
            raise SeqcliError(f"--nbest must be at least 1, got {self.nbest}")
        if self.nbest > (1 if self.greedy else self.beam_size):
            raise SeqcliError(f"--nbest {self.nbest} needs a beam at least as wide (--beam {self.nbest})")


@dataclass(frozen=True)
class ParallelIds:
    """Both sides of a parallel corpus as ids, each sentence ending in ``<eos>``."""

    source: IndexedArray
    target: IndexedArray


def encode_parallel(
    source: Path,
    target: Path | None,
    tokenizers: tuple[Tokenizer, Tokenizer],
    *,
    encoding_errors: str,
    cache_dir: Path | None,
) -> ParallelIds:
    """Encode two aligned files (or one TSV when ``target`` is None) through the indexed
    cache, one array per side keyed by that side's tokenizer."""
    files = {"source": file_identity(source), "target": None if target is None else file_identity(target)}
    sides = []
    for side, tokenizer in zip(("source", "target"), tokenizers, strict=True):
        key = {
            "task": TASK,
            "files": files,
            "side": side,
            "tokenizer": tokenizer.fingerprint(),
            "encoding_errors": encoding_errors,
        }
        pairs = functools.partial(read_parallel, source, target, encoding_errors=encoding_errors)
        build = functools.partial(_encode_side, pairs, tokenizer, side)
        sides.append(indexed_cache(key, build, dtype=np.int32, cache_dir=cache_dir))
    return ParallelIds(*sides)


def _encode_side(pairs: Any, tokenizer: Tokenizer, side: str) -> Iterator[np.ndarray]:
    stream: Iterator[SentencePair] = pairs()
    while chunk := list(itertools.islice(stream, _ENCODE_CHUNK)):
        for ids in tokenizer.encode_batch([getattr(pair, side) for pair in chunk]):
            yield np.asarray([*ids, EOS_ID], dtype=np.int32)


def collate(data: ParallelIds, indices: Sequence[int]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(source (B, S), source_lengths (B,), target_inputs (B, T), target_outputs (B, T))``."""
    # np.array copies out of the read-only memory map: torch warns on non-writable arrays.
    source = pad([np.array(data.source[int(i)]) for i in indices], pad_id=PAD_ID)
    targets = [np.array(data.target[int(i)]) for i in indices]  # y<1..T> <eos>
    outputs = pad(targets, pad_id=PAD_ID).tokens
    inputs = pad([np.concatenate([[BOS_ID], t[:-1]]) for t in targets], pad_id=PAD_ID).tokens
    return source.tokens, source.lengths, inputs, outputs


def build_model(config: dict[str, Any]) -> Seq2Seq:
    return Seq2Seq(Seq2SeqConfig(**config["model"]))


class TranslationTask(TaskBase):
    """Teacher-forced training on ``train``; greedy BLEU on ``valid`` (sources and their
    reference translations as text) selects the best checkpoint."""

    unit = "tok"
    metric = BLEU

    def __init__(
        self,
        train: ParallelIds,
        data: TranslationDataConfig,
        target_tokenizer: Tokenizer,
        *,
        valid: tuple[ParallelIds, list[str]] | None = None,
        seed: int = 0,
        dist: DistContext | None = None,
    ) -> None:
        self.train, self.data, self.valid = train, data, valid
        self.target_tokenizer = target_tokenizer
        lengths = np.maximum(train.source.lengths, train.target.lengths)
        self.examples = np.flatnonzero(lengths <= MAX_TRAIN_TOKENS)  # see MAX_TRAIN_TOKENS
        if len(self.examples) == 0:
            raise SeqcliError(f"every training pair is longer than {MAX_TRAIN_TOKENS} tokens")
        self.skipped = len(lengths) - len(self.examples)
        self.batches = BucketBatches(lengths[self.examples], batch_size=data.batch_size, seed=seed, dist=dist)

    def steps_per_epoch(self) -> int:
        return self.batches.steps_per_epoch()

    def train_batches(self, epoch: int, start: int) -> Iterable[tuple[Tensor, ...]]:
        for rows in self.batches.epoch(epoch, start):
            yield collate(self.train, self.examples[rows])

    def loss(self, model: nn.Module, batch: tuple[Tensor, ...]) -> tuple[Tensor, Tensor]:
        source, source_lengths, inputs, outputs = batch
        logits = model(source, source_lengths, inputs)
        return sequence_loss(logits, outputs, pad_id=PAD_ID, label_smoothing=self.data.label_smoothing)

    def evaluate(self, model: nn.Module) -> dict[str, float] | None:
        if self.valid is None:
            return None
        ids, references = self.valid
        loss, count = 0.0, 0
        for first in range(0, len(references), 2 * self.data.batch_size):
            rows = range(first, min(first + 2 * self.data.batch_size, len(references)))
            batch = [t.to(_device_of(model)) for t in collate(ids, rows)]
            total, tokens = sequence_loss(model(*batch[:3]), batch[3], pad_id=PAD_ID)
            loss, count = loss + float(total), count + int(tokens)
        sources = [np.array(ids.source[i]) for i in range(len(references))]
        results = translate_ids(
            model, sources, SearchOptions(greedy=True), batch_size=2 * self.data.batch_size
        )
        hypotheses = [self.target_tokenizer.decode(best[0].tokens) for best in results]
        return {"bleu": corpus_bleu(hypotheses, references), "loss": loss / max(count, 1)}


def search_batch(
    model: Seq2Seq, sources: Sequence[Sequence[int]], options: SearchOptions
) -> list[list[Hypothesis]]:
    """Search translations of a batch of id sequences (each ending in ``<eos>``): for each,
    ``options.nbest`` hypotheses, best first; traces are ``(T_y + 1, T_x)`` attention."""
    device = _device_of(model)
    batch = pad(sources, pad_id=PAD_ID).to(device)
    with torch.inference_mode():
        encoded, state = model.encode(batch.tokens, batch.lengths)
        max_lengths = (options.max_length_ratio * batch.lengths + options.max_length_extra).long()
        record = (lambda decoder_state: decoder_state.weights) if options.attention else None
        if options.greedy:
            step = functools.partial(model.step, encoded=encoded)
            found = greedy_search(
                step,
                state,
                bos_id=BOS_ID,
                eos_id=EOS_ID,
                max_lengths=max_lengths,
                length_penalty=options.length_penalty,
                record=record,
            )
            results = [[hypothesis] for hypothesis in found]
        else:
            results = beam_search(
                model.step,
                state,
                beam_size=options.beam_size,
                bos_id=BOS_ID,
                eos_id=EOS_ID,
                max_lengths=max_lengths,
                length_penalty=options.length_penalty,
                nbest=options.nbest,
                record=record,
                batch_dim=0,  # DecoderState is batch-first
                context=encoded.repeat(options.beam_size),  # finished sentences leave the batch
            )
    lengths = batch.lengths.tolist()
    return [[_trim(h, n) for h in hypotheses] for hypotheses, n in zip(results, lengths, strict=True)]


def translate_ids(
    model: Seq2Seq, sources: Sequence[Sequence[int]], options: SearchOptions, *, batch_size: int = 64
) -> list[list[Hypothesis]]:
    """:func:`search_batch` over many sentences, batched by length (less padding, similar
    output lengths); results in the order of ``sources``."""
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    results: list[list[Hypothesis]] = [[] for _ in sources]
    for first in range(0, len(order), batch_size):
        rows = order[first : first + batch_size]
        for row, found in zip(rows, search_batch(model, [sources[i] for i in rows], options), strict=True):
            results[row] = found
    return results


def _trim(hypothesis: Hypothesis, source_length: int) -> Hypothesis:
    """Drop the attention columns of the batch's padding."""
    if hypothesis.trace is None:
        return hypothesis
    trace = hypothesis.trace[:, :source_length].float().cpu()
    return Hypothesis(hypothesis.tokens, hypothesis.score, hypothesis.log_prob, trace)


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device
