"""The tagger task: batches, loss and validation for the Trainer; loading and prediction.

A batch is a dict of tensors (:func:`make_batch`): the padded word ids and lengths, the
spellings of the batch's distinct word forms, which spelling stands at each position, and
the gold tags. During training each word seen once in the training data is replaced by
``<unk>`` with probability 1/2 (Lample et al. 2016, section 4), so the ``<unk>``
embedding is trained and the model learns to lean on the characters of words it does not
know; ``--word-dropout P`` also replaces every word with probability P (as Stanza's
tagger does), for more of that lesson. The draws are seeded by (seed, epoch, batch) so a
resumed run repeats them exactly.

The loss is summed over the batch with the number of words as its normaliser. The
selection metric is entity F1 (higher is better) for a chunk scheme, word accuracy for
plain tags, both in percent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from seqcli.data.batching import BucketBatches, pad
from seqcli.data.labels import LabelVocabulary
from seqcli.data.tagschemes import allowed_transitions
from seqcli.data.words import PAD_ID, UNK_ID, WordVocabulary
from seqcli.metrics.accuracy import accuracy
from seqcli.metrics.spans import span_scores
from seqcli.models.tagger import Tagger, TaggerConfig
from seqcli.tasks.registry import Metric
from seqcli.tasks.tagger_data import LEARNED_SCHEME, EncodedSentences, TagColumn, from_learned
from seqcli.train import checkpoint
from seqcli.train.distributed import DistContext
from seqcli.train.trainer import TaskBase

__all__ = [
    "TASK",
    "LoadedTagger",
    "TaggerTask",
    "load_tagger",
    "load_vocabularies",
    "make_batch",
    "predict",
    "tag_scores",
    "tagger_metric",
]

TASK = "tagger"
WORD_DROPOUT = 0.5
PREDICT_TOKENS = 8192  # words per prediction batch


def tagger_metric(scheme: str | None) -> Metric:
    return Metric("f1", "max") if scheme else Metric("accuracy", "max")


def make_batch(data: EncodedSentences, rows: Sequence[int], *, with_tags: bool = True) -> dict[str, Tensor]:
    """The sentences ``rows`` of ``data`` as one padded batch (see the module docstring)."""
    words = pad([data.words[i] for i in rows])
    batch = {"words": words.tokens, "lengths": words.lengths}
    if data.spellings:
        forms = np.concatenate([data.forms[i] for i in rows])
        distinct, inverse = np.unique(forms, return_inverse=True)
        spelled = pad([data.spellings[k] for k in distinct])
        positions = pad([np.zeros(len(data.forms[i]), dtype=np.int64) for i in rows])
        word_chars = torch.zeros_like(positions.tokens)
        word_chars[positions.mask] = torch.from_numpy(inverse.astype(np.int64))
        batch |= {"chars": spelled.tokens, "char_lengths": spelled.lengths, "word_chars": word_chars}
    if with_tags:
        batch["tags"] = pad([data.tags[i] for i in rows]).tokens
    return batch


def tag_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], scheme: str | None) -> dict:
    """``f1 precision recall accuracy`` (chunk scheme) or ``accuracy``, in percent."""
    if scheme is not None:
        scores = span_scores(gold, predicted, scheme)
        figures = (scores.f1, scores.precision, scores.recall, scores.accuracy)
        return dict(zip(("f1", "precision", "recall", "accuracy"), (100 * f for f in figures), strict=True))
    right = sum(g == p for gs, ps in zip(gold, predicted, strict=True) for g, p in zip(gs, ps, strict=True))
    return {"accuracy": 100 * accuracy(right, sum(len(gs) for gs in gold))}


class TaggerTask(TaskBase):
    """What the Trainer needs to train a :class:`~seqcli.models.tagger.Tagger`."""

    unit = "tok"

    def __init__(
        self,
        train: EncodedSentences,
        valid: EncodedSentences | None,
        valid_gold: Sequence[Sequence[str]],
        tags: LabelVocabulary,
        scheme: str | None,
        singletons: np.ndarray,
        *,
        batch_size: int,
        seed: int,
        word_dropout: float = 0.0,
        dist: DistContext | None = None,
    ) -> None:
        self.train, self.valid, self.valid_gold = train, valid, valid_gold
        self.tags, self.scheme, self.seed = tags, scheme, seed
        self.metric = tagger_metric(scheme)
        self.singletons = torch.from_numpy(singletons)  # (V,) bool: seen once in training
        self.word_dropout = word_dropout  # of every word, besides the singletons' rule
        self.batches = BucketBatches(train.lengths(), batch_size=batch_size, seed=seed, dist=dist)

    def steps_per_epoch(self) -> int:
        return self.batches.steps_per_epoch()

    def train_batches(self, epoch: int, start: int):
        for index, rows in enumerate(self.batches.epoch(epoch, start), start=start):
            batch = make_batch(self.train, rows)
            generator = torch.Generator().manual_seed(hash((self.seed, epoch, index)) & 0x7FFF_FFFF)
            words = batch["words"]
            drop = self.singletons[words] & (torch.rand(words.shape, generator=generator) < WORD_DROPOUT)
            if self.word_dropout:
                drop |= (words != PAD_ID) & (torch.rand(words.shape, generator=generator) < self.word_dropout)
            batch["words"] = words.masked_fill(drop, UNK_ID)
            yield batch

    def loss(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        return model(**batch), batch["lengths"].sum()

    def evaluate(self, model: nn.Module) -> dict[str, float] | None:
        if self.valid is None:
            return None
        predicted = predict(model, self.valid)
        decoded = [from_learned(self.tags.decode(ids), self.scheme) for ids, _ in predicted]
        return tag_scores(self.valid_gold, decoded, self.scheme)


@torch.no_grad()
def predict(model: Tagger, data: EncodedSentences) -> list[tuple[list[int], list[float]]]:
    """Best tag ids and their probabilities for every sentence of ``data``, in order."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    results: list[tuple[list[int], list[float]]] = [([], [])] * len(data)
    plan = BucketBatches(data.lengths(), max_tokens=PREDICT_TOKENS, shuffle=False)
    for rows in plan.epoch(0):
        batch = {k: v.to(device) for k, v in make_batch(data, rows, with_tags=False).items()}
        paths, probs = model.decode_with_scores(model(**batch), batch["lengths"])
        for row, path, prob, length in zip(
            rows, paths.tolist(), probs.tolist(), batch["lengths"].tolist(), strict=True
        ):
            results[row] = (path[:length], prob[:length])
    model.train(was_training)
    return results


@dataclass(frozen=True)
class LoadedTagger:
    """A trained tagger with its vocabularies and the settings of its data."""

    model: Tagger
    words: WordVocabulary
    chars: WordVocabulary | None
    tags: LabelVocabulary
    scheme: str | None
    column: TagColumn
    config: dict[str, Any]

    def encode(self, sentences: Sequence[Sequence[str]]) -> EncodedSentences:
        return EncodedSentences.build(sentences, self.words, self.chars)

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[tuple[list[str], list[float]]]:
        """Tags (in the data's scheme) and their probabilities for tokenised sentences."""
        predicted = predict(self.model, self.encode(sentences))
        return [(from_learned(self.tags.decode(ids), self.scheme), probs) for ids, probs in predicted]


def build_model(model_config: TaggerConfig, tags: LabelVocabulary, scheme: str | None) -> Tagger:
    """The model, with the scheme's forbidden transitions masked (in the learned BIOES)."""
    learned = LEARNED_SCHEME if scheme is not None else None
    return Tagger(model_config, allowed_transitions(tags.labels, learned))


def load_vocabularies(
    run_dir: Path, with_chars: bool, case_fallback: bool = False
) -> tuple[LabelVocabulary, WordVocabulary, WordVocabulary | None]:
    """The tags, words and (if used) characters a tagger run was trained with."""
    tags = LabelVocabulary.load(run_dir, "tags")
    words = WordVocabulary(LabelVocabulary.load(run_dir, "words").labels, case_fallback=case_fallback)
    chars = WordVocabulary(LabelVocabulary.load(run_dir, "chars").labels) if with_chars else None
    return tags, words, chars


def load_tagger(run_dir: Path, device: torch.device | str = "cpu") -> LoadedTagger:
    """A tagger run directory, ready to tag on ``device``."""
    config = checkpoint.read_config(run_dir, task=TASK)
    model_config = TaggerConfig(**config["model"])
    data = config["data"]
    # Runs from before --case-fallback existed encoded unseen words as <unk>, and still do.
    tags, words, chars = load_vocabularies(
        run_dir, model_config.char_vocab_size > 0, data.get("case_fallback", False)
    )
    model = build_model(model_config, tags, data["scheme"])
    checkpoint.load_weights(run_dir, model)
    column = TagColumn(index=data["column"]["index"], field=data["column"]["field"])
    return LoadedTagger(model.to(device).eval(), words, chars, tags, data["scheme"], column, config)
