"""Classifier commands: train-classifier and classify. Parse, call seqcli.tasks, print."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from seqcli.cli import options as o
from seqcli.cli.lm import CELL_HELP, CELLS
from seqcli.cli.output import check_format, emit, training_summary
from seqcli.cli.tagging import INPUTS, Embeddings, FreezeEmbeddings, Stdin, warn
from seqcli.cli.training import TrainSetup, train_command

__all__ = ["classify", "train_classifier"]


@train_command(lr=2e-3, epochs=10, clip=5.0, schedule="plateau", lr_decay=0.5)
def train_classifier(
    train: Annotated[
        Path,
        typer.Argument(
            metavar="TRAIN", help="Labelled training data: TSV, label<TAB>text.", show_default=False
        ),
    ],
    valid: Annotated[
        Path | None,
        typer.Option(help="Labelled validation TSV (default: a seeded 10% of TRAIN).", show_default=False),
    ] = None,
    label_column: Annotated[
        str,
        typer.Option(help="Label column: a 0-based index, or a header name (the first line is a header)."),
    ] = "0",
    text_column: Annotated[
        str, typer.Option(help="Text column: a 0-based index, or a header name (the first line is a header).")
    ] = "1",
    pooling: Annotated[
        Literal["last", "mean", "max", "attention"],
        typer.Option(help="How the encoder's states become one vector: last state, mean, max or attention."),
    ] = "max",
    class_weights: Annotated[
        bool, typer.Option(help="Weigh classes inversely to their frequency (for imbalanced data).")
    ] = False,
    cell: Annotated[Literal[CELLS], typer.Option(help=CELL_HELP)] = "lstm",
    layers: Annotated[int, typer.Option(help="Recurrent layers.")] = 1,
    hidden: Annotated[int, typer.Option(help="Hidden units per direction.")] = 150,
    bidirectional: Annotated[bool, typer.Option(help="Read the text in both directions.")] = True,
    embedding: Annotated[
        int | None,
        typer.Option(help="Word embedding size (default 300, or the --embeddings size).", show_default=False),
    ] = None,
    dropout: Annotated[float, typer.Option(help="Dropout on the embeddings and the pooled vector.")] = 0.5,
    embeddings: Embeddings = None,
    freeze_embeddings: FreezeEmbeddings = False,
    min_count: Annotated[int, typer.Option(help="Words seen fewer times than this become <unk>.")] = 1,
    batch_size: Annotated[int, typer.Option(help="Texts per batch (per process under torchrun).")] = 32,
    encoding_errors: o.EncodingErrors = "strict",
    *,
    setup: TrainSetup,
) -> None:
    """Train a text classifier (e.g. sentiment) on a labelled TSV file.

    A bidirectional LSTM over word embeddings, pooled over the text (--pooling), and a
    softmax over the labels. Selects the best epoch on validation accuracy.
    """
    from seqcli.tasks.classifier_train import ClassifierData, train_classifier

    result = train_classifier(
        train,
        valid,
        run=setup.run,
        model={
            "cell": cell,
            "embedding_dim": embedding,
            "hidden_size": hidden,
            "num_layers": layers,
            "bidirectional": bidirectional,
            "pooling": pooling,
            "dropout": dropout,
            "freeze_embeddings": freeze_embeddings,
        },
        data=ClassifierData(
            label_column=label_column,
            text_column=text_column,
            min_count=min_count,
            batch_size=batch_size,
            class_weights=class_weights,
            embeddings=embeddings,
            encoding_errors=encoding_errors,
        ),
        training=setup.training,
        warn=warn,
        given=setup.given,
        task_options_given=setup.task_options(changeable=INPUTS),
    )
    training_summary(result, setup.run.run_dir, quiet=setup.run.quiet)


def classify(
    model: o.ModelDir,
    data: Stdin = Path("-"),
    output_format: o.OutputFormat = "text",
    encoding_errors: o.EncodingErrors = "strict",
    device: o.Device = "auto",
    threads: o.Threads = None,
) -> None:
    """Classify texts, one a line: the label and its probability (jsonl: every class's)."""
    check_format(output_format, ("text", "jsonl"))
    from seqcli.tasks.classifier import load_classifier
    from seqcli.tasks.classifier_use import classify_lines, read_texts
    from seqcli.train.devices import configure_threads, resolve_device

    configure_threads(threads)
    texts = read_texts(data, encoding_errors=encoding_errors)
    classifier = load_classifier(model, resolve_device(device))
    for line in classify_lines(classifier, texts, output_format):
        emit(line)
