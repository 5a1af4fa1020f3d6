"""Word-vector commands: train-embeddings, embed, export. Parse, call seqcli.tasks, print."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from seqcli.cli import options as o
from seqcli.cli.output import check_format, emit, stderr_console
from seqcli.cli.training import TrainSetup, train_command
from seqcli.errors import SeqcliError

__all__ = ["embed", "export", "train_embeddings"]


# Shared training options that word2vec has no use for: its kernel is plain SGD with a
# learning rate decaying linearly to ~0, and it has no validation set.
NOT_APPLICABLE = (
    "optimizer", "weight_decay", "momentum", "betas", "schedule", "lr_decay", "decay_start", "warmup_steps",
    "clip", "clip_value", "ema", "eval_every", "patience", "max_bad_steps", "amp", "compile",
)  # fmt: skip


@train_command(lr=0.025, epochs=5, seed=1)
def train_embeddings(
    corpus: Annotated[
        Path,
        typer.Argument(metavar="CORPUS", help="Training text (UTF-8), one sentence per line; - for stdin."),
    ],
    model: Annotated[str, typer.Option(help="skipgram (context from word) or cbow (word from context).")] = (
        "skipgram"
    ),
    loss: Annotated[
        str, typer.Option(help="negative (negative sampling) or hierarchical (Huffman-tree softmax).")
    ] = "negative",
    dim: Annotated[int, typer.Option(help="Vector size.")] = 100,
    window: Annotated[
        int, typer.Option(help="Largest distance to a context word (drawn 1..N per word).")
    ] = 5,
    negative: Annotated[int, typer.Option(help="Noise words per positive pair (negative sampling).")] = 5,
    min_count: Annotated[int, typer.Option(help="Ignore words seen fewer times than this.")] = 5,
    max_vocab: Annotated[
        int | None, typer.Option(help="Keep at most this many most frequent words.", show_default=False)
    ] = None,
    sample: Annotated[float, typer.Option(help="Subsampling threshold for frequent words (0: none).")] = 1e-3,
    lowercase: Annotated[bool, typer.Option(help="Lowercase the corpus (and later queries).")] = False,
    encoding_errors: o.EncodingErrors = "strict",
    *,
    setup: TrainSetup,
) -> None:
    """Train word2vec vectors (skip-gram or CBOW; negative sampling or hierarchical softmax).

    The CPU path is a compiled lock-free multi-threaded kernel (as word2vec.c and gensim; --threads
    sets its threads); on CUDA, batched sparse updates in torch. --lr decays linearly to ~0 over
    all epochs; progress shows words/s and the current rate. The optimiser, schedule, clipping
    and validation options of other train commands do not apply.
    """
    given_elsewhere = sorted(name for name in NOT_APPLICABLE if name in setup.given)
    if given_elsewhere:
        names = ", ".join("--" + name.replace("_", "-") for name in given_elsewhere)
        raise SeqcliError(f"{names}: not used by train-embeddings (word2vec is SGD with a linear decay)")
    from seqcli.tasks.embeddings_loop import EmbeddingTraining
    from seqcli.tasks.embeddings_train import VocabularyOptions
    from seqcli.tasks.embeddings_train import train_embeddings as train

    console = stderr_console(setup.run.quiet)
    config = setup.training
    result = train(
        corpus,
        run=setup.run,
        model={
            "model": model,
            "loss": loss,
            "dim": dim,
            "window": window,
            "negative": negative,
            "sample": sample,
        },
        vocabulary=VocabularyOptions(min_count=min_count, max_vocab=max_vocab, lowercase=lowercase),
        training=EmbeddingTraining(
            epochs=config.epochs,
            lr=config.lr,
            seed=config.seed,
            max_steps=config.max_steps,
            max_time=config.max_time,
            save_every=config.save_every,
            save_every_steps=config.save_every_steps,
        ),
        given=setup.given,
        encoding_errors=encoding_errors,
        log=lambda message: console.print(message),
    )
    rate = result.words / result.elapsed if result.elapsed > 0 else 0.0
    loss_text = f"; training loss {result.loss:.4f}" if result.loss is not None else ""
    if os.environ.get("RANK", "0") == "0":
        console.print(
            f"[bold green]done[/] ({result.stop_reason}) after {result.steps} steps, {result.words:,} words "
            f"in {result.elapsed:.0f} s ({rate:,.0f} words/s){loss_text}; vectors in {setup.run.run_dir}"
        )


def embed(
    model: o.ModelDir,
    words: Annotated[
        list[str] | None, typer.Argument(metavar="[WORD]...", help="Query words.", show_default=False)
    ] = None,
    neighbors: Annotated[
        int | None,
        typer.Option(help="Print the N nearest words by cosine instead of vectors.", show_default=False),
    ] = None,
    analogy: Annotated[
        bool,
        typer.Option(
            help="Answer A : B :: C : ? for three words A B C (3CosAdd); --neighbors N for N answers."
        ),
    ] = False,
    sentences: Annotated[
        bool, typer.Option(help="Read lines from standard input; print the mean vector of each line's words.")
    ] = False,
    output_format: o.OutputFormat = "text",
) -> None:
    """Look up word vectors, nearest neighbours, analogies or sentence vectors.

    Text output: word2vec text lines (word and values) for vectors; query, word, cosine
    (tab-separated) for --neighbors; answer and cosine for --analogy; the values alone for
    --sentences. Words outside the vocabulary are named on stderr; the rest are answered.
    """
    check_format(output_format, ("text", "jsonl"))
    words = words or []
    modes = sum([neighbors is not None and not analogy, analogy, sentences])
    if modes > 1:
        raise SeqcliError("choose one of --neighbors, --analogy and --sentences")
    if sentences and words:
        raise SeqcliError("--sentences reads standard input; give no words")
    if not sentences and not words:
        raise SeqcliError("give query words (or --sentences to read lines from standard input)")
    from seqcli.tasks.embeddings_use import load_vectors_model

    vectors = load_vectors_model(model)
    if analogy:
        _print_analogy(vectors, words, neighbors or 1, output_format)
    elif sentences:
        _print_sentences(vectors, output_format)
    elif neighbors is not None:
        answers = vectors.neighbours(words, neighbors)
        _warn_unknown(answers.unknown)
        answers.check_any()
        for word, found in answers.results:
            for other, score in found:
                record = {"word": word, "neighbor": other, "cosine": round(score, 6)}
                emit(
                    json.dumps(record, ensure_ascii=False)
                    if output_format == "jsonl"
                    else f"{word}\t{other}\t{score:.6f}"
                )
    else:
        answers = vectors.vectors_of(words)
        _warn_unknown(answers.unknown)
        answers.check_any()
        for word, vector in answers.results:
            values = vector.tolist()
            if output_format == "jsonl":
                emit(json.dumps({"word": word, "vector": [round(v, 6) for v in values]}, ensure_ascii=False))
            else:
                emit(word + " " + " ".join(f"{v:.6f}" for v in values))


def _print_analogy(vectors, words: list[str], top: int, output_format: str) -> None:
    if len(words) != 3:
        raise SeqcliError(f"--analogy takes three words A B C (A : B :: C : ?), got {len(words)}")
    for answer, score in vectors.analogy(*words, top=top):
        if output_format == "jsonl":
            emit(
                json.dumps(
                    {"analogy": words, "answer": answer, "cosine": round(score, 6)}, ensure_ascii=False
                )
            )
        else:
            emit(f"{answer}\t{score:.6f}")


def _print_sentences(vectors, output_format: str) -> None:
    matrix, empty = vectors.sentence_vectors(line.rstrip("\n") for line in sys.stdin)
    if empty:
        shown = ", ".join(map(str, empty[:10])) + (" …" if len(empty) > 10 else "")
        stderr_console().print(f"[yellow]warning:[/] no known word on line(s) {shown}: zero vectors")
    for row in matrix.tolist():
        if output_format == "jsonl":
            emit(json.dumps({"vector": [round(v, 6) for v in row]}))
        else:
            emit(" ".join(f"{v:.6f}" for v in row))


def _warn_unknown(unknown: list[str]) -> None:
    if unknown:
        stderr_console().print(f"[yellow]warning:[/] not in the vocabulary: {', '.join(unknown)}")


def export(
    model: o.ModelDir,
    output: Annotated[Path, typer.Argument(metavar="OUTPUT", help="File to write.", show_default=False)],
    output_format: Annotated[
        str,
        typer.Option(
            "--format", help="word2vec-text or word2vec-binary (readable by gensim and word2vec.c)."
        ),
    ] = "word2vec-text",
    quiet: o.Quiet = False,
) -> None:
    """Write a vectors run as a word2vec text or binary file."""
    from seqcli.tasks.embeddings_use import export_vectors

    count = export_vectors(model, output, format=output_format)
    stderr_console(quiet).print(f"wrote {count:,} vectors to {output} ({output_format})")
