"""Translation commands: train-translator, translate. Parse, call seqcli.tasks, print."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

import typer

from seqcli.cli import options as o
from seqcli.cli.output import emit, stderr_console, training_summary
from seqcli.cli.training import TrainSetup, train_command
from seqcli.errors import SeqcliError

__all__ = ["train_translator", "translate"]

ATTENTIONS = ("bahdanau", "luong-dot", "luong-general", "none")
CELLS = (
    "gru",
    "lstm",
    "rnn",
    "rnn-relu",
    "gru-textbook",
    "gru-simple",
    "lstm-textbook",
    "lstm-peephole",
    "rnn-textbook",
)


@train_command(lr=1e-3, clip=1.0)
def train_translator(
    data: Annotated[
        list[Path],
        typer.Argument(
            metavar="DATA...",
            help="Two aligned files (source, target; a sentence per line) or one TSV of source<TAB>target.",
            show_default=False,
        ),
    ],
    valid: Annotated[
        list[Path] | None,
        typer.Option(
            metavar="FILE [FILE]",
            help="Validation data in the same form: --valid val.de val.en, or --valid dev.tsv. "
            "Greedy BLEU on it selects the best checkpoint.",
            show_default=False,
        ),
    ] = None,
    tokenizer: Annotated[
        str,
        typer.Option(
            metavar="bpe|unigram|DIR",
            help="sentencepiece type trained on the training data, or a directory from train-tokenizer.",
        ),
    ] = "bpe",
    vocab_size: Annotated[int, typer.Option(help="Pieces per trained tokenizer (bpe/unigram).")] = 8000,
    joint_vocab: Annotated[
        bool, typer.Option(help="One tokenizer trained on both sides instead of one per side.")
    ] = False,
    target_tokenizer: Annotated[
        str | None,
        typer.Option(
            metavar="DIR",
            help="With a --tokenizer directory: another for the target side.",
            show_default=False,
        ),
    ] = None,
    attention: Annotated[
        Literal[ATTENTIONS],
        typer.Option(help="bahdanau (additive), luong-dot, luong-general (multiplicative), or none."),
    ] = "bahdanau",
    cell: Annotated[Literal[CELLS], typer.Option(help="Recurrent cell of encoder and decoder.")] = "gru",
    layers: Annotated[int, typer.Option(help="Recurrent layers of the encoder and of the decoder.")] = 1,
    hidden: Annotated[
        int, typer.Option(help="Decoder units (even); each encoder direction has half as many.")
    ] = 512,
    embedding: Annotated[int, typer.Option(help="Embedding size of both sides.")] = 256,
    dropout: Annotated[
        float, typer.Option(help="Dropout on embeddings, between layers and on outputs.")
    ] = 0.3,
    tie_embeddings: Annotated[
        bool,
        typer.Option(
            help="Share the target embeddings with the output layer (needs --embedding = --hidden)."
        ),
    ] = False,
    label_smoothing: Annotated[float, typer.Option(help="Label smoothing ε of the loss, in [0, 1).")] = 0.1,
    batch_size: o.BatchSize = 64,
    encoding_errors: o.EncodingErrors = "strict",
    *,
    setup: TrainSetup,
) -> None:
    """Train an encoder-decoder translator with attention on parallel text.

    A bidirectional recurrent encoder, a recurrent decoder with attention and input feeding,
    teacher forcing and label smoothing. sentencepiece tokenizers are trained on the data
    (or given); both are saved in the run directory.
    """
    from seqcli.tasks.translation import TranslationDataConfig
    from seqcli.tasks.translation_train import TranslatorTokenizers
    from seqcli.tasks.translation_train import train_translator as train

    train_files, valid_files = _data_and_valid(data, valid)
    result = train(
        train_files,
        valid_files,
        run=setup.run,
        model={
            "cell": cell,
            "embedding_dim": embedding,
            "hidden_size": hidden,
            "num_layers": layers,
            "dropout": dropout,
            "attention": attention,
            "tie_embeddings": tie_embeddings,
        },
        data=TranslationDataConfig(batch_size=batch_size, label_smoothing=label_smoothing),
        training=setup.training,
        tokenizers=TranslatorTokenizers(tokenizer, vocab_size, joint_vocab, target_tokenizer),
        given=setup.given,
        encoding_errors=encoding_errors,
    )
    training_summary(result, setup.run.run_dir, quiet=setup.run.quiet)


def _data_and_valid(
    data: list[Path], valid: list[Path] | None
) -> tuple[tuple[Path, ...], tuple[Path, ...] | None]:
    """``--valid a b`` reaches us as ``--valid a`` plus a third positional ``b``: give it back."""
    if valid and len(valid) == 1 and len(data) == 3:
        return tuple(data[:2]), (valid[0], data[2])
    return tuple(data), tuple(valid) if valid else None


def translate(
    model: o.ModelDir,
    sentences: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[SENTENCE]...",
            help="Sentences to translate; without any, standard input is read, one sentence per line.",
            show_default=False,
        ),
    ] = None,
    beam: Annotated[int, typer.Option(help="Beam width.")] = 5,
    length_penalty: Annotated[
        float, typer.Option(help="α: hypotheses are ranked by log P(y|x) / T_y^α (0: raw sums).")
    ] = 0.7,
    nbest: Annotated[int, typer.Option(help="Candidates per sentence, best first (--format jsonl).")] = 1,
    greedy: Annotated[bool, typer.Option(help="Greedy search: the most likely token at each step.")] = False,
    output_format: o.OutputFormat = "text",
    attention_weights: Annotated[
        bool, typer.Option(help="With --format jsonl: add the pieces and attention weights.")
    ] = False,
    attention_plot: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE.png",
            help="Draw the attention map (needs matplotlib). One SENTENCE: FILE itself; several lines: "
            "FILE-N.png for line N.",
            show_default=False,
        ),
    ] = None,
    max_source_tokens: Annotated[
        int, typer.Option(help="Longer source sentences are cut to this many pieces (with a warning).")
    ] = 200,
    batch_size: Annotated[
        int, typer.Option(help="Sentences translated together (1 when reading a terminal).")
    ] = 64,
    encoding_errors: o.EncodingErrors = "strict",
    device: o.Device = "auto",
    threads: o.Threads = None,
    quiet: o.Quiet = False,
) -> None:
    """Translate sentences: one line in, one line out, in order; an empty line gives an empty line."""
    import torch

    from seqcli.tasks.translation import SearchOptions
    from seqcli.tasks.translation_use import load_translator, translate_lines
    from seqcli.train.devices import resolve_device

    if nbest > 1 and output_format != "jsonl":
        raise SeqcliError("--nbest above 1 needs --format jsonl (text output keeps one line per input line)")
    if attention_weights and output_format != "jsonl":
        raise SeqcliError("--attention-weights needs --format jsonl")
    options = SearchOptions(
        beam_size=beam,
        greedy=greedy,
        length_penalty=length_penalty,
        nbest=nbest,
        attention=attention_weights or attention_plot is not None,
    )
    if threads:
        torch.set_num_threads(threads)
    translator = load_translator(model, resolve_device(device))
    interactive = not sentences and sys.stdin.isatty()
    lines = sentences if sentences else _stdin_lines(encoding_errors)
    truncated = 0
    translations = translate_lines(
        translator,
        lines,
        options,
        batch_size=1 if interactive else batch_size,
        max_source_tokens=max_source_tokens,
    )
    for number, translation in enumerate(translations, start=1):
        truncated += translation.truncated
        emit(_record(translation, output_format, attention_weights))
        if attention_plot is not None and translation.candidates:
            _plot(translation, attention_plot, None if sentences and len(sentences) == 1 else number)
        sys.stdout.flush()  # a line out for each line in, also through a pipe
    if truncated:
        stderr_console(quiet).print(
            f"[yellow]warning:[/] {truncated} line(s) longer than --max-source-tokens {max_source_tokens} "
            "pieces were truncated"
        )


def _stdin_lines(encoding_errors: str) -> Iterator[str]:
    """Standard input line by line as it arrives (not in blocks), decoded as UTF-8."""
    for number, raw in enumerate(iter(sys.stdin.buffer.readline, b""), start=1):
        try:
            yield raw.decode("utf-8", errors=encoding_errors).rstrip("\r\n")
        except UnicodeDecodeError:
            raise SeqcliError(f"<stdin>:{number}: not valid UTF-8 (see --encoding-errors)") from None


def _record(translation, output_format: str, with_attention: bool) -> str:
    if output_format == "text":
        return translation.text
    record = {"source": translation.source, "translation": translation.text}
    if translation.candidates:
        best = translation.candidates[0]
        record.update(score=round(best.score, 4), log_prob=round(best.log_prob, 4))
        if translation.truncated:
            record["truncated"] = True
        if len(translation.candidates) > 1:
            record["nbest"] = [
                {"translation": c.text, "score": round(c.score, 4), "log_prob": round(c.log_prob, 4)}
                for c in translation.candidates
            ]
        if with_attention:
            record.update(
                source_pieces=translation.source_pieces,
                pieces=[*best.pieces, "<eos>"],
                attention=[[round(w, 4) for w in row] for row in best.attention],
            )
    return json.dumps(record, ensure_ascii=False)


def _plot(translation, path: Path, number: int | None) -> None:
    from seqcli.tasks.attention_plot import plot_attention

    if number is not None:
        path = path.with_name(f"{path.stem}-{number}{path.suffix}")
    plot_attention(translation, path)
