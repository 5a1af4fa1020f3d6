"""``seqcli train-embeddings``: vocabulary, cached ids, counts, then the word2vec loop.

Every option and input is checked, and the vocabulary counted, before the run directory is
touched. On ``--resume`` the run decides the vocabulary, model and training settings: a
different one given again is an error naming it, and so is a different corpus unless
``--new-data``; the stopping limits and the save cadence given replace the saved ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqcli.atomic import atomic_write_text
from seqcli.data.corpus import check_readable
from seqcli.errors import SeqcliError
from seqcli.models.word2vec import Word2Vec, Word2VecConfig, huffman_tree
from seqcli.tasks.embeddings_data import build_vocabulary, count_ids, keep_probabilities, noise_table
from seqcli.tasks.embeddings_loop import EmbeddingTrainer, EmbeddingTraining, TrainingData, Word2VecResult
from seqcli.tasks.training import RunOptions, TrainingSession, data_fingerprint, resume_conflicts
from seqcli.text import load_tokenizer
from seqcli.train import checkpoint

__all__ = ["TASK", "VOCAB_FILE", "VocabularyOptions", "read_counts", "train_embeddings"]

TASK = "embeddings"
VOCAB_FILE = "vocab.txt"  # "word count" per line, as word2vec's -save-vocab
LIMITS = ("epochs", "max_steps", "max_time")
RESUMABLE = (*LIMITS, "save_every", "save_every_steps")
# Option as typed -> (config.json section, key): what --resume compares when given.
RESUME_CHECKED = {
    "model": ("--model", "model", "model"),
    "loss": ("--loss", "model", "loss"),
    "dim": ("--dim", "model", "dim"),
    "window": ("--window", "model", "window"),
    "negative": ("--negative", "model", "negative"),
    "sample": ("--sample", "model", "sample"),
    "min_count": ("--min-count", "vocabulary", "min_count"),
    "max_vocab": ("--max-vocab", "vocabulary", "max_vocab"),
    "lowercase": ("--lowercase", "vocabulary", "lowercase"),
    "lr": ("--lr", "training", "lr"),
    "seed": ("--seed", "training", "seed"),
    "encoding_errors": ("--encoding-errors", "corpus", "encoding_errors"),
}


@dataclass(frozen=True)
class VocabularyOptions:
    min_count: int = 5
    max_vocab: int | None = None
    lowercase: bool = False


def train_embeddings(
    corpus: Path,
    *,
    run: RunOptions,
    model: dict[str, Any],
    vocabulary: VocabularyOptions,
    training: EmbeddingTraining,
    given: frozenset[str] | None = None,
    encoding_errors: str = "strict",
    log=print,
) -> Word2VecResult:
    """Train word vectors on ``corpus`` into ``run.run_dir``. ``model`` holds Word2VecConfig
    fields except vocab_size; ``given`` names the options the user typed (None: all), which
    --resume checks against the saved run; ``log`` receives messages for the user."""
    given = frozenset(RESUME_CHECKED) | frozenset(LIMITS) if given is None else given
    session = TrainingSession(run)
    corpus = session.input_path(corpus)
    check_readable(corpus)
    saved = session.saved_config()
    if saved is not None:
        settings = (model, vocabulary, training, given, encoding_errors)
        config, training = _resumed(session, saved, corpus, *settings)
        tokenizer = load_tokenizer(run.run_dir)
        record = saved
    else:
        try:
            Word2VecConfig(vocab_size=2, **model)  # options checked before the corpus is read
        except ValueError as err:
            raise SeqcliError(str(err)) from None
        tokenizer, report = session.rank0_first(
            lambda: build_vocabulary(
                [corpus], min_count=vocabulary.min_count, max_vocab=vocabulary.max_vocab,
                lowercase=vocabulary.lowercase, encoding_errors=encoding_errors,
            )
        )  # fmt: skip
        if session.dist.is_main:
            log(report.describe())
        config = Word2VecConfig(vocab_size=tokenizer.vocab_size, **model)
        record = _config_record(config, vocabulary, report, training, corpus, encoding_errors)
    ids = session.encode(corpus, tokenizer, encoding_errors=encoding_errors)
    counts = count_ids(ids, tokenizer.vocab_size)
    if counts.sum() == 0:
        raise SeqcliError(f"{corpus}: no words of the vocabulary in the corpus")
    session.begin(record)
    if saved is None and session.dist.is_main:
        tokenizer.save(run.run_dir)
        _write_counts(run.run_dir, tokenizer, counts)
    hierarchical = config.loss == "hierarchical"
    data = TrainingData(
        ids=ids,
        keep=keep_probabilities(counts, config.sample),
        noise=noise_table(counts),
        tree=huffman_tree(counts if hierarchical else counts[:1]),
    )
    torch.manual_seed(training.seed)  # the initial vectors are part of what --seed fixes
    trainer = EmbeddingTrainer(
        Word2Vec(config), data, training, run.run_dir,
        device=session.device, backend="torch" if session.device.type == "cuda" else "kernel",
        threads=torch.get_num_threads(), dist=session.dist, quiet=run.quiet,
    )  # fmt: skip
    return trainer.fit(resume=run.resume)


def _resumed(session, saved, corpus, model, vocabulary, training, given, encoding_errors):
    """The saved model and training settings, with the resumable ones given replacing them."""
    if saved.get("task") != TASK:
        raise SeqcliError(f"{session.run_dir}: a '{saved.get('task')}' run, not a vectors run")
    values = {
        **model,
        **asdict(vocabulary),
        "lr": training.lr,
        "seed": training.seed,
        "encoding_errors": encoding_errors,
    }
    requested = {
        option: (section, key, values[name])
        for name, (option, section, key) in RESUME_CHECKED.items()
        if name in given and name in values
    }
    conflicts = resume_conflicts(saved, requested)
    if conflicts:
        raise SeqcliError(
            f"--resume {session.run_dir}: these options differ from the saved run: {'; '.join(conflicts)}; "
            "drop them to continue the run, or train a new one"
        )
    session.check_data(saved, {"train": data_fingerprint(corpus)})
    try:
        config = Word2VecConfig(**saved["model"])
        stored = EmbeddingTraining(**saved["training"])
    except (KeyError, TypeError, ValueError) as err:
        raise SeqcliError(f"{session.run_dir / checkpoint.CONFIG_FILE}: invalid settings ({err})") from None
    changes = {name: getattr(training, name) for name in RESUMABLE if name in given}
    if given & set(LIMITS):  # a limit given replaces every saved limit
        changes.setdefault("max_steps", None)
        changes.setdefault("max_time", None)
    return config, replace(stored, **changes)


def _config_record(config, vocabulary, report, training, corpus, encoding_errors) -> dict[str, Any]:
    return {
        "task": TASK,
        "model": asdict(config),
        "tokenizer": {"type": "word", "lowercase": vocabulary.lowercase},
        "vocabulary": {**asdict(vocabulary), "distinct": report.distinct, "kept": report.kept},
        "training": asdict(training),
        "corpus": {"train": str(corpus), "encoding_errors": encoding_errors},
        "data_files": {"train": data_fingerprint(corpus)},
    }


def _write_counts(run_dir: Path, tokenizer, counts: np.ndarray) -> None:
    lines = (f"{tokenizer.id_to_piece(i)} {int(counts[i])}\n" for i in range(4, tokenizer.vocab_size))
    atomic_write_text(run_dir / VOCAB_FILE, "".join(lines))


def read_counts(run_dir: Path) -> dict[str, int]:
    """Word counts of a vectors run (from ``vocab.txt``)."""
    path = run_dir / VOCAB_FILE
    if not path.is_file():
        raise SeqcliError(f"{path}: missing; not a vectors run")
    counts = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        word, _, count = line.rpartition(" ")
        if not word or not count.isdigit():
            raise SeqcliError(f"{path}:{lineno}: expected 'word count'; the file is damaged")
        counts[word] = int(count)
    return counts


def read_vectors_config(run_dir: Path) -> dict[str, Any]:
    """config.json of a vectors run; SeqcliError for any other run."""
    return checkpoint.read_config(run_dir, task=TASK)
