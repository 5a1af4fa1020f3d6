"""Tagger commands: train-tagger and tag. Parse, call seqcli.tasks, print."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from seqcli.cli import options as o
from seqcli.cli.lm import CELL_HELP, CELLS
from seqcli.cli.output import emit, training_summary
from seqcli.cli.training import TrainSetup, train_command

__all__ = ["INPUTS", "tag", "train_tagger", "warn"]

Embeddings = Annotated[
    Path | None,
    typer.Option(
        help="Pre-trained word vectors: a word2vec text or binary file (or a train-embeddings run).",
        show_default=False,
    ),
]
FreezeEmbeddings = Annotated[
    bool, typer.Option(help="Keep the pre-trained vectors fixed instead of fine-tuning them.")
]
Stdin = Annotated[
    Path, typer.Argument(metavar="[INPUT]", help="Input file; - or nothing for standard input.")
]


def warn(message: str) -> None:
    """A warning on standard error (never mixed into results)."""
    sys.stderr.write(f"warning: {message}\n")


INPUTS = frozenset({"train", "valid", "encoding_errors"})  # may change on --resume


# Adam with beta2 0.9 (Dozat & Manning): 95.70 on EWT dev against 95.48 with 0.999 (docs/benchmarks.md).
@train_command(lr=5e-3, epochs=20, clip=5.0, schedule="plateau", lr_decay=0.5, betas=(0.9, 0.9))
def train_tagger(
    train: Annotated[
        Path,
        typer.Argument(metavar="TRAIN", help="Tagged training data: CoNLL or CoNLL-U.", show_default=False),
    ],
    valid: Annotated[
        Path | None,
        typer.Option(help="Tagged validation data (default: a seeded 10% of TRAIN).", show_default=False),
    ] = None,
    column: Annotated[
        str | None,
        typer.Option(
            help="Tag column: a CoNLL column index (default -1, the last) or a CoNLL-U field, upos or "
            "xpos (the default for .conllu files).",
            show_default=False,
        ),
    ] = None,
    scheme: Annotated[
        Literal["auto", "iob1", "iob2", "bioes", "none"],
        typer.Option(help="Chunk tag scheme; auto detects it, none means plain tags (POS)."),
    ] = "auto",
    strict: Annotated[
        bool, typer.Option(help="Refuse tags that break the scheme instead of repairing them.")
    ] = False,
    crf: Annotated[bool, typer.Option(help="A linear-chain CRF output layer instead of a softmax.")] = False,
    char_features: Annotated[
        bool, typer.Option(help="Character features per word (for unseen words and capitals).")
    ] = True,
    char_encoder: Annotated[
        Literal["lstm", "cnn"], typer.Option(help="Character encoder: a BiLSTM or a CNN with max-pooling.")
    ] = "lstm",
    char_embedding: Annotated[int, typer.Option(help="Character embedding size.")] = 100,
    char_hidden: Annotated[
        int, typer.Option(help="Character encoder units (per direction for the BiLSTM; filters for the CNN).")
    ] = 200,
    cell: Annotated[Literal[CELLS], typer.Option(help=CELL_HELP)] = "lstm",
    layers: Annotated[int, typer.Option(help="Bidirectional recurrent layers.")] = 2,
    hidden: Annotated[int, typer.Option(help="Hidden units per direction.")] = 200,
    embedding: Annotated[
        int | None,
        typer.Option(help="Word embedding size (default 100, or the --embeddings size).", show_default=False),
    ] = None,
    dropout: Annotated[float, typer.Option(help="Dropout on the encoder's inputs and outputs.")] = 0.33,
    locked_dropout: Annotated[
        bool,
        typer.Option(
            help="Drop the same input and output units at every word of a sentence (variational "
            "dropout) instead of fresh units at each word."
        ),
    ] = False,
    embeddings: Embeddings = None,
    freeze_embeddings: FreezeEmbeddings = False,
    min_count: Annotated[int, typer.Option(help="Words seen fewer times than this become <unk>.")] = 1,
    word_dropout: Annotated[
        float,
        typer.Option(
            help="In training, replace each word with <unk> with this probability (words seen once "
            "are also replaced half the time), so that unseen words are tagged from their spelling."
        ),
    ] = 0.25,
    case_fallback: Annotated[
        bool,
        typer.Option(
            help="A word not in the vocabulary takes the embedding of its most frequent case variant "
            "(GRANOLLERS reads as Granollers) before falling back to <unk>."
        ),
    ] = True,
    batch_size: Annotated[int, typer.Option(help="Sentences per batch (per process under torchrun).")] = 32,
    encoding_errors: o.EncodingErrors = "strict",
    *,
    setup: TrainSetup,
) -> None:
    """Train a sequence tagger (named entities, part of speech, chunks) on CoNLL or CoNLL-U.

    A bidirectional LSTM over word embeddings and character features, with a softmax or a
    CRF (--crf) output; chunk tags (IOB1, IOB2, BIOES) are decoded under the scheme's rules.
    Selects the best epoch on entity F1 (chunk tags) or accuracy (plain tags).
    """
    from seqcli.tasks.tagger_train import TaggerData, train_tagger

    result = train_tagger(
        train,
        valid,
        run=setup.run,
        model={
            "cell": cell,
            "embedding_dim": embedding,
            "hidden_size": hidden,
            "num_layers": layers,
            "dropout": dropout,
            "locked_dropout": locked_dropout,
            "crf": crf,
            "freeze_embeddings": freeze_embeddings,
            "char_features": char_features,
            "char_encoder": char_encoder,
            "char_embedding_dim": char_embedding,
            "char_hidden_size": char_hidden,
        },
        data=TaggerData(
            column=column,
            scheme=scheme,
            strict=strict,
            min_count=min_count,
            word_dropout=word_dropout,
            case_fallback=case_fallback,
            batch_size=batch_size,
            embeddings=embeddings,
            encoding_errors=encoding_errors,
        ),
        training=setup.training,
        warn=warn,
        given=setup.given,
        task_options_given=setup.task_options(changeable=INPUTS),
    )
    training_summary(result, setup.run.run_dir, quiet=setup.run.quiet)


def tag(
    model: o.ModelDir,
    data: Stdin = Path("-"),
    input_format: Annotated[
        Literal["text", "conll", "conllu"] | None,
        typer.Option(
            help="text (one tokenised sentence a line), conll or conllu; default from the file's "
            "extension (.conll, .conllu), else text.",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        Literal["text", "conll", "conllu", "jsonl"] | None,
        typer.Option(
            "--format",
            help="text (token/TAG), conll (a tag column added), conllu, or jsonl (tokens, tags, "
            "entity spans, scores); default: the input's own layout.",
            show_default=False,
        ),
    ] = None,
    encoding_errors: o.EncodingErrors = "strict",
    device: o.Device = "auto",
    threads: o.Threads = None,
) -> None:
    """Tag sentences: raw text, CoNLL or CoNLL-U in, the same layout out."""
    from seqcli.tasks.tagger import load_tagger
    from seqcli.tasks.tagger_use import input_format as resolve_input
    from seqcli.tasks.tagger_use import read_input, tag_lines
    from seqcli.train.devices import configure_threads, resolve_device

    configure_threads(threads)
    kind = resolve_input(data, input_format)
    blocks = read_input(data, kind, encoding_errors=encoding_errors)
    tagger = load_tagger(model, resolve_device(device))
    for line in tag_lines(tagger, blocks, output_format or kind, kind):
        emit(line)
