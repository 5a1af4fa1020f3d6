"""Language-model commands: train-lm, sample, score. Parse, call seqcli.tasks, print."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from seqcli.cli import options as o
from seqcli.cli.output import check_format, emit, training_summary
from seqcli.cli.training import TrainSetup, train_command
from seqcli.errors import SeqcliError

__all__ = ["sample", "score", "train_lm"]

CELLS = (
    "rnn",
    "rnn-relu",
    "gru",
    "lstm",
    "rnn-textbook",
    "gru-simple",
    "gru-textbook",
    "lstm-textbook",
    "lstm-peephole",
)
CELL_HELP = (
    "Recurrent cell: rnn, rnn-relu, gru, lstm (PyTorch's fused cells); rnn-textbook, gru-simple, "
    "gru-textbook, lstm-textbook, lstm-peephole (the course's equations, step by step; slower)."
)


@train_command(lr=2e-3, clip=1.0, schedule="cosine", warmup_steps=100)
def train_lm(
    corpus: Annotated[
        Path,
        typer.Argument(
            metavar="CORPUS", help="Training text (UTF-8), or - for standard input.", show_default=False
        ),
    ],
    valid: Annotated[Path | None, typer.Option(help="Validation text.", show_default=False)] = None,
    tokenizer: Annotated[
        str,
        typer.Option(
            metavar="char|word|bpe|unigram|DIR",
            help="Trained on CORPUS: char, word, bpe or unigram; or a directory from train-tokenizer.",
        ),
    ] = "char",
    vocab_size: Annotated[int, typer.Option(help="Vocabulary size for bpe/unigram.")] = 8000,
    min_count: Annotated[int, typer.Option(help="Word/char tokenizer: drop rarer tokens to <unk>.")] = 1,
    max_vocab: Annotated[
        int | None,
        typer.Option(help="Word/char tokenizer: keep this many most frequent.", show_default=False),
    ] = None,
    cell: Annotated[Literal[CELLS], typer.Option(help=CELL_HELP)] = "lstm",
    layers: Annotated[int, typer.Option(help="Recurrent layers (a deep RNN).")] = 2,
    hidden: Annotated[int, typer.Option(help="Hidden units per layer.")] = 512,
    embedding: Annotated[
        int | None,
        typer.Option(
            help="Embedding size (default: --hidden, or the vocabulary size if smaller: a wider "
            "embedding of V symbols adds no capacity).",
            show_default=False,
        ),
    ] = None,
    dropout: Annotated[
        float, typer.Option(help="Dropout on embeddings, between layers and on outputs, in [0, 1).")
    ] = 0.0,
    tie_weights: Annotated[
        bool, typer.Option(help="Share the embedding and output matrices (Press & Wolf 2017).")
    ] = False,
    init_range: Annotated[
        float | None,
        typer.Option(help="Initialise every weight uniformly in ±this (Zaremba et al.).", show_default=False),
    ] = None,
    bptt: Annotated[int, typer.Option(help="Truncated backpropagation window, in tokens.")] = 64,
    batch_size: o.BatchSize = 64,
    encoding_errors: o.EncodingErrors = "strict",
    *,
    setup: TrainSetup,
) -> None:
    """Train a recurrent language model on a text corpus.

    A character model on raw text by default; --tokenizer word/bpe/unigram (or a trained
    tokenizer) for word and subword models, where every line ends with <eos>. The corpus is
    encoded once into a token cache ($SEQCLI_CACHE_DIR, default ~/.cache/seqcli) and read
    from disk, so corpora larger than memory train.

    The defaults are one recipe for any budget: a 2x512 LSTM, no dropout, batches of 64
    windows of 64 tokens, Adam at 2e-3 with 100 warm-up steps, gradients clipped to norm 1,
    and a cosine schedule that reaches zero exactly when the run ends, whichever limit ends
    it (--epochs, --max-steps, or the --max-time deadline). Give a budget and get a model
    annealed for it: --max-time 15m on a 1 MB text lands near the best we know for 15
    minutes. Without dropout the model can overfit a long run on a small corpus; the
    checkpoint kept is the one that validated best, and --dropout 0.2 to 0.5 helps there.
    """
    from seqcli.tasks.lm import LMDataConfig
    from seqcli.tasks.lm_train import TokenizerChoice, train_language_model

    result = train_language_model(
        corpus,
        valid,
        run=setup.run,
        model={
            "cell": cell,
            "embedding_dim": embedding,
            "hidden_size": hidden,
            "num_layers": layers,
            "dropout": dropout,
            "tie_weights": tie_weights,
            "init_range": init_range,
        },
        data=LMDataConfig(batch_size=batch_size, bptt=bptt),
        training=setup.training,
        tokenizer=TokenizerChoice(tokenizer, vocab_size, min_count, max_vocab),
        given=setup.given,
        encoding_errors=encoding_errors,
    )
    training_summary(result, setup.run.run_dir, quiet=setup.run.quiet)


SampleFormat = Annotated[
    Literal["text", "jsonl"],
    typer.Option(
        "--format",
        help="text: the samples for people, a blank line between them; jsonl: one JSON object per "
        'sample, {"text", "tokens", "log_prob"}, the form for pipelines.',
    ),
]


def sample(
    model: o.ModelDir,
    num: Annotated[int, typer.Option(help="Samples to generate (in one batch).")] = 1,
    max_tokens: Annotated[int, typer.Option(help="Stop each sample after this many tokens.")] = 200,
    temperature: Annotated[float, typer.Option(help="Softmax temperature; 0 is greedy (argmax).")] = 1.0,
    top_k: Annotated[
        int | None, typer.Option(help="Sample among the k most likely tokens.", show_default=False)
    ] = None,
    top_p: Annotated[
        float | None,
        typer.Option(
            help="Nucleus sampling: the smallest set with this much probability.", show_default=False
        ),
    ] = None,
    prompt: Annotated[str, typer.Option(help="Text to continue.")] = "",
    seed: o.OptionalSeed = None,
    output_format: SampleFormat = "text",
    null: Annotated[
        bool,
        typer.Option(
            "--null",
            "-0",
            help="Text format: end each sample with a NUL byte instead of a line break, as find "
            "-print0 does (for xargs -0); samples may span lines.",
        ),
    ] = False,
    device: o.Device = "auto",
    threads: o.Threads = None,
) -> None:
    """Generate text from a language model: from scratch or continuing --prompt.

    A sample may span several lines (a character model writes newlines): for a pipeline use
    --format jsonl or -0.
    """
    check_format(output_format, ("text", "jsonl"))
    if null and output_format != "text":
        raise SeqcliError("--null separates text samples; --format jsonl already has one per line")
    if num < 1 or max_tokens < 1:
        raise SeqcliError("--num and --max-tokens must be at least 1")
    loaded = _load(model, device, threads)
    from seqcli.tasks.lm_use import generate

    samples = generate(
        loaded,
        prompt=prompt,
        num=num,
        max_tokens=max_tokens,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        seed=seed,
    )
    for index, item in enumerate(samples):
        if output_format == "jsonl":
            emit(json.dumps({"text": item.text, "tokens": item.tokens, "log_prob": round(item.log_prob, 4)}))
        elif null:
            sys.stdout.write(item.text + "\0")
        else:
            emit(item.text if index == len(samples) - 1 else item.text + "\n")


def score(
    model: o.ModelDir,
    data: o.InputFile,
    summary: Annotated[bool, typer.Option(help="Also print the total over all lines.")] = False,
    output_format: o.OutputFormat = "text",
    encoding_errors: o.EncodingErrors = "strict",
    device: o.Device = "auto",
    threads: o.Threads = None,
) -> None:
    """Score each line as a sentence: natural-log probability, tokens and perplexity.

    Text output is tab-separated: log_prob, tokens, perplexity, the line. Each line's end
    token (<eos>, or a character model's newline) is scored with it. Lines of any length are
    read in windows with the state carried, in bounded memory. An input with no lines at
    all is an error (exit 2); a blank line is a sentence of its end token alone.
    """
    check_format(output_format, ("text", "jsonl"))
    from seqcli.tasks.lm_use import LineScore, read_lines, score_lines

    loaded = _load(model, device, threads)
    lines = read_lines(data, encoding_errors=encoding_errors)
    if not lines:
        raise SeqcliError(f"{data}: no lines to score (the input is empty)")
    scores = score_lines(loaded, lines)
    for line, item in zip(lines, scores, strict=True):
        _print_score(item, output_format, line)
    if summary:
        total = LineScore(sum(s.log_prob for s in scores), sum(s.tokens for s in scores))
        _print_score(total, output_format, None)


def _print_score(item, output_format: str, line: str | None) -> None:
    if output_format == "jsonl":
        record = {
            "log_prob": round(item.log_prob, 4),
            "tokens": item.tokens,
            "ppl": round(item.perplexity, 4),
        }
        emit(json.dumps({"text": line, **record} if line is not None else {"total": True, **record}))
    elif line is None:
        emit(f"# total: log_prob {item.log_prob:.4f}  tokens {item.tokens}  perplexity {item.perplexity:.4f}")
    else:
        emit(f"{item.log_prob:.4f}\t{item.tokens}\t{item.perplexity:.4f}\t{line}")


def _load(model: Path, device: str, threads: int | None):
    from seqcli.tasks.lm_use import load_language_model
    from seqcli.train.devices import configure_threads, resolve_device

    configure_threads(threads)
    return load_language_model(model, resolve_device(device))
