"""The ``seqcli`` command: every command registered here, grouped Train / Use / Inspect.

Command modules import torch inside their bodies, so ``seqcli --help`` answers at once.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Annotated

import typer

from seqcli import __version__
from seqcli.cli import asr, classify, embeddings, inspect, lm, tagging, text, translation
from seqcli.errors import SeqcliError, TrainingInterrupted

try:  # Typer 0.22+ carries its own copy of Click
    from typer._click.exceptions import ClickException
except ImportError:  # older Typer runs on Click itself
    from click.exceptions import ClickException

__all__ = ["app", "main"]

TRAIN, USE, INSPECT = "Train", "Use", "Inspect"

app = typer.Typer(
    name="seqcli",
    help="Classic sequence models from the shell: train a model into a checkpoint directory, then use it.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
)

app.command("train-tokenizer", rich_help_panel=TRAIN)(text.train_tokenizer)
app.command("train-lm", rich_help_panel=TRAIN)(lm.train_lm)
app.command("train-embeddings", rich_help_panel=TRAIN)(embeddings.train_embeddings)
app.command("train-tagger", rich_help_panel=TRAIN)(tagging.train_tagger)
app.command("train-classifier", rich_help_panel=TRAIN)(classify.train_classifier)
app.command("train-translator", rich_help_panel=TRAIN)(translation.train_translator)
app.command("train-asr", rich_help_panel=TRAIN)(asr.train_asr)
app.command("tokenize", rich_help_panel=USE)(text.tokenize)
app.command("sample", rich_help_panel=USE)(lm.sample)
app.command("score", rich_help_panel=USE)(lm.score)
app.command("embed", rich_help_panel=USE)(embeddings.embed)
app.command("export", rich_help_panel=USE)(embeddings.export)
app.command("tag", rich_help_panel=USE)(tagging.tag)
app.command("classify", rich_help_panel=USE)(classify.classify)
app.command("translate", rich_help_panel=USE)(translation.translate)
app.command("transcribe", rich_help_panel=USE)(asr.transcribe)
app.command("evaluate", rich_help_panel=INSPECT)(inspect.evaluate)
app.command("info", rich_help_panel=INSPECT)(inspect.info)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"seqcli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Classic sequence models from the shell."""


# OpenMP threads that wait spin for GOMP_SPINCOUNT iterations before sleeping; libgomp's
# default (300,000) makes two trainings that share the cores spin against each other.
# 1,000 kept an idle machine's speed (-3%, median of 3) and doubled each of two trainings
# at once (bench/contention.py). Set before torch loads libgomp; the user's value wins.
SPIN_COUNT = "1000"


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: user mistakes print one line and exit 2; tracebacks only with --debug."""
    os.environ.setdefault("GOMP_SPINCOUNT", SPIN_COUNT)
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        status = app(args=args, prog_name="seqcli", standalone_mode=False)
    except ClickException as err:
        if not err.format_message():  # `seqcli` alone: the help was shown
            sys.exit(err.exit_code)
        # Typer's usage errors (unknown option, a value not among the choices) as one line.
        hint = f" (see 'seqcli {args[0]} --help')" if args and not args[0].startswith("-") else ""
        _fail(f"error: {err.format_message()}{hint}", 2)
    except SeqcliError as err:
        if debug:
            raise
        _fail(f"error: {err}", 2)
    except TrainingInterrupted as err:
        from seqcli.train.signals import exit_status

        _fail(f"{err}; continue with the same command and --resume", exit_status(err.signum))
    except KeyboardInterrupt:
        # Ctrl-C outside training's own handler (start-up, tokenizer training, use commands).
        _fail("interrupted", 130)
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (e.g. `| head`): not an error
        sys.exit(0)
    except Exception as err:
        _unexpected(err, debug)
    else:
        sys.exit(status if isinstance(status, int) else 0)


def _unexpected(err: Exception, debug: bool) -> None:
    if debug:
        raise err
    _fail(f"unexpected error: {type(err).__name__}: {err} (run 'seqcli --debug …' for the traceback)", 1)


def _fail(message: str, status: int) -> None:
    # seqcli is leaving: a Ctrl-C now (the second of two, after the state was saved) must not
    # turn the exit into a KeyboardInterrupt traceback and status 1.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stderr.write(f"seqcli: {message}\n")
    sys.exit(status)
