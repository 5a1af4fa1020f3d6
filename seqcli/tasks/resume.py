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

from seqcli.errors import SeqcliError

__all__ = ["refuse_on_resume", "saved_fields"]


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
