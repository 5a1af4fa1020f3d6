"""``seqcli info``: what a checkpoint is, how big, and how its training went."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open

from seqcli.errors import SeqcliError
from seqcli.tasks import read_task_config, task_entry
from seqcli.train import checkpoint

__all__ = ["checkpoint_summary", "plot_curves", "render_summary"]


def checkpoint_summary(run_dir: Path) -> dict[str, Any]:
    config = read_task_config(run_dir)
    metrics = checkpoint.read_metrics(run_dir)
    train = [m for m in metrics if "train" in m]
    valid = [m for m in metrics if "valid" in m]
    return {
        "directory": str(run_dir),
        "task": config["task"],
        "parameters": _parameter_count(run_dir),
        "files": {p.name: p.stat().st_size for p in sorted(run_dir.iterdir()) if p.is_file()},
        "config": config,
        "sections": task_entry(config["task"]).info_sections(run_dir, config),
        "training": {
            # A run shorter than --log-every logs no training line; the weights know their step.
            "steps": max(
                [m["step"] for m in metrics if "step" in m]
                + [checkpoint.weights_record(run_dir).get("step", 0)]
            ),
            "last_train": train[-1]["train"] if train else None,
            "best_valid": _best(valid, run_dir, config["task"]),
            "evaluations": len(valid),
        },
    }


def _best(valid: list[dict[str, Any]], run_dir: Path, task: str) -> dict[str, float] | None:
    """The validation record that is best on the run's selection metric (the one its
    weights were saved on: loss, F1, accuracy, ...)."""
    metric = task_entry(task).metric
    name = checkpoint.weights_record(run_dir).get("metric", metric.name)
    scored = [m["valid"] for m in valid if name in m["valid"]]
    choose = max if metric.mode == "max" else min
    return choose(scored, key=lambda v: v[name], default=None)


def _parameter_count(run_dir: Path) -> int | None:
    path = run_dir / checkpoint.WEIGHTS_FILE
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="np") as weights:
            return sum(math.prod(weights.get_slice(name).get_shape()) for name in weights.keys())  # noqa: SIM118
    except (SafetensorError, OSError) as err:
        raise SeqcliError(f"{path}: unreadable or truncated ({err})") from None


def render_summary(summary: dict[str, Any]) -> str:
    config, training = summary["config"], summary["training"]
    lines = [
        f"{summary['directory']}: {summary['task']} checkpoint (format {config['format_version']}, "
        f"seqcli {config.get('seqcli_version', '?')})",
        f"parameters: {summary['parameters']:,}"
        if summary["parameters"] is not None
        else "parameters: (no weights yet)",
    ]
    for name, section in summary.get("sections", {}).items():
        lines.append(f"{name}: " + ", ".join(f"{k}={v}" for k, v in section.items()))
    for section in ("model", "tokenizer", "data", "training", "corpus"):
        if isinstance(config.get(section), dict):
            values = ", ".join(f"{k}={v}" for k, v in config[section].items())
            lines.append(f"{section}: {values}")
    lines.append(f"trained: {training['steps']} steps, {training['evaluations']} evaluations")
    if training["last_train"]:
        lines.append("last train: " + _figures(training["last_train"]))
    if training["best_valid"]:
        lines.append("best valid: " + _figures(training["best_valid"]))
    lines.append("files: " + ", ".join(f"{name} ({size:,} B)" for name, size in summary["files"].items()))
    return "\n".join(lines)


def _figures(figures: dict[str, float]) -> str:
    return "  ".join(f"{name} {value:.4g}" for name, value in figures.items())


def plot_curves(run_dir: Path, image: Path) -> None:
    """Training and validation loss against steps, saved as an image (matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SeqcliError("--plot needs matplotlib: pip install 'seqcli[plot]'") from None
    metrics = checkpoint.read_metrics(run_dir)
    train = [(m["step"], m["train"]["loss"]) for m in metrics if "train" in m]
    valid = [(m["step"], m["valid"]["loss"]) for m in metrics if "loss" in m.get("valid", {})]
    if not train and not valid:
        raise SeqcliError(f"{run_dir}: no metrics to plot yet")
    figure, axes = plt.subplots(figsize=(7, 4))
    for points, label in ((train, "train"), (valid, "validation")):
        if points:
            axes.plot(*zip(*points, strict=True), label=label, marker="o" if label == "validation" else None)
    axes.set_xlabel("step")
    axes.set_ylabel("loss (nats per token)")
    axes.set_title(f"{run_dir.name}")
    axes.legend()
    axes.grid(alpha=0.3)
    try:
        figure.savefig(image, dpi=120, bbox_inches="tight")
    except (OSError, ValueError) as err:
        raise SeqcliError(f"{image}: cannot write the plot ({err})") from None
    finally:
        plt.close(figure)
