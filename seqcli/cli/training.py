"""Training options defined once, for every ``train-*`` command.

A train command declares only its task's own arguments and options, plus one parameter
``setup: TrainSetup``; :func:`train_command` adds the shared options (output directory,
limits, optimiser, schedule, clipping, evaluation, saving, resume, device, seed, threads)
to the signature Typer reads, and hands the command a :class:`TrainSetup` built from them:

    @train_command(lr=2e-3, clip=0.25)
    def train_lm(corpus: Path, ..., setup: TrainSetup) -> None:
        result = train_language_model(corpus, ..., run=setup.run, training=setup.training, ...)

Keyword arguments of ``train_command`` change a shared option's default for that task.
``setup.given`` names the options the user typed (not defaults), which resume checks use.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from seqcli.cli import options as o

if TYPE_CHECKING:
    from seqcli.tasks.training import RunOptions
    from seqcli.train.config import TrainConfig

__all__ = ["TrainSetup", "train_command"]

LIMITS = ("epochs", "max_steps", "max_time")


@dataclass(frozen=True)
class TrainSetup:
    """What the shared options say: where and how to run, and how to train."""

    run: RunOptions
    training: TrainConfig
    given: frozenset[str]  # parameter names the user gave on the command line

    def task_options(self, *, changeable: frozenset[str] = frozenset()) -> list[str]:
        """The command's own options the user typed, as typed (``--hidden``): on
        ``--resume`` the run keeps its saved ones, so these are refused. ``changeable``
        names the command's parameters that may differ on resume (inputs, worker counts)."""
        own = self.given - set(SHARED) - changeable
        return [f"--{name.replace('_', '-')}" for name in sorted(own)]

    @property
    def limits(self) -> dict[str, Any]:
        """The stopping limits the user gave (on --resume they replace the saved ones)."""
        return {name: getattr(self.training, name) for name in LIMITS if name in self.given}


# name -> (annotation, default). Help texts live in seqcli.cli.options.
SHARED: dict[str, tuple[Any, Any]] = {
    "output": (o.OutputDir, inspect.Parameter.empty),
    "epochs": (o.Epochs, 10),
    "max_steps": (o.MaxSteps, None),
    "max_time": (o.MaxTime, None),
    "optimizer": (Annotated[Literal["sgd", "adam", "adamw"], o.Optimizer], "adam"),
    "lr": (o.LearningRate, 1e-3),
    "weight_decay": (o.WeightDecay, 0.0),
    "momentum": (o.Momentum, 0.0),
    "betas": (o.Betas, (0.9, 0.999)),
    "schedule": (Annotated[Literal["constant", "plateau", "step", "cosine"], o.Schedule], "constant"),
    "lr_decay": (o.LrDecay, 0.25),
    "decay_start": (o.DecayStart, 4),
    "warmup_steps": (o.WarmupSteps, 0),
    "clip": (o.Clip, None),
    "clip_value": (o.ClipValue, None),
    "ema": (o.Ema, None),
    "eval_every": (o.EvalEvery, None),
    "patience": (o.Patience, None),
    "max_bad_steps": (o.MaxBadSteps, 10),
    "save_every": (o.SaveEvery, "5m"),
    "resume": (o.Resume, False),
    "new_data": (o.NewData, False),
    "overwrite": (o.Overwrite, False),
    "amp": (o.Amp, False),
    "compile": (o.Compile, False),
    "device": (o.Device, "auto"),
    "seed": (o.Seed, 0),
    "threads": (o.Threads, None),
    "quiet": (o.Quiet, False),
}


def train_command(**defaults: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a train command the shared options (see module docstring)."""
    unknown = set(defaults) - set(SHARED)
    if unknown:
        raise TypeError(f"train_command: no shared option named {', '.join(sorted(unknown))}")

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        # eval_str: the command module uses postponed annotations; Typer needs the real
        # Annotated objects (help texts, metavars) once they sit in another signature.
        own = [
            p for name, p in inspect.signature(command, eval_str=True).parameters.items() if name != "setup"
        ]
        shared = [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=annotation,
                default=defaults.get(name, default),
            )
            for name, (annotation, default) in SHARED.items()
        ]

        context = inspect.Parameter("context", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)

        @functools.wraps(command)
        def run(*, context: typer.Context | None = None, **values: Any) -> Any:
            given = _given(context, values)
            setup = build_setup({name: values.pop(name) for name in SHARED}, given)
            return command(**values, setup=setup)

        run.__signature__ = inspect.Signature([*own, *shared, context])  # type: ignore[attr-defined]
        return run

    return decorate


def _given(context: typer.Context | None, values: dict[str, Any]) -> frozenset[str]:
    """Parameters whose value came from the command line rather than a default."""
    if context is None:  # called from Python, not through the CLI: everything was given
        return frozenset(values)
    sources = {name: context.get_parameter_source(name) for name in values}
    return frozenset(
        name for name, source in sources.items() if source is not None and source.name == "COMMANDLINE"
    )


def build_setup(values: dict[str, Any], given: frozenset[str]) -> TrainSetup:
    """The shared options' values as RunOptions and TrainConfig (ranges checked there)."""
    from seqcli.data.token_cache import default_cache_dir
    from seqcli.tasks.training import RunOptions
    from seqcli.train.config import TrainConfig

    save_every, save_every_steps = o.parse_save_every(values["save_every"])
    run = RunOptions(
        run_dir=values["output"],
        device=values["device"],
        threads=values["threads"],
        overwrite=values["overwrite"],
        resume=values["resume"],
        new_data=values["new_data"],
        quiet=values["quiet"],
        cache_dir=default_cache_dir(),
        argv=list(sys.argv),
    )
    training = TrainConfig(
        epochs=values["epochs"],
        max_steps=values["max_steps"],
        max_time=o.parse_duration(values["max_time"]),
        optimizer=values["optimizer"],
        lr=values["lr"],
        weight_decay=values["weight_decay"],
        momentum=values["momentum"],
        betas=values["betas"],
        schedule=values["schedule"],
        lr_decay=values["lr_decay"],
        decay_start=values["decay_start"],
        warmup_steps=values["warmup_steps"],
        clip=values["clip"],
        clip_value=values["clip_value"],
        ema=values["ema"],
        eval_every=values["eval_every"],
        patience=values["patience"],
        max_bad_steps=values["max_bad_steps"],
        save_every=save_every,
        save_every_steps=save_every_steps,
        seed=values["seed"],
        amp=values["amp"],
        compile=values["compile"],
    )
    return TrainSetup(run=run, training=training, given=given)
