"""What ``--resume`` means for the tagger and the classifier: the run's own settings.

A resumed run continues with the model, vocabularies and data settings saved in its
``config.json``; a model or data option typed again is refused rather than silently
ignored. Limits and evaluation settings may change (``TrainingSession.training_config``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seqcli.data.corpus import check_readable
from seqcli.errors import SeqcliError
from seqcli.tasks.training import RunOptions, TrainingSession, data_fingerprint
from seqcli.train.config import TrainConfig

__all__ = ["open_session", "refuse_on_resume", "saved_fields"]


def open_session(
    run: RunOptions,
    train: Path,
    inputs: Sequence[Path | None],
    training: TrainConfig,
    *,
    given: frozenset[str],
    task_options_given: Sequence[str],
) -> tuple[TrainingSession, dict[str, Any] | None, TrainConfig]:
    """Check the input files (``train`` and ``inputs``; directories are vectors runs) and
    open the session. On ``--resume``: refuse task options typed again, check the training
    file is the run's, and merge the training settings; returns the session, the saved
    config (None for a new run) and the training settings to use."""
    session = TrainingSession(run)
    for path in (train, *inputs):
        if path is not None and not path.is_dir():
            check_readable(path)
    saved = session.saved_config()
    if saved is not None:
        refuse_on_resume(run.run_dir, task_options_given)
        session.check_data(saved, {"train": data_fingerprint(train)})
        training = session.training_config(training, saved, given)
    return session, saved, training


def refuse_on_resume(run_dir: Path, options: Sequence[str]) -> None:
    """SeqcliError naming the task options typed with ``--resume`` (as typed, ``--hidden``)."""
    if options:
        raise SeqcliError(
            f"--resume {run_dir}: the run keeps its own model and data settings; drop {', '.join(options)}"
        )


def saved_fields(cls: type, section: dict[str, Any]) -> dict[str, Any]:
    """The fields of dataclass ``cls`` found in a saved config section (paths as Paths)."""
    names = {field.name: field.type for field in dataclasses.fields(cls)}
    values = {name: section[name] for name in names if name in section}
    if values.get("embeddings") is not None:
        values["embeddings"] = Path(values["embeddings"])
    return values
