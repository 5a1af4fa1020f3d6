"""Figures for the speech issue: WER on connected digits and synthesised sentences, what each
decoder buys, and the real-time factor of ``seqcli transcribe``.

    python bench/speech.py digits      # FSDD connected digits: seen speakers, held-out speaker
    python bench/speech.py digits --held-out george   # another of the five speakers kept out
    python bench/speech.py digits --synthetic 3000    # plus 3,000 utterances of espeak-ng voices
    python bench/speech.py ensemble --runs A,B,C --label ens3   # digits runs A, B, C heard together
    python bench/speech.py sentences   # espeak-ng Multi30k sentences: greedy, beam, beam + LM
    python bench/speech.py rtf [--set sentences]   # transcribe's time / audio duration (run alone)

``--scale tiny`` runs every step on a handful of utterances (a check that the bench works,
not a figure). Data are built by bench/speech_data.py under $SEQCLI_BENCH_DIR/speech;
results go to bench/results/speech-*.json and stdout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lm import ROOT, WORK, save
from bench.speech_data import HELD_OUT, SPEAKERS, WORDS

SPEECH = WORK / "speech"
SCALES = {
    # utterances (train, dev, test) of each set, epochs, steps of the sentences' fusion LM, and
    # what the digits' fusion LM needs besides DIGITS_LM (40 transcripts fill no 32 rows of 64)
    "tiny": {"digits": 40, "sentences": 40, "dev": 10, "test": 10, "epochs": 1, "lm_steps": 20,
             "digits_lm": ["--batch-size", "2", "--bptt", "16", "--max-steps", "20"]},
    "full": {"digits": 3000, "sentences": 6000, "dev": 200, "test": 300, "epochs": 10, "lm_steps": 3000,
             "digits_lm": []},
}  # fmt: skip
# Small enough to train on a shared 2-core CPU: about 270 steps per copy of the training set.
# A higher rate than the default gets CTC out of its all-blank plateau in fewer steps. Speed
# perturbation (three copies) was meant to stand in for the speakers that four cannot show.
# Measured, it did worse than no perturbation, and a cosine schedule did better than this
# constant rate; the variants are in docs/benchmarks.md. The recipe stays as the first
# figures were run, and --extra options override it.
DIGITS_MODEL = (
    "--sample-rate 8000 --n-mels 40 --layers 2 --hidden 64 --channels 8 --max-frames 3000 --lr 3e-3 "
    "--speed-perturb 0.9,1.0,1.1 --eval-every 300"
)
# Sized for about an hour of one CPU thread; cosine to zero over the epochs. Subsampling by 2
# (20 ms output frames): at 220 words/minute espeak says about 20 characters a second, too
# close to the 25 frames a second that ×4 leaves for CTC, which needs a frame per character
# and a blank between doubled ones.
SENTENCES_MODEL = (
    "--layers 3 --hidden 128 --channels 16 --subsampling 2 --units char --max-frames 10000 --lr 2e-3 "
    "--schedule cosine --warmup-steps 200 --eval-every 200"
)
DIGITS_LM = ["--tokenizer", "char", "--layers", "1", "--hidden", "128", "--batch-size", "32", "--bptt", "64"]
CHAR_LM = ["--tokenizer", "char", "--layers", "2", "--hidden", "256", "--bptt", "100", "--batch-size", "32"]


def seqcli(*args: object, capture: bool = True) -> str:
    command = [sys.executable, "-m", "seqcli", *map(str, args)]
    print("$", " ".join(command[2:]), flush=True)
    done = subprocess.run(command, check=True, capture_output=capture, text=True, cwd=ROOT)
    return done.stdout if capture else ""


def evaluate(run: Path, manifest: Path, *extra: object) -> dict[str, float]:
    """evaluate's last line, ``wer X  cer Y``, as numbers (decoders through the library)."""
    if not extra:
        fields = seqcli("evaluate", "-m", run, manifest).strip().splitlines()[-1].split()
        return {fields[i]: float(fields[i + 1]) for i in range(0, len(fields), 2)}
    from seqcli.tasks.asr_use import evaluate as evaluate_run
    from seqcli.tasks.registry import EvalRequest

    options = dict(zip(extra[::2], extra[1::2], strict=True))
    evaluation = evaluate_run(run, EvalRequest(data=(manifest,), device="cpu", options=options))
    return dict(evaluation.figures)


def build(kind: str, data: Path, size: dict, *options: object) -> None:
    """The data set, unless already built (rewriting the audio would invalidate the feature cache)."""
    if (data / "dev.tsv").exists():
        return
    command = [sys.executable, ROOT / "bench" / "speech_data.py", kind, data, "--train", size[kind], *options]
    subprocess.run(
        [str(part) for part in [*command, "--dev", size["dev"], "--test", size["test"]]], check=True
    )


def train(
    data: Path, run: Path, epochs: int, model: str, *extra: object, manifest: str = "train.tsv"
) -> float:
    """train-asr on ``manifest``, selecting on ``dev.tsv``: the test sets are never looked at."""
    start = time.perf_counter()
    seqcli("train-asr", data / manifest, "--valid", data / "dev.tsv", "-o", run, "--overwrite",
           "--epochs", epochs, "--workers", 2, *model.split(), *extra, capture=False)  # fmt: skip
    return time.perf_counter() - start


def digits(
    scale: str,
    epochs: int | None,
    evaluate_only: bool,
    extra: list[str],
    label: str,
    held_out: str,
    synthetic: int = 0,
) -> None:
    """``held_out``: the speaker kept out of training; each has its own data set (a fold of
    leave-one-speaker-out), the first figures' speaker keeps the plain name. ``synthetic``:
    that many espeak-ng utterances join the training set (``bench/speech_data.py
    synthetic-digits``); development and test sets stay the real speakers'."""
    fold = "" if held_out == HELD_OUT else f"heldout-{held_out}"
    size, data = SCALES[scale], SPEECH / "-".join(filter(None, ["digits", scale, fold]))
    size = {**size, "epochs": epochs or size["epochs"]}
    build("digits", data, size, "--held-out", held_out)
    manifest = _with_synthetic(data, synthetic) if synthetic else "train.tsv"
    run = data / (f"run-{label}" if label else "run")
    name = "-".join(filter(None, ["speech-digits", scale if scale != "full" else "", fold, label]))
    seconds = 0.0
    if not evaluate_only:
        seconds = train(data, run, size["epochs"], DIGITS_MODEL, *extra, manifest=manifest)
    record = {
        "scale": scale,
        "label": label,
        "held_out": held_out,
        "synthetic": synthetic,
        "extra": " ".join(extra),
        "train_seconds": round(seconds) if seconds else _earlier(name, "train_seconds"),
        "trained": _trained(run),
        "config": _config(run),
        "dev": evaluate(run, data / "dev.tsv"),
        "seen_speakers": evaluate(run, data / "test.tsv"),
        "held_out_speaker": evaluate(run, data / "heldout.tsv"),
        "held_out_speaker_beam16": evaluate(run, data / "heldout.tsv", "beam", 16),
    }
    # Beam 16 fused with a character LM of the training transcripts (the only in-domain text),
    # at the weights that did best on the development set of the first run (see benchmarks.md).
    lm = data / "char-lm"
    if not (lm / "model.safetensors").exists():
        transcripts = [line.split("\t")[1] for line in (data / "train.tsv").read_text().splitlines()]
        (data / "lm.txt").write_text("".join(line + "\n" for line in transcripts))
        seqcli("train-lm", data / "lm.txt", "-o", lm, *DIGITS_LM, *size["digits_lm"], capture=False)
    fused = ("beam", 16, "lm", lm, "lm_weight", 0.5, "word_bonus", 1.0)
    # The ten digit words as a lexicon: nothing else can be written, so no word is misspelt.
    lexicon = data / "digits.txt"
    lexicon.write_text("".join(word + "\n" for word in WORDS))
    for figure, manifest in (("dev", "dev"), ("seen_speakers", "test"), ("held_out_speaker", "heldout")):
        record[f"{figure}_beam16_lm"] = evaluate(run, data / f"{manifest}.tsv", *fused)
        record[f"{figure}_beam16_lm_lexicon"] = evaluate(
            run, data / f"{manifest}.tsv", *fused, "lexicon", lexicon
        )
    record["held_out_speaker_beam16_lexicon"] = evaluate(
        run, data / "heldout.tsv", "beam", 16, "lexicon", lexicon
    )
    record["held_out_speaker_errors"] = error_kinds(run, data / "heldout.tsv")
    print(json.dumps(record, indent=2))
    save(name, record)


def ensemble(scale: str, labels: list[str], label: str, held_out: str) -> None:
    """The digits runs ``run-LABEL`` of ``labels`` (each trained by ``digits --label``) heard
    together: their per-frame probabilities averaged (``--ensemble``), then decoded as one
    model's, with the decoders of :func:`digits` that search (greedy decoding of an ensemble
    is refused: see docs/speech.md)."""
    fold = "" if held_out == HELD_OUT else f"heldout-{held_out}"
    data = SPEECH / "-".join(filter(None, ["digits", scale, fold]))
    runs = [data / f"run-{name}" for name in labels]
    lm, lexicon = data / "char-lm", data / "digits.txt"
    missing = [path for path in (*runs, lm, lexicon) if not path.exists()]
    if missing:
        sys.exit(f"missing {', '.join(map(str, missing))}: train each run with digits --label first")
    together = ("ensemble", tuple(runs[1:]))
    fused = ("beam", 16, "lm", lm, "lm_weight", 0.5, "word_bonus", 1.0)
    record: dict = {"scale": scale, "label": label, "held_out": held_out, "runs": labels}
    for figure, manifest in (("dev", "dev"), ("seen_speakers", "test"), ("held_out_speaker", "heldout")):
        record[f"{figure}_beam16"] = evaluate(runs[0], data / f"{manifest}.tsv", *together, "beam", 16)
        record[f"{figure}_beam16_lm"] = evaluate(runs[0], data / f"{manifest}.tsv", *together, *fused)
        record[f"{figure}_beam16_lm_lexicon"] = evaluate(
            runs[0], data / f"{manifest}.tsv", *together, *fused, "lexicon", lexicon
        )
    record["held_out_speaker_beam16_lexicon"] = evaluate(
        runs[0], data / "heldout.tsv", *together, "beam", 16, "lexicon", lexicon
    )
    print(json.dumps(record, indent=2))
    save("-".join(filter(None, ["speech-digits", scale if scale != "full" else "", fold, label])), record)


def error_kinds(run: Path, manifest: Path) -> dict[str, int]:
    """Greedy word errors on ``manifest`` by kind: a digit heard as another digit, a word
    misspelt (no digit at all, what a lexicon or an LM can repair), deletions, insertions."""
    import jiwer
    import torch

    from bench.speech_data import WORDS
    from seqcli.tasks.asr_use import DecodeOptions, load_recogniser, transcribe_file

    loaded = load_recogniser(run, torch.device("cpu"))
    entries = [line.split("\t") for line in manifest.read_text().splitlines()]
    hypotheses = [
        transcribe_file(loaded, manifest.parent / path, DecodeOptions()).text for path, _ in entries
    ]
    output = jiwer.process_words([text for _, text in entries], hypotheses)
    kinds = {"words": sum(len(r) for r in output.references), "digit_for_digit": 0, "misspelt": 0}
    for hypothesis, alignment in zip(output.hypotheses, output.alignments, strict=True):
        for chunk in alignment:
            if chunk.type == "substitute":
                for word in hypothesis[chunk.hyp_start_idx : chunk.hyp_end_idx]:
                    kinds["digit_for_digit" if word in WORDS else "misspelt"] += 1
    return {**kinds, "deleted": output.deletions, "inserted": output.insertions}


def _with_synthetic(data: Path, count: int) -> str:
    """A manifest of ``train.tsv`` and ``count`` espeak-ng utterances, built once."""
    synthetic = data / "synthetic.tsv"
    if not synthetic.exists():
        script = ROOT / "bench" / "speech_data.py"
        subprocess.run([sys.executable, script, "synthetic-digits", data, "--train", str(count)], check=True)
    lines = synthetic.read_text().splitlines(keepends=True)
    if len(lines) != count:
        sys.exit(f"{synthetic} holds {len(lines)} utterances, not {count}: remove it to rebuild")
    name = f"train-synthetic{count}.tsv"
    (data / name).write_text((data / "train.tsv").read_text() + "".join(lines))
    return name


def _config(run: Path) -> dict:
    """The run's config.json, less its format version."""
    config = json.loads((run / "config.json").read_text())
    return {k: v for k, v in config.items() if k != "format_version"}


def _earlier(name: str, key: str):
    """A figure of this variant's earlier results file (--evaluate-only keeps its training time)."""
    path = ROOT / "bench" / "results" / f"{name}.json"
    return json.loads(path.read_text()).get(key) if path.exists() else None


def _trained(run: Path) -> dict:
    """Steps and epochs of the run's best checkpoint, from its metrics log."""
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evaluations = [r for r in records if "valid" in r]
    best = min(evaluations, key=lambda r: r["valid"]["wer"])
    return {"best_step": best["step"], "best_epoch": best["epoch"], "last_step": records[-1]["step"]}


def sentences(scale: str, epochs: int | None, extra: list[str]) -> None:
    size, data = SCALES[scale], SPEECH / f"sentences-{scale}"
    size = {**size, "epochs": epochs or size["epochs"]}
    build("sentences", data, size)
    lm = data / "char-lm"
    if not (lm / "model.safetensors").exists():  # the fusion LM does not depend on the recogniser
        seqcli("train-lm", data / "lm.txt", "-o", lm, "--max-steps", size["lm_steps"], *CHAR_LM,
               capture=False)  # fmt: skip
    run = data / "run"
    seconds = train(data, run, size["epochs"], SENTENCES_MODEL, *extra)
    test = data / "test.tsv"
    record = {
        "scale": scale,
        "train_seconds": round(seconds),
        "trained": _trained(run),
        "config": _config(run),
        "dev": evaluate(run, data / "dev.tsv"),
        "greedy": evaluate(run, test),
        "beam16": evaluate(run, test, "beam", 16),
        "beam16_lm": evaluate(run, test, "beam", 16, "lm", lm, "lm_weight", 0.5, "word_bonus", 1.0),
    }
    print(json.dumps(record, indent=2))
    save(f"speech-sentences-{scale}" if scale != "full" else "speech-sentences", record)


def rtf(scale: str, run: Path | None, kind: str) -> None:
    """Processing time / audio duration of transcribe over a set's test files, greedy, one
    thread: the whole command (start-up and model loading included), and the files alone
    (in process)."""
    import soundfile
    import torch

    from seqcli.tasks.asr_use import DecodeOptions, load_recogniser, transcribe_file

    data = SPEECH / f"{kind}-{scale}"
    run = run or data / "run"
    files = [data / line.split("\t")[0] for line in (data / "test.tsv").read_text().splitlines()]
    audio = sum(soundfile.info(path).duration for path in files)
    start = time.perf_counter()
    seqcli("transcribe", "-m", run, "--threads", 1, *files)
    wall = time.perf_counter() - start
    torch.set_num_threads(1)
    loaded = load_recogniser(run, torch.device("cpu"))
    start = time.perf_counter()
    for path in files:
        transcribe_file(loaded, path, DecodeOptions())
    files_only = time.perf_counter() - start
    record = {
        "scale": scale,
        "set": kind,
        "model": _config(run)["model"],
        "files": len(files),
        "audio_seconds": round(audio, 1),
        "command_seconds": round(wall, 2),
        "rtf_command": round(wall / audio, 4),
        "files_seconds": round(files_only, 2),
        "rtf_files": round(files_only / audio, 4),
        "threads": 1,
        "decoder": "greedy",
    }
    print(json.dumps(record, indent=2))
    save(f"speech-rtf-{kind}" + (f"-{scale}" if scale != "full" else ""), record)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("figure", choices=["digits", "ensemble", "sentences", "rtf"])
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--epochs", type=int, help="digits, sentences: train this many epochs instead")
    parser.add_argument("--evaluate-only", action="store_true", help="digits: evaluate the existing run")
    parser.add_argument("--label", default="", help="digits: a variant's name (run-LABEL, results suffix)")
    parser.add_argument(
        "--held-out", default=HELD_OUT, choices=SPEAKERS, help="digits: the speaker kept out of training"
    )
    parser.add_argument(
        "--synthetic", type=int, default=0, help="digits: espeak-ng utterances added to training"
    )
    parser.add_argument("--runs", default="", help="ensemble: comma-separated labels of digits runs")
    parser.add_argument("--run", type=Path, help="rtf: the recogniser to time (default: the set's run)")
    parser.add_argument(
        "--set", default="digits", choices=["digits", "sentences"], help="rtf: whose test files"
    )
    parser.add_argument(
        "--extra", default="", help="digits, sentences: more train-asr options, e.g. '--max-time 60m'"
    )
    args = parser.parse_args()
    if args.figure == "digits":
        digits(
            args.scale, args.epochs, args.evaluate_only, args.extra.split(), args.label, args.held_out,
            args.synthetic,
        )  # fmt: skip
    elif args.figure == "ensemble":
        if not args.runs or not args.label:
            sys.exit("ensemble needs --runs A,B,... and a --label for its results")
        ensemble(args.scale, args.runs.split(","), args.label, args.held_out)
    elif args.figure == "sentences":
        sentences(args.scale, args.epochs, args.extra.split())
    else:
        rtf(args.scale, args.run, args.set)


if __name__ == "__main__":
    main()
