"""``seqcli train-lm``: tokenizer, corpus encoding, model and Trainer put together.

Every option and input is checked before the run directory is touched (see
:mod:`seqcli.tasks.training`). On ``--resume`` the checkpoint decides the tokenizer, model,
data and optimiser settings: giving a different one is an error naming it, and so is a
different corpus unless ``--new-data`` says so. Limits, evaluation, patience and saving
options given again replace the saved ones, so a finished run can be extended.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from seqcli.data.corpus import check_readable
from seqcli.errors import SeqcliError
from seqcli.models.lm import LanguageModel, LanguageModelConfig
from seqcli.tasks.lm import TASK, LanguageModelTask, LMDataConfig
from seqcli.tasks.training import (
    RECURRENT_RESUME_CHECKED,
    RunOptions,
    TrainingSession,
    check_model_options,
    data_fingerprint,
    resume_conflicts,
)
from seqcli.text import TOKENIZER_TYPES, Tokenizer, load_tokenizer, train_tokenizer
from seqcli.text.tokenizer import CONFIG_FILE as TOKENIZER_FILE
from seqcli.train.trainer import TrainConfig, TrainResult

__all__ = ["TokenizerChoice", "train_language_model"]

# Command-line parameter -> (option as typed, config.json section, key): what --resume compares.
RESUME_CHECKED = {
    **RECURRENT_RESUME_CHECKED,
    "tie_weights": ("--tie-weights", "model", "tie_weights"),
    "init_range": ("--init-range", "model", "init_range"),
    "bptt": ("--bptt", "data", "bptt"),
    "batch_size": ("--batch-size", "data", "batch_size"),
    "tokenizer": ("--tokenizer", "tokenizer", "spec"),
    "vocab_size": ("--vocab-size", "tokenizer", "vocab_size"),
    "min_count": ("--min-count", "tokenizer", "min_count"),
    "max_vocab": ("--max-vocab", "tokenizer", "max_vocab"),
    "encoding_errors": ("--encoding-errors", "corpus", "encoding_errors"),
}


@dataclass(frozen=True)
class TokenizerChoice:
    """``--tokenizer``: a type to train on the corpus, or a directory from train-tokenizer."""

    spec: str = "char"
    vocab_size: int = 8000
    min_count: int = 1
    max_vocab: int | None = None

    def check(self) -> None:
        if self.spec not in TOKENIZER_TYPES and not (Path(self.spec) / TOKENIZER_FILE).is_file():
            raise SeqcliError(
                f"--tokenizer {self.spec}: neither a type ({', '.join(TOKENIZER_TYPES)}) "
                "nor a directory written by 'seqcli train-tokenizer'"
            )
        for option, value in (("--vocab-size", self.vocab_size), ("--min-count", self.min_count)):
            if value < 1:
                raise SeqcliError(f"{option} must be at least 1, got {value}")
        if self.max_vocab is not None and self.max_vocab < 1:
            raise SeqcliError(f"--max-vocab must be at least 1, got {self.max_vocab}")


def train_language_model(
    train: Path,
    valid: Path | None,
    *,
    run: RunOptions,
    model: dict[str, Any],
    data: LMDataConfig,
    training: TrainConfig,
    tokenizer: TokenizerChoice,
    given: frozenset[str] | None = None,
    encoding_errors: str = "strict",
) -> TrainResult:
    """Train a language model into ``run.run_dir``. ``model`` holds LanguageModelConfig fields
    except vocab_size; ``given`` names the options the user typed (None: all of them), which
    --resume checks against the saved run."""
    given = frozenset(RESUME_CHECKED) | frozenset(_LIMITS) if given is None else given
    _check_model(model)
    tokenizer.check()
    session = TrainingSession(run)
    train = session.input_path(train)
    for path in (train, valid):
        if path is not None:
            check_readable(path)
    saved = session.saved_config()
    if saved is not None:
        values = _option_values(model, data, tokenizer, encoding_errors)
        requested = {
            option: (section, key, values[name])
            for name, (option, section, key) in RESUME_CHECKED.items()
            if name in given
        }
        conflicts = resume_conflicts(saved, requested)
        training = session.training_config(training, saved, given, conflicts=conflicts)
        session.check_data(saved, {"train": data_fingerprint(train)})
        tok = load_tokenizer(run.run_dir)
        model_config = _saved(LanguageModelConfig, saved, "model", run.run_dir)
        data = _saved(LMDataConfig, saved, "data", run.run_dir)
    else:
        tok = session.shared_tokenizer(lambda: _make_tokenizer(tokenizer, train, encoding_errors))
        model_config = LanguageModelConfig(
            vocab_size=tok.vocab_size, **{**model, "embedding_dim": _embedding_dim(model, tok.vocab_size)}
        )
    train_ids, valid_ids = _encode(session, tok, train, valid, encoding_errors)
    task = LanguageModelTask(
        train_ids, valid_ids, data, char_level=tok.kind == "char", dist=session.dist, source=str(train)
    )
    record = _config_record(model_config, tok, tokenizer, data, training, train, valid, encoding_errors)
    session.begin(record)
    if saved is None and session.dist.is_main:
        tok.save(run.run_dir)
    torch.manual_seed(training.seed)  # the initial weights are part of what --seed fixes
    return session.train(task, LanguageModel(model_config), training)


_LIMITS = ("epochs", "max_steps", "max_time")


def _check_model(model: dict[str, Any]) -> None:
    """Model options named as typed, before any work (the model classes name their fields)."""
    check_model_options(
        model,
        {"cell": "--cell", "hidden_size": "--hidden", "embedding_dim": "--embedding",
         "num_layers": "--layers", "dropout": "--dropout"},
    )  # fmt: skip
    init_range = model.get("init_range")
    if init_range is not None and not (math.isfinite(init_range) and init_range > 0):
        raise SeqcliError(f"--init-range must be a finite number > 0, got {init_range}")
    embedding = model.get("embedding_dim")
    if model.get("tie_weights") and embedding is not None and embedding != model.get("hidden_size"):
        raise SeqcliError(
            f"--tie-weights needs --embedding equal to --hidden (got {model.get('embedding_dim')} "
            f"and {model.get('hidden_size')})"
        )


def _embedding_dim(model: dict[str, Any], vocab_size: int) -> int:
    """--embedding, or by default --hidden capped at the vocabulary size: the embedding of V
    symbols has rank at most V, so a wider one adds parameters and time but no capacity.
    Tied weights need the embedding as wide as the hidden layer."""
    if model.get("embedding_dim") is not None:
        return model["embedding_dim"]
    hidden = model.get("hidden_size", LanguageModelConfig.hidden_size)
    return hidden if model.get("tie_weights") else min(hidden, vocab_size)


def _option_values(model, data, tokenizer, encoding_errors) -> dict[str, Any]:
    """Each RESUME_CHECKED option's value as this command line gives it."""
    return {
        "cell": model.get("cell"),
        "hidden": model.get("hidden_size"),
        "embedding": model.get("embedding_dim"),
        "layers": model.get("num_layers"),
        "dropout": model.get("dropout"),
        "tie_weights": model.get("tie_weights"),
        "init_range": model.get("init_range"),
        "bptt": data.bptt,
        "batch_size": data.batch_size,
        "tokenizer": tokenizer.spec,
        "vocab_size": tokenizer.vocab_size,
        "min_count": tokenizer.min_count,
        "max_vocab": tokenizer.max_vocab,
        "encoding_errors": encoding_errors,
    }


def _saved(cls, saved: dict[str, Any], section: str, run_dir: Path):
    try:
        return cls(**saved[section])
    except (KeyError, TypeError, ValueError, SeqcliError) as err:
        raise SeqcliError(f"{run_dir / 'config.json'}: invalid {section} settings ({err})") from None


def _encode(session, tok, train, valid, encoding_errors):
    train_ids = session.encode(train, tok, encoding_errors=encoding_errors)
    if len(train_ids) == 0:
        raise SeqcliError(f"{train}: the corpus is empty (no tokens)")
    valid_ids = session.encode(valid, tok, encoding_errors=encoding_errors) if valid else None
    if valid_ids is not None and len(valid_ids) < 2:
        raise SeqcliError(f"{valid}: the validation corpus has fewer than 2 tokens")
    return train_ids, valid_ids


def _make_tokenizer(choice: TokenizerChoice, train: Path, encoding_errors: str) -> Tokenizer:
    if choice.spec in TOKENIZER_TYPES:
        return train_tokenizer(
            choice.spec,
            [train],
            vocab_size=choice.vocab_size if choice.spec in ("bpe", "unigram") else None,
            min_count=choice.min_count,
            max_vocab=choice.max_vocab,
            encoding_errors=encoding_errors,
        )
    return load_tokenizer(Path(choice.spec))


def _config_record(
    model_config, tok, choice, data, training, train, valid, encoding_errors
) -> dict[str, Any]:
    return {
        "task": TASK,
        "model": asdict(model_config),
        "tokenizer": {"type": tok.kind, **asdict(choice)},
        "data": asdict(data),
        "training": asdict(training),
        "corpus": {
            "train": str(train),
            "valid": str(valid) if valid else None,
            "encoding_errors": encoding_errors,
        },
        "data_files": {"train": data_fingerprint(train)},
    }
