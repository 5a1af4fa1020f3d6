"""``seqcli train-translator``: tokenizers, parallel-text encoding, model and Trainer.

Training data is two aligned files (``train.de train.en``) or one ``source<TAB>target``
file; the validation data takes the same form. Tokenizers are sentencepiece models trained
here on the training data — one per side, or one joint model for both — unless
``--tokenizer`` names a directory written by ``seqcli train-tokenizer``. Both are saved in
the run directory as ``source-tokenizer/`` and ``target-tokenizer/``. As for every train
command, everything is read and checked before the run directory is touched; on
``--resume`` the run's tokenizers, model and data settings are used.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from seqcli.data.corpus import check_readable
from seqcli.data.parallel import read_parallel
from seqcli.errors import SeqcliError
from seqcli.models.attention import ATTENTION_TYPES
from seqcli.models.seq2seq import Seq2Seq, Seq2SeqConfig
from seqcli.tasks.training import (
    RECURRENT_RESUME_CHECKED,
    RunOptions,
    TrainingSession,
    check_model_options,
    data_fingerprint,
    resume_conflicts,
)
from seqcli.tasks.translation import (
    MAX_TRAIN_TOKENS,
    SOURCE_TOKENIZER,
    TARGET_TOKENIZER,
    TASK,
    TranslationDataConfig,
    TranslationTask,
    encode_parallel,
)
from seqcli.text import Tokenizer, load_tokenizer, train_tokenizer
from seqcli.text.tokenizer import CONFIG_FILE as TOKENIZER_FILE
from seqcli.train.trainer import TrainConfig, TrainResult

__all__ = ["TranslatorTokenizers", "train_translator"]

SUBWORD_TYPES = ("bpe", "unigram")
# Command-line parameter -> (option as typed, config.json section, key): what --resume compares.
RESUME_CHECKED = {
    **RECURRENT_RESUME_CHECKED,
    "attention": ("--attention", "model", "attention"),
    "tie_embeddings": ("--tie-embeddings", "model", "tie_embeddings"),
    "batch_size": ("--batch-size", "data", "batch_size"),
    "label_smoothing": ("--label-smoothing", "data", "label_smoothing"),
    "tokenizer": ("--tokenizer", "tokenizers", "spec"),
    "vocab_size": ("--vocab-size", "tokenizers", "vocab_size"),
    "joint_vocab": ("--joint-vocab", "tokenizers", "joint"),
}


@dataclass(frozen=True)
class TranslatorTokenizers:
    """``--tokenizer``: a sentencepiece type to train (``--vocab-size`` pieces, one model per
    side or one ``--joint-vocab`` model), or a train-tokenizer directory used for the source
    and, unless ``--target-tokenizer`` names another, the target."""

    spec: str = "bpe"
    vocab_size: int = 8000
    joint: bool = False
    target_spec: str | None = None

    def check(self) -> None:
        for spec in (self.spec, self.target_spec):
            if spec is not None and spec not in SUBWORD_TYPES and not (Path(spec) / TOKENIZER_FILE).is_file():
                raise SeqcliError(
                    f"--tokenizer {spec}: neither bpe, unigram nor a directory written by"
                    " 'seqcli train-tokenizer'"
                )
        if self.target_spec is not None and self.target_spec in SUBWORD_TYPES:
            raise SeqcliError("--target-tokenizer takes a directory written by 'seqcli train-tokenizer'")
        if self.target_spec is not None and self.spec in SUBWORD_TYPES:
            raise SeqcliError("--target-tokenizer goes with a --tokenizer directory, not a type to train")
        if self.vocab_size < 5:
            raise SeqcliError(f"--vocab-size must be at least 5, got {self.vocab_size}")

    def build(self, train: tuple[Path, ...], encoding_errors: str, seed: int) -> tuple[Tokenizer, Tokenizer]:
        """(source, target) tokenizers: loaded, or trained on the training data's sides."""
        if self.spec not in SUBWORD_TYPES:
            source = load_tokenizer(Path(self.spec))
            return source, load_tokenizer(Path(self.target_spec)) if self.target_spec else source
        with tempfile.TemporaryDirectory(prefix="seqcli-sides-") as tmp:
            sides = _side_files(train, Path(tmp), encoding_errors)
            train_on = lambda files: train_tokenizer(  # noqa: E731
                self.spec, files, vocab_size=self.vocab_size, encoding_errors=encoding_errors, seed=seed
            )
            if self.joint:
                joint = train_on(list(sides))
                return joint, joint
            return train_on([sides[0]]), train_on([sides[1]])


def train_translator(
    train: tuple[Path, ...],
    valid: tuple[Path, ...] | None,
    *,
    run: RunOptions,
    model: dict[str, Any],
    data: TranslationDataConfig,
    training: TrainConfig,
    tokenizers: TranslatorTokenizers,
    given: frozenset[str] | None = None,
    encoding_errors: str = "strict",
) -> TrainResult:
    """Train a translator into ``run.run_dir``. ``train`` and ``valid`` are (source, target)
    files or (tsv,); ``model`` holds :class:`Seq2SeqConfig` fields except the vocabulary
    sizes; ``given`` names the options typed on the command line (None: all)."""
    given = frozenset(asdict(training)) | frozenset(RESUME_CHECKED) if given is None else given
    _check_model(model)
    tokenizers.check()
    _check_shape(train, valid)
    for path in (*train, *(valid or ())):
        check_readable(path)
    session = TrainingSession(run)
    console = session.console
    saved = session.saved_config()
    if saved is not None:
        _refuse_changes(run, saved, given, model, data, tokenizers)
        session.check_data(saved, {"train": data_fingerprint(train[0])})
        training = session.training_config(training, saved, given)
        source_tok = load_tokenizer(run.run_dir / SOURCE_TOKENIZER)
        target_tok = load_tokenizer(run.run_dir / TARGET_TOKENIZER)
        model_config = Seq2SeqConfig(**saved["model"])
        data = TranslationDataConfig(**saved["data"])
    else:
        _check_pairs(train, encoding_errors)
        source_tok, target_tok = session.rank0_first(
            lambda: tokenizers.build(train, encoding_errors, training.seed)
        )
        try:
            model_config = Seq2SeqConfig(
                source_vocab_size=source_tok.vocab_size, target_vocab_size=target_tok.vocab_size, **model
            )
        except ValueError as err:
            raise SeqcliError(str(err)) from None
    task = _make_task(session, train, valid, (source_tok, target_tok), data, training, encoding_errors)
    if task.skipped:
        console.print(
            f"[yellow]warning:[/] {task.skipped} training pairs longer than {MAX_TRAIN_TOKENS}"
            " tokens left out"
        )
    record = {
        "task": TASK,
        "model": asdict(model_config),
        "tokenizers": {
            "spec": tokenizers.spec,
            "vocab_size": tokenizers.vocab_size,
            "joint": tokenizers.joint,
            "target_spec": tokenizers.target_spec,
        },
        "data": asdict(data),
        "training": asdict(training),
        "corpus": {
            "train": [str(p) for p in train],
            "valid": [str(p) for p in valid or ()],
            "encoding_errors": encoding_errors,
        },
        "data_files": {"train": data_fingerprint(train[0])},
    }
    session.begin(record)
    if saved is None and session.dist.is_main:
        source_tok.save(run.run_dir / SOURCE_TOKENIZER)
        target_tok.save(run.run_dir / TARGET_TOKENIZER)
    torch.manual_seed(training.seed)  # the initial weights are part of what --seed fixes
    return session.train(task, Seq2Seq(model_config), training)


def _refuse_changes(run, saved, given, model, data, tokenizers) -> None:
    """On --resume the run decides the model, data and tokenizers: a different one given is
    an error naming it, not silently ignored."""
    values = {
        **{name: model.get(key) for name, (_, section, key) in RESUME_CHECKED.items() if section == "model"},
        "batch_size": data.batch_size,
        "label_smoothing": data.label_smoothing,
        "tokenizer": tokenizers.spec,
        "vocab_size": tokenizers.vocab_size,
        "joint_vocab": tokenizers.joint,
    }
    requested = {
        option: (section, key, values[name])
        for name, (option, section, key) in RESUME_CHECKED.items()
        if name in given
    }
    conflicts = resume_conflicts(saved, requested)
    if conflicts:
        raise SeqcliError(
            f"--resume {run.run_dir}: these options differ from the saved run: {'; '.join(conflicts)}; "
            "drop them to continue the run, or train a new one"
        )


def _make_task(session, train, valid, tokenizers, data, training, encoding_errors) -> TranslationTask:
    cache_dir = session.options.cache_dir

    def encode(files: tuple[Path, ...]):
        target = files[1] if len(files) == 2 else None
        return session.rank0_first(
            lambda: encode_parallel(
                files[0], target, tokenizers, encoding_errors=encoding_errors, cache_dir=cache_dir
            )
        )

    train_ids = encode(train)
    if len(train_ids.source) == 0:
        raise SeqcliError(f"{train[0]}: no sentence pairs to train on")
    valid_set = None
    if valid:
        target = valid[1] if len(valid) == 2 else None
        references = [
            pair.target for pair in read_parallel(valid[0], target, encoding_errors=encoding_errors)
        ]
        if not references:
            raise SeqcliError(f"{valid[0]}: no sentence pairs to validate on")
        valid_set = (encode(valid), references)
    return TranslationTask(
        train_ids, data, tokenizers[1], valid=valid_set, seed=training.seed, dist=session.dist
    )


def _check_shape(train: tuple[Path, ...], valid: tuple[Path, ...] | None) -> None:
    if len(train) not in (1, 2):
        raise SeqcliError(f"give two aligned files (source, target) or one TSV file, not {len(train)} files")
    if valid and len(valid) != len(train):
        form = "two files (source, target)" if len(train) == 2 else "one TSV file"
        raise SeqcliError(f"--valid takes the same form as the training data: {form}")


def _check_pairs(train: tuple[Path, ...], encoding_errors: str) -> None:
    """Read the training pairs once, so misaligned files fail before tokenizers train."""
    target = train[1] if len(train) == 2 else None
    for _ in read_parallel(train[0], target, encoding_errors=encoding_errors):
        pass


def _side_files(train: tuple[Path, ...], directory: Path, encoding_errors: str) -> tuple[Path, Path]:
    """The source and target sentences of the training pairs, one file each (TSV split;
    two files are used as they are)."""
    if len(train) == 2:
        return train[0], train[1]
    paths = directory / "source.txt", directory / "target.txt"
    with open(paths[0], "w", encoding="utf-8") as source, open(paths[1], "w", encoding="utf-8") as target:
        for pair in read_parallel(train[0], encoding_errors=encoding_errors):
            source.write(pair.source + "\n")
            target.write(pair.target + "\n")
    return paths


def _check_model(model: dict[str, Any]) -> None:
    """Model options named as typed, before any work."""
    check_model_options(
        model,
        {"cell": "--cell", "embedding_dim": "--embedding", "num_layers": "--layers", "dropout": "--dropout"},
    )
    if model.get("attention", "bahdanau") not in ATTENTION_TYPES:
        raise SeqcliError(
            f"--attention must be one of {', '.join(ATTENTION_TYPES)}, got {model['attention']!r}"
        )
    hidden = model.get("hidden_size", 512)
    if hidden < 2 or hidden % 2:
        raise SeqcliError(f"--hidden must be an even number >= 2 (two encoder directions), got {hidden}")
    if model.get("tie_embeddings") and model.get("embedding_dim") != hidden:
        raise SeqcliError(
            "--tie-embeddings needs --embedding equal to --hidden"
            f" (got {model.get('embedding_dim')} and {hidden})"
        )
