"""Speech recognition with CTC: features, batches, loss and validation for the Trainer.

Every utterance's normalised log-mel features are computed once and cached as float16 in
an indexed cache (item i: ``(T_i, n_mels)``); transcripts are cached as unit ids. Batches
hold utterances of similar duration under a frame budget (``BucketBatches``), so little of
a batch is padding. The loss is the CTC loss summed over the batch with the number of
transcript units as its normaliser (nats per unit). Training augmentations (a vocal tract
length warp, then SpecAugment's masks) are drawn from a generator seeded by (seed, epoch,
batch), so a resumed run sees the same ones. Validation decodes greedily and scores the
word error rate, which selects the best checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from seqcli.audio import (
    FeatureConfig,
    add_noise,
    add_reverb,
    change_speed,
    load_audio,
    mel_filterbank,
    utterance_features,
)
from seqcli.data.batching import BucketBatches
from seqcli.data.indexed import IndexedArray
from seqcli.decode.ctc import ctc_greedy
from seqcli.metrics.selection import Metric
from seqcli.metrics.wer import error_rates
from seqcli.models.ctc import ctc_loss_sum
from seqcli.text import Tokenizer
from seqcli.train.distributed import DistContext
from seqcli.train.trainer import TaskBase

__all__ = ["SpeechSet", "SpeechTask", "extract_features"]

WER = Metric("wer", "min")
EVAL_FRAMES = 20_000  # feature frames per validation batch

# A training-time transform of one utterance's (T, M) features, drawing from the generator.
Augmentation = Callable[[Tensor, torch.Generator], Tensor]


@dataclass(frozen=True)
class SpeechSet:
    """Utterances ready for training: features ``(T_i, M)``, unit ids, reference texts."""

    features: IndexedArray
    targets: IndexedArray
    texts: list[str]


def extract_features(
    paths: Sequence[Path],
    config: FeatureConfig,
    *,
    speed: float = 1.0,
    snr: float | None = None,
    rt60: float | None = None,
    workers: int = 1,
    progress: Any = None,
) -> Iterator[np.ndarray]:
    """Normalised log-mel features of each file, in order, as float16 ``(T, n_mels)``;
    ``speed`` other than 1 perturbs each waveform first (:func:`~seqcli.audio.change_speed`),
    ``snr`` adds white noise that many decibels below it (:func:`~seqcli.audio.add_noise`), and
    ``rt60`` a room's reverberation of that many seconds (:func:`~seqcli.audio.add_reverb`).
    Noise and rooms are drawn from generators seeded by the file's position and the setting,
    so a rebuilt cache is the same.

    ``workers`` threads decode and compute at once (libsndfile, soxr and torch release the
    interpreter lock); results come back in input order.
    """
    filters = mel_filterbank(config)

    def one(index: int) -> np.ndarray:
        samples = change_speed(load_audio(paths[index], config.sample_rate), speed)
        if snr is not None:
            samples = add_noise(samples, snr, np.random.default_rng([index, round(snr * 1000) & 0xFFFFFFFF]))
        if rt60 is not None:
            room = np.random.default_rng([index, round(rt60 * 1000), 2])  # 2: not a noise stream
            samples = add_reverb(samples, rt60, room, config.sample_rate)
        return utterance_features(samples, config, filters).numpy().astype(np.float16)

    if workers <= 1:
        for index in range(len(paths)):
            yield one(index)
            if progress is not None:
                progress(1)
        return
    with ThreadPoolExecutor(workers) as pool:
        # map keeps order; a bounded window of futures keeps memory bounded too.
        window = 4 * workers
        for first in range(0, len(paths), window):
            for item in pool.map(one, range(first, min(first + window, len(paths)))):
                yield item
                if progress is not None:
                    progress(1)


class SpeechTask(TaskBase):
    """Batches, CTC loss and greedy-WER validation of an acoustic model (module docstring)."""

    unit = "tok"
    metric = WER

    def __init__(
        self,
        train: SpeechSet,
        valid: SpeechSet | None,
        tokenizer: Tokenizer,
        *,
        max_frames: int,
        batch_size: int | None,
        augment: Sequence[Augmentation],
        seed: int,
        dist: DistContext | None = None,
    ) -> None:
        self.train, self.valid, self.tokenizer = train, valid, tokenizer
        self.augment, self.seed = tuple(augment), seed
        self.batches = BucketBatches(
            train.features.lengths, max_tokens=max_frames, batch_size=batch_size, seed=seed, dist=dist
        )

    def steps_per_epoch(self) -> int:
        return self.batches.steps_per_epoch()

    def train_batches(self, epoch: int, start: int) -> Iterator[tuple[Tensor, ...]]:
        for number, indices in enumerate(self.batches.epoch(epoch, start), start=start):
            seed = np.random.SeedSequence([self.seed, epoch, number]).generate_state(1)[0]
            generator = torch.Generator().manual_seed(int(seed))
            yield self._batch(self.train, indices, generator)

    def _batch(
        self, data: SpeechSet, indices: np.ndarray, generator: torch.Generator | None
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``features (B, T, M)`` zero-padded, ``lengths (B,)``, ``targets (S,)``, ``target_lengths (B,)``."""
        items = [torch.from_numpy(np.asarray(data.features[int(i)], dtype=np.float32)) for i in indices]
        if generator is not None:
            for transform in self.augment:  # in order: each utterance is warped, then masked
                items = [transform(item, generator) for item in items]
        lengths = torch.tensor([item.size(0) for item in items])
        features = torch.nn.utils.rnn.pad_sequence(items, batch_first=True)
        targets = [np.asarray(data.targets[int(i)], dtype=np.int64) for i in indices]
        target_lengths = torch.tensor([len(t) for t in targets])
        flat = torch.from_numpy(np.concatenate(targets)) if targets else torch.zeros(0, dtype=torch.long)
        return features, lengths, flat, target_lengths

    def loss(self, model: nn.Module, batch: tuple[Tensor, ...]) -> tuple[Tensor, Tensor]:
        features, lengths, targets, target_lengths = batch
        log_probs, frames = model(features, lengths)
        return ctc_loss_sum(log_probs, frames, targets, target_lengths), target_lengths.sum()

    @torch.no_grad()
    def evaluate(self, model: nn.Module) -> dict[str, float] | None:
        if self.valid is None:
            return None
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        hypotheses: dict[int, str] = {}
        loss, units = 0.0, 0
        plan = BucketBatches(self.valid.features.lengths, max_tokens=EVAL_FRAMES, shuffle=False)
        for indices in plan.epoch(0):
            features, lengths, targets, target_lengths = self._batch(self.valid, indices, None)
            log_probs, frames = model(features.to(device), lengths.to(device))
            loss += float(ctc_loss_sum(log_probs, frames, targets, target_lengths, zero_infinity=True))
            units += int(target_lengths.sum())
            for index, hypothesis in zip(indices, ctc_greedy(log_probs.cpu(), frames.cpu()), strict=True):
                hypotheses[int(index)] = self.tokenizer.decode(hypothesis.tokens)
        model.train(was_training)
        rates = error_rates(self.valid.texts, [hypotheses[i] for i in range(len(self.valid.texts))])
        return {"wer": rates.wer, "cer": rates.cer, "loss": loss / max(1, units)}
