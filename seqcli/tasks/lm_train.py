"""``seqcli train-lm``: tokenizer, corpus encoding, model and Trainer put together.

On ``--resume`` the checkpoint decides the tokenizer, model, data and training settings;
only the stopping limits (epochs, steps, time) given on the command line replace the saved
ones, so a finished run can be extended.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from seqcli.errors import SeqcliError
from seqcli.models.lm import LanguageModel, LanguageModelConfig
from seqcli.tasks.lm import TASK, LanguageModelTask, LMDataConfig
from seqcli.tasks.training import RunOptions, TrainingSession
from seqcli.text import TOKENIZER_TYPES, Tokenizer, load_tokenizer, train_tokenizer
from seqcli.train.trainer import TrainConfig, TrainResult

__all__ = ["TokenizerChoice", "train_language_model"]

LIMITS = ("epochs", "max_steps", "max_time")


@dataclass(frozen=True)
class TokenizerChoice:
    """``--tokenizer``: a type to train on the corpus, or a directory from train-tokenizer."""

    spec: str = "char"
    vocab_size: int = 8000
    min_count: int = 1
    max_vocab: int | None = None


def train_language_model(
    train: Path,
    valid: Path | None,
    *,
    run: RunOptions,
    model: dict[str, Any],
    data: LMDataConfig,
    training: TrainConfig,
    limits: dict[str, Any],
    tokenizer: TokenizerChoice,
    encoding_errors: str = "strict",
) -> TrainResult:
    """Train a language model into ``run.run_dir``. ``model`` holds LanguageModelConfig fields
    except vocab_size; ``limits`` the stopping limits given explicitly (they win on resume)."""
    session = TrainingSession(run)
    saved = session.saved_config()
    if saved is not None:
        return _resume(session, saved, train, valid, limits, encoding_errors)
    tok = _make_tokenizer(tokenizer, train, encoding_errors)
    if session.dist.is_main:
        tok.save(run.run_dir)
    try:
        model_config = LanguageModelConfig(vocab_size=tok.vocab_size, **model)
    except ValueError as err:
        raise SeqcliError(str(err)) from None
    training = replace(training, **limits)
    session.write_config(_config_record(model_config, tok, data, training, train, valid, encoding_errors))
    return _fit(session, tok, model_config, data, training, train, valid, encoding_errors)


def _resume(session, saved, train, valid, limits, encoding_errors) -> TrainResult:
    tok = load_tokenizer(session.run_dir)
    model_config = LanguageModelConfig(**saved["model"])
    data = LMDataConfig(**saved["data"])
    training = replace(TrainConfig(**saved["training"]), **limits)
    return _fit(session, tok, model_config, data, training, train, valid, encoding_errors)


def _fit(session, tok, model_config, data, training, train, valid, encoding_errors) -> TrainResult:
    train_ids = session.encode(train, tok, encoding_errors=encoding_errors)
    if len(train_ids) == 0:
        raise SeqcliError(f"{train}: the corpus is empty (no tokens)")
    valid_ids = session.encode(valid, tok, encoding_errors=encoding_errors) if valid else None
    if valid_ids is not None and len(valid_ids) < 2:
        raise SeqcliError(f"{valid}: the validation corpus has fewer than 2 tokens")
    torch.manual_seed(training.seed)  # the initial weights are part of what --seed fixes
    task = LanguageModelTask(
        train_ids, valid_ids, data, char_level=tok.kind == "char", dist=session.dist, source=str(train)
    )
    return session.train(task, LanguageModel(model_config), training)


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
    path = Path(choice.spec)
    if not path.is_dir():
        raise SeqcliError(
            f"--tokenizer {choice.spec}: neither a type ({', '.join(TOKENIZER_TYPES)}) "
            "nor a directory written by 'seqcli train-tokenizer'"
        )
    return load_tokenizer(path)


def _config_record(model_config, tok, data, training, train, valid, encoding_errors) -> dict[str, Any]:
    return {
        "task": TASK,
        "model": asdict(model_config),
        "tokenizer": {"type": tok.kind},
        "data": asdict(data),
        "training": asdict(training),
        "corpus": {
            "train": str(train),
            "valid": str(valid) if valid else None,
            "encoding_errors": encoding_errors,
        },
    }
