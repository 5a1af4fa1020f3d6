"""``seqcli train-tagger``: read and check the data, build vocabularies and model, train.

Every input is read and checked before the run directory is touched: a ragged CoNLL row,
a sentence with no words, a tag that is not of the scheme's shape or (with ``--strict``)
an ill-formed tag sequence stops the command with ``file:line`` and nothing written.
Without ``--valid`` a fixed, seeded 10% of the training sentences is held out for model
selection, and the command says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqcli.data.labels import LabelVocabulary
from seqcli.data.words import WordVocabulary
from seqcli.errors import SeqcliError
from seqcli.models.tagger import TaggerConfig
from seqcli.tasks.pretrained import load_initial_embeddings, read_vectors, with_embedding_size
from seqcli.tasks.resume import open_session, saved_fields
from seqcli.tasks.tagger import TASK, TaggerTask, build_model, load_vocabularies
from seqcli.tasks.tagger_data import (
    EncodedSentences,
    TagColumn,
    check_scheme,
    hold_out_for_selection,
    read_tagged,
    to_learned,
)
from seqcli.tasks.training import RunOptions, check_model_options, data_fingerprint
from seqcli.train.trainer import TrainConfig, TrainResult

__all__ = ["TaggerData", "train_tagger"]

MODEL_OPTIONS = {
    "embedding_dim": "--embedding",
    "hidden_size": "--hidden",
    "num_layers": "--layers",
    "dropout": "--dropout",
    "char_embedding_dim": "--char-embedding",
    "char_hidden_size": "--char-hidden",
}


@dataclass(frozen=True)
class TaggerData:
    """The data options of ``train-tagger`` (``config.json`` section ``data``, with the
    detected scheme)."""

    column: str | None = None
    scheme: str = "auto"
    strict: bool = False
    min_count: int = 1
    word_dropout: float = 0.25
    case_fallback: bool = True
    batch_size: int = 32
    embeddings: Path | None = None
    encoding_errors: str = "strict"

    def check(self) -> None:
        for option, value in (("--min-count", self.min_count), ("--batch-size", self.batch_size)):
            if value < 1:
                raise SeqcliError(f"{option} must be at least 1, got {value}")
        if not 0 <= self.word_dropout < 1:
            raise SeqcliError(f"--word-dropout must be in [0, 1), got {self.word_dropout}")


def train_tagger(
    train: Path,
    valid: Path | None,
    *,
    run: RunOptions,
    model: dict[str, Any],
    data: TaggerData,
    training: TrainConfig,
    warn: Callable[[str], None],
    given: frozenset[str] = frozenset(),
    task_options_given: Sequence[str] = (),
) -> TrainResult:
    """Train a tagger into ``run.run_dir``; ``model`` holds TaggerConfig fields other than
    the sizes taken from the data (vocabularies, tags).

    On ``--resume`` the run's own model, data settings and vocabularies are used: the
    options in ``task_options_given`` (as typed) are refused, ``given`` names the shared
    options typed (limits and evaluation settings may change, see ``training_config``).
    """
    data.check()
    check_model_options(model, MODEL_OPTIONS)
    session, saved, training = open_session(
        run, train, (valid, data.embeddings), training, given=given, task_options_given=task_options_given
    )
    if saved is not None:
        column = TagColumn(**saved["data"]["column"])
        data = TaggerData(
            **{
                **saved_fields(TaggerData, saved["data"]),
                "column": None,
                "scheme": saved["data"]["scheme"] or "none",
                # Runs saved before these options existed trained without them.
                "word_dropout": saved["data"].get("word_dropout", 0.0),
                "case_fallback": saved["data"].get("case_fallback", False),
            }
        )
    else:
        column = TagColumn.parse(data.column, train)
    scheme, train_sentences = check_scheme(
        read_tagged(train, column, encoding_errors=data.encoding_errors),
        data.scheme,
        path=train,
        strict=data.strict,
        warn=warn,
    )
    if valid is not None:
        _, valid_sentences = check_scheme(
            read_tagged(valid, column, encoding_errors=data.encoding_errors),
            scheme or "none",
            path=valid,
            strict=data.strict,
            warn=warn,
        )
    else:
        train_sentences, valid_sentences = hold_out_for_selection(
            train_sentences, training.seed, train, "sentences", warn
        )
    learned = [to_learned(s.tags, scheme) for s in train_sentences]
    if saved is not None:
        tags, words, chars = load_vocabularies(
            run.run_dir, saved["model"]["char_vocab_size"] > 0, data.case_fallback
        )
        model_config = TaggerConfig(**saved["model"])
    else:
        tags = LabelVocabulary.from_labels(tag for sentence in learned for tag in sentence)
    _warn_unseen(
        valid or train, [s.tags for s in valid_sentences], {t for s in train_sentences for t in s.tags}, warn
    )

    counts = Counter(token for s in train_sentences for token in s.tokens)
    vectors = read_vectors(data.embeddings) if data.embeddings is not None and saved is None else None
    if saved is None:
        words = WordVocabulary.from_counts(
            counts,
            min_count=data.min_count,
            extra=vectors[0] if vectors else (),
            case_fallback=data.case_fallback,
        )
        char_counts = Counter(char for token, n in counts.items() for char in token for _ in range(n))
        model = with_embedding_size(model, vectors, default=100)
        chars = WordVocabulary.from_counts(char_counts) if model.pop("char_features", True) else None
        model_config = TaggerConfig(
            vocab_size=len(words), num_tags=len(tags), char_vocab_size=len(chars) if chars else 0, **model
        )

    singletons = np.zeros(len(words), dtype=bool)
    singletons[[words.id(w) for w, n in counts.items() if n == 1 and w in words]] = True
    encoded_train = EncodedSentences.build(
        [s.tokens for s in train_sentences], words, chars, [tags.encode(t) for t in learned]
    )
    encoded_valid = EncodedSentences.build([s.tokens for s in valid_sentences], words, chars)
    task = TaggerTask(
        encoded_train,
        encoded_valid,
        [s.tags for s in valid_sentences],
        tags,
        scheme,
        singletons,
        batch_size=data.batch_size,
        seed=training.seed,
        word_dropout=data.word_dropout,
        dist=session.dist,
    )
    record = {
        "task": TASK,
        "model": asdict(model_config),
        "data": {
            **{k: v for k, v in asdict(data).items() if k != "embeddings"},
            "embeddings": str(data.embeddings) if data.embeddings else None,
            "scheme": scheme,
            "column": {"index": column.index, "field": column.field},
            "train": str(train),
            "valid": str(valid) if valid else None,
            "held_out": valid is None,
        },
        "training": asdict(training),
        "data_files": {"train": data_fingerprint(train)},
    }
    torch.manual_seed(training.seed)  # the initial weights are part of what --seed fixes
    network = build_model(model_config, tags, scheme)
    if vectors is not None:
        load_initial_embeddings(network.embedding, words.items, vectors, seed=training.seed, warn=warn)
    session.begin(record)
    if session.dist.is_main and saved is None:
        for name, vocabulary in (("tags", tags), ("words", LabelVocabulary(words.items))):
            vocabulary.save(run.run_dir, name)
        if chars is not None:
            LabelVocabulary(chars.items).save(run.run_dir, "chars")
    return session.train(task, network, training)


def _warn_unseen(
    path: Path, gold: list[tuple[str, ...]], known: set[str], warn: Callable[[str], None]
) -> None:
    """Name the validation tags training never saw: they can only be counted wrong."""
    unseen = Counter(tag for tags in gold for tag in tags if tag not in known)
    if unseen:
        listed = ", ".join(f"{tag} ({n})" for tag, n in unseen.most_common())
        warn(f"{path}: tags never seen in training, counted as wrong: {listed}")
