"""Tokenizer commands: train-tokenizer and tokenize."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqcli.cli import options as o
from seqcli.cli.output import emit, stderr_console
from seqcli.errors import SeqcliError

__all__ = ["tokenize", "train_tokenizer"]

TokenizerOutput = Annotated[
    Path,
    typer.Option(
        "-o",
        "--output",
        help="Directory to write the tokenizer to (created if missing). Never a directory that "
        "holds a model: a model keeps the tokenizer it was trained with.",
        show_default=False,
    ),
]


def train_tokenizer(
    corpus: Annotated[
        list[Path], typer.Argument(metavar="CORPUS...", help="Training text files.", show_default=False)
    ],
    output: TokenizerOutput,
    type_: Annotated[str, typer.Option("--type", help="bpe, unigram (sentencepiece), char or word.")] = "bpe",
    vocab_size: Annotated[
        int, typer.Option(help="Vocabulary size for bpe/unigram (char/word: --max-vocab).")
    ] = 8000,
    min_count: Annotated[int, typer.Option(help="char/word: tokens seen fewer times become <unk>.")] = 1,
    max_vocab: Annotated[
        int | None,
        typer.Option(help="char/word: keep only this many most frequent tokens.", show_default=False),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a tokenizer already in --output.")] = False,
    encoding_errors: o.EncodingErrors = "strict",
    seed: o.Seed = 0,
    quiet: o.Quiet = False,
) -> None:
    """Train a tokenizer (with <pad> <unk> <bos> <eos>) and save it to a directory."""
    from seqcli.text import check_tokenizer_directory
    from seqcli.text import train_tokenizer as train

    check_tokenizer_directory(output, overwrite=overwrite)
    tokenizer = train(
        type_,
        corpus,
        vocab_size=vocab_size if type_ in ("bpe", "unigram") else None,
        min_count=min_count,
        max_vocab=max_vocab,
        encoding_errors=encoding_errors,
        seed=seed,
    )
    tokenizer.save(output)
    stderr_console(quiet).print(
        f"{type_} tokenizer with {tokenizer.vocab_size} entries written to {output}",
        soft_wrap=True,
        markup=False,
    )


def tokenize(
    model: Annotated[
        Path,
        typer.Option(
            "-m", "--model", help="Tokenizer directory, or any checkpoint directory.", show_default=False
        ),
    ],
    data: o.InputFile = Path("-"),
    ids: Annotated[
        bool, typer.Option("--ids", help="Print token ids instead of pieces (with --decode: read ids).")
    ] = False,
    decode: Annotated[
        bool,
        typer.Option("--decode", help="Reverse: read pieces (ids with --ids) and print the text."),
    ] = False,
    encoding_errors: o.EncodingErrors = "strict",
) -> None:
    """Split each input line into pieces (or ids); --decode turns them back into text.

    Pieces are separated by single spaces. A char tokenizer shows a space as ▁ and other
    whitespace as <U+XXXX>, so tokenize | tokenize --decode gives every line back exactly;
    word, bpe and unigram tokenizers keep words, not spacing (docs/language-models.md).
    """
    from seqcli.data.corpus import iter_lines
    from seqcli.text import load_tokenizer

    tokenizer = load_tokenizer(model)
    for number, line in enumerate(iter_lines(data, encoding_errors=encoding_errors), start=1):
        if decode:
            emit(tokenizer.decode(_parse_tokens(tokenizer, line, ids, f"{data}:{number}")))
        elif ids:
            emit(" ".join(map(str, tokenizer.encode(line))))
        else:
            emit(tokenizer.format_pieces(line))


def _parse_tokens(tokenizer, line: str, ids: bool, where: str) -> list[int]:
    from seqcli.text import UNK_ID

    fields = line.split()
    numeric = all(field.lstrip("-").isdigit() for field in fields)
    if not ids:
        parsed = tokenizer.parse_pieces(line)
        if fields and numeric and UNK_ID in parsed:
            raise SeqcliError(
                f"{where}: integers that are not pieces of this tokenizer; for token ids pass --decode --ids"
            )
        return parsed
    if not numeric:
        raise SeqcliError(f"{where}: expected token ids (integers); without --ids --decode reads pieces")
    values = [int(field) for field in fields]
    bad = [v for v in values if not 0 <= v < tokenizer.vocab_size]
    if bad:
        raise SeqcliError(f"{where}: id {bad[0]} is outside the vocabulary (0..{tokenizer.vocab_size - 1})")
    return values
