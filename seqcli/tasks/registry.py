"""The task registry: what ``evaluate``, ``info`` and the Trainer need to know of each task.

A task is one :class:`TaskEntry`: its name (the ``task`` field of ``config.json``), its
selection metric and the module that implements it. The module is imported only when a
command needs it, so ``seqcli --help`` never pays for torch. It defines

    evaluate(run_dir: Path, request: EvalRequest) -> Evaluation
    info_sections(run_dir: Path, config: dict) -> dict[str, dict]     (optional)

See docs/extending.md for how a new task plugs in.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from seqcli.metrics.selection import Metric

__all__ = ["EvalRequest", "Evaluation", "Metric", "TaskEntry"]


@dataclass(frozen=True)
class EvalRequest:
    """What ``seqcli evaluate`` was given: positional data files and the task's options.

    ``data`` holds 0, 1 or 2 paths (a translator takes two aligned files or one TSV, a
    vectors run none); each task says what it accepts. ``options`` carries evaluate options
    that only some tasks read (``analogies``, ``similarity``, ``restrict``, ...).
    """

    data: tuple[Path, ...]
    device: Any = "cpu"
    encoding_errors: str = "strict"
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluation:
    """Figures with the task's headline first, and detail lines shown before them."""

    figures: dict[str, float]
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TaskEntry:
    """One task: ``name`` as in config.json, a title for people, its selection metric, the
    import path of the module that evaluates and describes its checkpoints, and the files
    its runs write besides config, weights, state, metrics and ``tokenizer.*`` (so that
    ``--overwrite`` removes them and nothing else), and the ``seqcli evaluate`` options its
    ``evaluate`` reads (others given are refused, not ignored)."""

    name: str
    title: str
    metric: Metric
    module: str
    files: tuple[str, ...] = ()  # glob patterns of run files besides the common ones
    options: tuple[str, ...] = ()  # EvalRequest.options names this task reads

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)

    def evaluate(self, run_dir: Path, request: EvalRequest) -> Evaluation:
        return self.load().evaluate(run_dir, request)

    def info_sections(self, run_dir: Path, config: dict[str, Any]) -> dict[str, dict[str, Any]]:
        sections = getattr(self.load(), "info_sections", None)
        return sections(run_dir, config) if sections is not None else {}
