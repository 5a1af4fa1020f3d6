"""Tasks: each says how its data becomes batches, its loss, evaluation and prediction.

``TASKS`` is the registry (see :mod:`seqcli.tasks.registry`): a new task adds one entry
here and touches nothing else. ``read_task_config`` is how commands that work on any
checkpoint (``evaluate``, ``info``) read one: it refuses a task this seqcli does not know.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from seqcli.errors import SeqcliError
from seqcli.tasks.registry import EvalRequest, Evaluation, Metric, TaskEntry
from seqcli.train import checkpoint

__all__ = ["TASKS", "evaluate_checkpoint", "read_task_config", "task_entry"]

TASKS: dict[str, TaskEntry] = {
    entry.name: entry
    for entry in (
        TaskEntry("lm", "language model", Metric("loss", "min"), "seqcli.tasks.lm_use"),
        TaskEntry(
            "embeddings",
            "word vectors",
            Metric("loss", "min"),
            "seqcli.tasks.embeddings",
            files=("vocab.txt",),
            options=("analogies", "similarity", "restrict"),
        ),
        TaskEntry(
            "tagger",
            "sequence tagger",
            Metric("f1", "max"),
            "seqcli.tasks.tagger_use",
            files=("tags.json", "words.json", "chars.json"),
        ),
        TaskEntry(
            "classifier",
            "text classifier",
            Metric("accuracy", "max"),
            "seqcli.tasks.classifier_use",
            files=("labels.json", "words.json"),
            options=("plot",),
        ),
        TaskEntry(
            "translation",
            "translator",
            Metric("bleu", "max"),
            "seqcli.tasks.translation_use",
            files=("source-tokenizer", "target-tokenizer"),
            options=("beam", "length_penalty", "batch_size"),
        ),
        TaskEntry(
            "asr",
            "speech recogniser (CTC)",
            Metric("wer", "min"),
            "seqcli.tasks.asr_use",
            options=("beam", "lm", "lm_weight", "word_bonus", "lexicon", "ensemble"),
        ),
    )
}


def task_entry(name: str, where: Path | str = "config.json") -> TaskEntry:
    if name not in TASKS:
        raise SeqcliError(
            f"{where}: unknown task {name!r} (this seqcli knows {', '.join(TASKS)}); "
            "was it written by a newer seqcli?"
        )
    return TASKS[name]


def read_task_config(run_dir: Path) -> dict[str, Any]:
    config = checkpoint.read_config(run_dir)
    task_entry(config["task"], run_dir / checkpoint.CONFIG_FILE)
    return config


def evaluate_checkpoint(run_dir: Path, request: EvalRequest) -> Evaluation:
    """Evaluate any checkpoint with its own task's measure. Options left at None count as
    not given; one given that the task does not read is an error, not silently ignored."""
    entry = TASKS[read_task_config(run_dir)["task"]]
    given = {name: value for name, value in request.options.items() if value is not None}
    unread = sorted(name for name in given if name not in entry.options)
    if unread:
        named = ", ".join("--" + name.replace("_", "-") for name in unread)
        raise SeqcliError(f"{named}: not an option for evaluating a {entry.title} ({run_dir})")
    return entry.evaluate(run_dir, replace(request, options=given))
