"""Speech commands: train-asr and transcribe. Parse, call seqcli.tasks, print."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from seqcli.cli import options as o
from seqcli.cli.output import check_format, emit, stderr_console, training_summary
from seqcli.cli.training import TrainSetup, train_command
from seqcli.errors import SeqcliError

__all__ = ["train_asr", "transcribe"]

Manifest = Annotated[
    Path,
    typer.Argument(
        metavar="MANIFEST",
        help="TSV lines 'audio-path<TAB>transcript' (or JSONL with audio and text); paths relative to it.",
        show_default=False,
    ),
]


@train_command(lr=1e-3, clip=5.0, epochs=20)
def train_asr(
    train: Manifest,
    valid: Annotated[
        Path | None, typer.Option(help="Validation manifest (selects on WER).", show_default=False)
    ] = None,
    units: Annotated[
        Literal["char", "bpe", "unigram"],
        typer.Option(
            help="Output units: characters of the transcripts, or sentencepiece units trained on them."
        ),
    ] = "char",
    vocab_size: Annotated[int, typer.Option(help="Units for bpe/unigram.")] = 256,
    sample_rate: Annotated[int, typer.Option(help="Audio is resampled to this rate (Hz).")] = 16000,
    n_mels: Annotated[
        int, typer.Option(help="Mel bands of the log-mel features (25 ms windows, 10 ms hop).")
    ] = 80,
    mel_scale: Annotated[Literal["htk", "slaney"], typer.Option(help="Mel scale of the filterbank.")] = "htk",
    dynamic_range: Annotated[
        float | None,
        typer.Option(
            help="Floor the log-mel energies this many dB below each utterance's peak (e.g. 40), "
            "so that recordings with different noise floors look alike; off by default.",
            show_default=False,
        ),
    ] = None,
    cell: Annotated[
        Literal["gru", "lstm", "rnn"], typer.Option(help="Recurrent cell (bidirectional).")
    ] = "gru",
    layers: Annotated[int, typer.Option(help="Recurrent layers.")] = 3,
    hidden: Annotated[int, typer.Option(help="Hidden units per direction and layer.")] = 256,
    channels: Annotated[int, typer.Option(help="Channels of the subsampling convolutions.")] = 32,
    subsampling: Annotated[
        int, typer.Option(help="Time subsampling by stride-2 convolutions: 1, 2 or 4.")
    ] = 4,
    dropout: Annotated[
        float, typer.Option(help="Dropout between recurrent layers and before the output.")
    ] = 0.1,
    max_frames: Annotated[int, typer.Option(help="Feature frames per batch (utterances x longest).")] = 20000,
    batch_size: Annotated[
        int | None, typer.Option(help="Also cap the utterances per batch.", show_default=False)
    ] = None,
    specaugment: Annotated[
        bool, typer.Option(help="SpecAugment time and frequency masks in training.")
    ] = True,
    speed_perturb: Annotated[
        str,
        typer.Option(
            help="Speed perturbation: comma-separated factors, the training set is one copy at "
            "each (0.9,1.0,1.1 triples it; tempo and pitch change together, as sox speed).",
        ),
    ] = "1.0",
    noise_perturb: Annotated[
        str,
        typer.Option(
            help="Noise perturbation: comma-separated SNRs in dB; each adds a copy of the training "
            "set with white noise that far below the speech (20,10 triples it; '' is off).",
        ),
    ] = "",
    reverb_perturb: Annotated[
        str,
        typer.Option(
            help="Reverberation perturbation: comma-separated reverberation times (RT60) in "
            "seconds; each adds a copy of the training set heard in a synthetic room that "
            "reverberates that long (0.3,0.6 triples it; '' is off).",
        ),
    ] = "",
    vtlp: Annotated[
        float,
        typer.Option(
            help="Vocal tract length perturbation: each training utterance's frequency axis is "
            "warped by a factor drawn from [1-W, 1+W] (0.1 is usual; 0 is off).",
        ),
    ] = 0.0,
    workers: Annotated[int, typer.Option(help="Threads computing features (once, then cached).")] = 1,
    *,
    setup: TrainSetup,
) -> None:
    """Train a CTC speech recogniser (log-mel features, convolutions, bidirectional RNN).

    Features are computed once into the cache ($SEQCLI_CACHE_DIR); utterances whose
    transcript cannot fit their audio are dropped with a count; a validation transcript
    with characters the training transcripts never use is an error listing them.
    """
    from seqcli.audio import FeatureConfig
    from seqcli.tasks.asr_train import SpeechData, train_recogniser

    try:
        features = FeatureConfig(
            sample_rate=sample_rate, n_mels=n_mels, mel_scale=mel_scale, dynamic_range=dynamic_range
        )
    except ValueError as err:
        raise SeqcliError(f"--sample-rate/--n-mels/--dynamic-range: {err}") from None
    result = train_recogniser(
        train,
        valid,
        run=setup.run,
        model={
            "cell": cell,
            "num_layers": layers,
            "hidden_size": hidden,
            "conv_channels": channels,
            "subsampling": subsampling,
            "dropout": dropout,
        },
        features=features,
        data=SpeechData(
            units=units,
            vocab_size=vocab_size,
            max_frames=max_frames,
            batch_size=batch_size,
            specaugment=specaugment,
            speed_perturb=_factors(speed_perturb, "--speed-perturb", "0.9,1.0,1.1"),
            noise_perturb=_factors(noise_perturb, "--noise-perturb", "20,10"),
            reverb_perturb=_factors(reverb_perturb, "--reverb-perturb", "0.3,0.6"),
            vtlp=vtlp,
            workers=workers,
        ),
        training=setup.training,
        given=setup.given,
        task_options_given=setup.task_options(changeable=frozenset({"train", "valid", "workers"})),
    )
    training_summary(result, setup.run.run_dir, quiet=setup.run.quiet)


def _factors(text: str, option: str, example: str) -> tuple[float, ...]:
    """Comma-separated numbers; a blank text is none."""
    if not text.strip():
        return ()
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise SeqcliError(f"{option} takes comma-separated numbers such as {example}, got {text!r}") from None


def transcribe(
    model: o.ModelDir,
    files: Annotated[
        list[str],
        typer.Argument(
            metavar="FILES...", help="Audio files (WAV, FLAC, OGG, any rate); - reads paths from stdin."
        ),
    ],
    beam: Annotated[
        int, typer.Option(help="Prefix beam width; 1 without --lm or --lexicon is greedy decoding.")
    ] = 1,
    lm: Annotated[
        Path | None, typer.Option(help="A train-lm run fused into the beam search.", show_default=False)
    ] = None,
    lm_weight: Annotated[float, typer.Option(help="Weight of the LM's log-probability (alpha).")] = 0.5,
    word_bonus: Annotated[
        float, typer.Option(help="Score added per word (beta), against the LM's cost.")
    ] = 0.0,
    lexicon: Annotated[
        Path | None,
        typer.Option(
            help="A file of the only words that may be written (whitespace-separated), for a closed "
            "vocabulary such as digits or commands; decodes by prefix beam search (--beam).",
            show_default=False,
        ),
    ] = None,
    ensemble: o.Ensemble = None,
    timestamps: Annotated[
        bool, typer.Option(help="With --format jsonl: words with start/end seconds.")
    ] = False,
    chunk_seconds: Annotated[
        float, typer.Option(help="Long files are recognised in blocks this long.")
    ] = 30.0,
    keep_going: Annotated[
        bool, typer.Option(help="Report a bad file and carry on; exit 2 at the end if any failed.")
    ] = False,
    output_format: o.OutputFormat = "text",
    device: o.Device = "auto",
    threads: o.Threads = None,
    quiet: o.Quiet = False,
) -> None:
    """Transcribe audio files: a line per file, path<TAB>text (or JSON with --format jsonl)."""
    check_format(output_format, ("text", "jsonl"))
    if timestamps and output_format != "jsonl":
        raise SeqcliError("--timestamps needs --format jsonl")
    from seqcli.tasks.asr_use import (
        DecodeOptions,
        language_model_fusion,
        load_lexicon,
        load_recogniser,
        transcribe_file,
        transcript_record,
    )
    from seqcli.train.devices import configure_threads, resolve_device

    configure_threads(threads)
    torch_device = resolve_device(device)
    loaded = load_recogniser(model, torch_device, ensemble=ensemble or ())
    fusion = language_model_fusion(lm, torch_device, weight=lm_weight) if lm is not None else None
    options = DecodeOptions(
        beam=beam,
        word_bonus=word_bonus,
        chunk_seconds=chunk_seconds,
        fusion=fusion,
        lexicon=load_lexicon(lexicon, loaded) if lexicon is not None else None,
    )
    console = stderr_console(quiet)
    failed = total = 0
    for path in _paths(files):
        total += 1
        try:
            transcript = transcribe_file(loaded, path, options)
        except SeqcliError as err:
            if not keep_going:
                raise
            failed += 1
            console.print(str(err), style="red", markup=False, highlight=False, soft_wrap=True)
            continue
        if output_format == "jsonl":
            emit(json.dumps(transcript_record(transcript, timestamps=timestamps), ensure_ascii=False))
        else:
            emit(f"{transcript.path}\t{transcript.text}")
    if failed:
        raise SeqcliError(f"{failed} of {total} files could not be transcribed (named above)")


def _paths(files: list[str]):
    """The files given, with ``-`` replaced by the paths on standard input (one per line)."""
    for name in files:
        if name != "-":
            yield Path(name)
            continue
        for line in sys.stdin:
            line = line.rstrip("\r\n")
            if line.strip():
                yield Path(line)
