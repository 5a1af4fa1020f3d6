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
    data: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[DATA]...",
            help="Evaluation data, as the task reads it: a text file (language model), a CoNLL file "
            "(tagger), a TSV (classifier, speech manifest), two aligned files or a TSV (translator); "
            "none for word vectors. - reads standard input.",
            show_default=False,
        ),
    ] = None,
    analogies: Annotated[
        Path | None,
        typer.Option(help="Word vectors: analogy questions (questions-words format).", show_default=False),
    ] = None,
    similarity: Annotated[
        Path | None,
        typer.Option(help="Word vectors: word pairs with human similarity scores.", show_default=False),
    ] = None,
    restrict: Annotated[
        int | None,
        typer.Option(
            help="Word vectors: answer analogies among this many most frequent words [default: 30000].",
            show_default=False,
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(help="Translator: sentences per decoding batch [default: 64].", show_default=False),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(help="Classifier: draw the confusion matrix into this PNG file.", show_default=False),
    ] = None,
    beam: Annotated[
        int | None,
        typer.Option(
            help="Translator: beam width [default: 5]. Speech recogniser: prefix beam width "
            "[default: 1, greedy decoding].",
            show_default=False,
        ),
    ] = None,
    length_penalty: Annotated[
        float | None,
        typer.Option(
            help="Translator: alpha of the length normalisation score / T^alpha.", show_default=False
        ),
    ] = None,
    lm: Annotated[
        Path | None,
        typer.Option(
            help="Speech recogniser: a train-lm run fused into the beam search.", show_default=False
        ),
    ] = None,
    lm_weight: Annotated[
        float | None,
        typer.Option(help="Speech recogniser: the LM's weight (alpha) [default: 0.5].", show_default=False),
    ] = None,
    word_bonus: Annotated[
        float | None,
        typer.Option(help="Speech recogniser: score added per word (beta).", show_default=False),
    ] = None,
    lexicon: Annotated[
        Path | None,
        typer.Option(
            help="Speech recogniser: a file of the only words that may be written.", show_default=False
        ),
    ] = None,
    ensemble: o.Ensemble = None,
    output_format: o.OutputFormat = "text",
    encoding_errors: o.EncodingErrors = "strict",
    device: o.Device = "auto",
    threads: o.Threads = None,
) -> None:
    """Evaluate a checkpoint with its task's measures; the last line holds the figures.

    Language models: loss, perplexity (bits per character for character models). Each task's
    headline figure comes first; details (tables, signatures) are printed before that line.
    Options name the task that reads them; one given to another task is an error.
    """
    check_format(output_format, ("text", "jsonl"))
    from seqcli.tasks import evaluate_checkpoint
    from seqcli.tasks.registry import EvalRequest
    from seqcli.train.devices import configure_threads, resolve_device

    configure_threads(threads)
    request = EvalRequest(
        data=tuple(data or ()),
        device=resolve_device(device),
        encoding_errors=encoding_errors,
        options={
            "analogies": analogies,
            "similarity": similarity,
            "restrict": restrict,
            "batch_size": batch_size,
            "plot": plot,
            "beam": beam,
            "length_penalty": length_penalty,
            "lm": lm,
            "lm_weight": lm_weight,
            "word_bonus": word_bonus,
            "lexicon": lexicon,
            "ensemble": tuple(ensemble) if ensemble else None,
        },
    )
    evaluation = evaluate_checkpoint(model, request)
    if output_format == "jsonl":
        emit(json.dumps({name: _json_number(value) for name, value in evaluation.figures.items()}))
        return
    for line in evaluation.details:
        emit(line)
    emit("  ".join(f"{name} {_number(value)}" for name, value in evaluation.figures.items()))


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


def _json_number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _number(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4f}"
