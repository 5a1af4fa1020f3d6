"""Commands that work on any checkpoint: evaluate and info."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from seqcli.cli import options as o
from seqcli.cli.output import check_format, emit, stderr_console

__all__ = ["evaluate", "info"]


def evaluate(
    model: o.ModelDir,
    data: o.InputFile,
    output_format: o.OutputFormat = "text",
    encoding_errors: o.EncodingErrors = "strict",
    device: o.Device = "auto",
    threads: o.Threads = None,
) -> None:
    """Evaluate a checkpoint on data: perplexity (and bits per character) for language models."""
    check_format(output_format, ("text", "jsonl"))
    import torch

    from seqcli.tasks import evaluate_checkpoint
    from seqcli.train.devices import resolve_device

    if threads:
        torch.set_num_threads(threads)
    figures = evaluate_checkpoint(model, data, device=resolve_device(device), encoding_errors=encoding_errors)
    if output_format == "jsonl":
        emit(json.dumps(figures))
    else:
        emit("  ".join(f"{name} {_number(value)}" for name, value in figures.items()))


def info(
    model: o.ModelDir,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Also draw training/validation curves to this image (PNG, SVG, PDF; .png is added "
            "to a name without a suffix).",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Show a checkpoint's configuration, size and training metrics."""
    check_format(output_format, ("text", "json"))
    from seqcli.tasks.summary import checkpoint_summary, plot_curves, render_summary

    summary = checkpoint_summary(model)
    if output_format == "json":
        emit(json.dumps(summary, indent=2))
    else:
        emit(render_summary(summary))
    if plot is not None:
        # matplotlib adds .png to a name without a suffix: name the file actually written.
        image = plot if plot.suffix else plot.with_name(plot.name + ".png")
        plot_curves(model, image)
        stderr_console().print(f"curves written to {image}", soft_wrap=True, markup=False)


def _number(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4f}"
