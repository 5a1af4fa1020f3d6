"""Options shared by several commands, as ``Annotated`` aliases (one definition each)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import typer

from seqcli.errors import SeqcliError

__all__ = ["parse_duration", "parse_save_every"]

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$")


def parse_duration(text: str | None, option: str = "--max-time") -> float | None:
    """Seconds from ``90``, ``90s``, ``15m``, ``1h30m`` or ``1.5h``.

    >>> parse_duration("15m"), parse_duration("1h30m"), parse_duration("45")
    (900.0, 5400.0, 45.0)
    """
    if text is None:
        return None
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        raise SeqcliError(f"{option} {text!r} is not a duration like 90s, 15m or 1h30m")
    hours, minutes, seconds = (float(part) if part else 0.0 for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def parse_save_every(text: str) -> tuple[float | None, int | None]:
    """``--save-every``: a duration (seconds between saves), ``N steps``, or ``off``.

    >>> parse_save_every("5m"), parse_save_every("2000steps"), parse_save_every("off")
    ((300.0, None), (None, 2000), (None, None))
    """
    text = text.strip().lower()
    if text in ("off", "never", "none"):
        return None, None
    if text.endswith("steps"):
        count = text[: -len("steps")].strip()
        if not count.isdigit() or int(count) < 1:
            raise SeqcliError(f"--save-every {text!r}: expected a positive step count such as 500steps")
        return None, int(count)
    try:
        return parse_duration(text, option="--save-every"), None
    except SeqcliError:
        raise SeqcliError(
            f"--save-every {text!r} is not a duration (5m), a step count (500steps) or off"
        ) from None


ModelDir = Annotated[
    Path,
    typer.Option(
        "-m", "--model", help="Checkpoint directory written by a train command.", show_default=False
    ),
]
OutputDir = Annotated[
    Path,
    typer.Option("-o", "--output", help="Run directory to write the checkpoint into.", show_default=False),
]
InputFile = Annotated[
    Path, typer.Argument(help="Input text file, or - for standard input.", show_default=False)
]
Device = Annotated[Literal["auto", "cpu", "cuda"], typer.Option(help="auto: CUDA when present.")]
Seed = Annotated[int, typer.Option(help="Random seed (same seed, same result).")]
OptionalSeed = Annotated[int | None, typer.Option("--seed", help="Random seed; omit for a fresh draw.")]
Threads = Annotated[
    int | None,
    typer.Option(
        help="CPU threads for torch's kernels (>= 1). Default: the CPUs this process may use that other "
        "processes are not keeping busy (measured at start, and again during training), so jobs sharing "
        "a machine do not slow each other down; OMP_NUM_THREADS, if set, is honoured.",
        show_default=False,
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or logs on stderr.")]
EncodingErrors = Annotated[
    Literal["strict", "replace", "ignore"],
    typer.Option(
        help="What to do with bytes that are not UTF-8: strict (stop with file:line), replace or ignore."
    ),
]
OutputFormat = Annotated[Literal["text", "jsonl"], typer.Option("--format", help="Output format.")]
BatchSize = Annotated[int, typer.Option(help="Sequences per batch (per process under torchrun).")]

# Training options shared by every train-<task> command.
Epochs = Annotated[int, typer.Option(help="Passes over the training data.")]
MaxSteps = Annotated[
    int | None, typer.Option(help="Stop after this many optimiser steps.", show_default=False)
]
MaxTime = Annotated[
    str | None,
    typer.Option(help="Stop after this much training time, e.g. 15m or 1h30m.", show_default=False),
]
Optimizer = typer.Option(help="Optimiser.")
LearningRate = Annotated[float, typer.Option("--lr", help="Learning rate.")]
WeightDecay = Annotated[float, typer.Option(help="Weight decay (L2 for sgd/adam, decoupled for adamw).")]
Momentum = Annotated[float, typer.Option(help="Momentum for sgd.")]
Betas = Annotated[
    tuple[float, float],
    typer.Option(
        metavar="B1 B2",
        help="Adam's decay rates for its moving averages of the gradient and of its square "
        "(adam, adamw); 0.9 0.9 follows Dozat & Manning's taggers and parsers.",
    ),
]
Schedule = typer.Option(
    help="Learning-rate schedule: constant; plateau (×--lr-decay when validation does not "
    "improve); step (×--lr-decay every epoch after --decay-start); cosine (to zero by the "
    "end of the step or time budget)."
)
LrDecay = Annotated[float, typer.Option(help="Decay factor for the plateau and step schedules.")]
DecayStart = Annotated[int, typer.Option(help="Epochs at the full rate before the step schedule decays.")]
WarmupSteps = Annotated[int, typer.Option(help="Steps of linear learning-rate warm-up.")]
Clip = Annotated[float | None, typer.Option(help="Clip the gradient's global norm to this value.")]
ClipValue = Annotated[
    float | None, typer.Option(help="Clip each gradient element to ±this value.", show_default=False)
]
Ema = Annotated[
    float | None,
    typer.Option(
        help="Validate and save a moving average of the weights with this decay per step "
        "(e.g. 0.999) instead of the last weights; training goes on from the raw ones.",
        show_default=False,
    ),
]
EvalEvery = Annotated[
    int | None,
    typer.Option(help="Validate every N steps (default: at the end of every epoch).", show_default=False),
]
Patience = Annotated[
    int | None,
    typer.Option(help="Stop after this many validations without improvement.", show_default=False),
]
MaxBadSteps = Annotated[int, typer.Option(help="Stop after this many non-finite losses in a row.")]
Resume = Annotated[
    bool,
    typer.Option(
        help="Continue the run in --output from its saved state. Model, tokenizer, data and optimiser "
        "settings come from the run (giving a different one is an error); limits, evaluation, "
        "patience and saving options given again replace the saved ones."
    ),
]
NewData = Annotated[
    bool,
    typer.Option(help="With --resume: accept training data that differs from the run's (path or content)."),
]
SaveEvery = Annotated[
    str,
    typer.Option(
        help="Save the resumable state this often, between validations: a duration (5m), a step "
        "count (500steps) or off.",
        metavar="DURATION|Nsteps|off",
    ),
]
Compile = Annotated[
    bool, typer.Option(help="Compile the model with torch.compile (faster steps, slow start).")
]
Overwrite = Annotated[bool, typer.Option(help="Replace the run already in --output.")]
Amp = Annotated[bool, typer.Option(help="bf16 autocast (CUDA only; ignored on CPU).")]
Ensemble = Annotated[
    list[Path] | None,
    typer.Option(
        help="Speech recogniser: another train-asr run that listens with -m (repeat for more); the "
        "decoder reads the mean of their per-frame probabilities (same units, rate and frames).",
        show_default=False,
        metavar="RUN",
    ),
]
