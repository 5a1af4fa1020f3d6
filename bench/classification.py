"""Figures for the classification issue; each subcommand trains, evaluates on dev, and saves.

    python bench/classification.py polarity   # sentence polarity: accuracy on a seeded 10% of train.tsv
    python bench/classification.py sst2       # SST-2: accuracy on our own seeded 10% of train.tsv
    python bench/classification.py speed      # sentences/s of `seqcli classify` (a polarity run)

Common options: ``--epochs`` (every run is epoch-bounded), ``--threads``, ``--extra`` (more
train-classifier options as one string). Data comes from ../shared/data; results go to
bench/results/classification-<name>.json with the machine, the commands, the dev figures
and the training time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.lm import DATA, WORK, machine, save  # noqa: E402
from bench.tagging import last_line_figures, run  # noqa: E402

RECIPES: dict[str, tuple[Path, bool, list[str]]] = {
    "polarity": (DATA / "sentence-polarity" / "train.tsv", False, []),
    "sst2": (DATA / "sst-2" / "train.tsv", True, ["--text-column", "sentence", "--label-column", "label"]),
}


def split_tsv(path: Path, header: bool, seed: int = 0) -> tuple[Path, Path, int]:
    """A seeded 10% of the lines as dev, the rest as train (a header goes into both)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    head, rows = (lines[:1], lines[1:]) if header else ([], lines)
    dev_rows = set(random.Random(seed).sample(range(len(rows)), round(0.1 * len(rows))))
    WORK.mkdir(parents=True, exist_ok=True)
    name = path.parent.name
    train, dev = WORK / f"{name}.train90.tsv", WORK / f"{name}.dev10.tsv"
    train.write_text(
        "\n".join(head + [r for i, r in enumerate(rows) if i not in dev_rows]) + "\n", encoding="utf-8"
    )
    dev.write_text(
        "\n".join(head + [r for i, r in enumerate(rows) if i in dev_rows]) + "\n", encoding="utf-8"
    )
    return train, dev, len(rows) - len(dev_rows)


def quality(name: str, args: argparse.Namespace) -> None:
    source, header, options = RECIPES[name]
    train, dev, examples = split_tsv(source, header)
    name = f"{name}-{args.label}" if args.label else name
    run_dir = WORK / f"classification-{name}"
    started = time.monotonic()
    trained = run(
        "train-classifier", train, "--valid", dev, "-o", run_dir, *options, *shlex.split(args.extra),
        "--epochs", args.epochs, "--threads", args.threads, "--device", "cpu", "--overwrite", "--quiet",
    )  # fmt: skip
    train_seconds = time.monotonic() - started
    evaluated = run("evaluate", "-m", run_dir, dev, "--threads", args.threads, "--device", "cpu")
    config = json.loads((run_dir / "config.json").read_text())
    save(
        f"classification-{name}",
        {
            "dev": last_line_figures(evaluated.stdout),
            "details": evaluated.stdout.strip().splitlines()[:-1],
            "train_seconds": round(train_seconds, 1),
            "train_sentences_per_s": round(examples * args.epochs / train_seconds, 1),
            "epochs": args.epochs,
            "threads_used": args.threads,
            "model": config["model"],
            "commands": [shlex.join(map(str, trained.args[1:])), shlex.join(map(str, evaluated.args[1:]))],
            "summary": trained.stderr.strip().splitlines()[-1:],
        },
    )


def speed(args: argparse.Namespace) -> None:
    """``seqcli classify`` on the polarity dev texts, with a trained polarity run."""
    run_dir = WORK / "classification-polarity"
    if not (run_dir / "config.json").is_file():
        sys.exit(f"train first: python bench/classification.py polarity (looked for {run_dir})")
    _, dev, _ = split_tsv(RECIPES["polarity"][0], False)
    texts = [line.split("\t", 1)[1] for line in dev.read_text(encoding="utf-8").splitlines()]
    plain = WORK / "polarity-dev.txt"
    plain.write_text("\n".join(texts) + "\n", encoding="utf-8")
    seconds = []
    for _ in range(args.rounds):
        started = time.monotonic()
        classified = run("classify", "-m", run_dir, plain, "--threads", args.threads, "--device", "cpu")
        seconds.append(time.monotonic() - started)
        assert len(classified.stdout.splitlines()) == len(texts)
    save(
        "classification-speed",
        {
            "sentences": len(texts),
            "seconds": [round(s, 2) for s in seconds],
            "sentences_per_s": round(len(texts) / min(seconds), 1),
            "includes": "process start, model load, reading and writing",
            "command": shlex.join(map(str, classified.args[1:])),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("figure", choices=[*RECIPES, "speed"])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3, help="speed: timed repetitions (the best counts)")
    parser.add_argument("--label", default="", help="suffix of the run and results names (variants)")
    parser.add_argument("--extra", default="", help="more train-classifier options, as one string")
    args = parser.parse_args()
    print(json.dumps(machine()), flush=True)
    speed(args) if args.figure == "speed" else quality(args.figure, args)


if __name__ == "__main__":
    main()
