"""Figures for the tagging issue; each subcommand trains, evaluates on dev, and saves.

    python bench/tagging.py pos-ewt     # UD English EWT UPOS, BiLSTM + char features: dev accuracy
    python bench/tagging.py pos-lines   # UD English LinES UPOS, the same recipe
    python bench/tagging.py ner-esp     # CoNLL-2002 Spanish, char features + CRF: testa entity F1
    python bench/tagging.py ner-ned     # CoNLL-2002 Dutch, the same recipe
    python bench/tagging.py chunk       # CoNLL-2000 chunking: F1 on a seeded 10% of train.txt
    python bench/tagging.py speed       # sentences/s of `seqcli tag` (text in, text out)
    python bench/tagging.py case-fallback --runs ner-esp-LABEL ...   # finished runs re-scored
                                        # with and without --case-fallback

Common options: ``--epochs`` (every run is epoch-bounded), ``--threads``, ``--extra`` (more
train-tagger options, e.g. ``--extra "--embeddings runs/vec"``), ``--vectors`` (first train
skip-gram vectors with ``seqcli train-embeddings`` on the training file's own sentences,
the only text of that language in ../shared/data, and start the tagger from them). Data comes from
../shared/data; results go to bench/results/tagging-<name>.json with the machine, the
commands, the dev figures and the training time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.lm import DATA, WORK, machine, save  # noqa: E402

RECIPES: dict[str, tuple[Path, Path | None, list[str]]] = {
    "pos-ewt": (
        DATA / "ud-english-ewt" / "en_ewt-ud-train.conllu",
        DATA / "ud-english-ewt" / "en_ewt-ud-dev.conllu",
        ["--column", "upos", "--char-features"],
    ),
    "pos-lines": (
        DATA / "ud-english-lines" / "en_lines-ud-train.conllu",
        DATA / "ud-english-lines" / "en_lines-ud-dev.conllu",
        ["--column", "upos", "--char-features"],
    ),
    "ner-esp": (
        DATA / "conll2002" / "esp.train",
        DATA / "conll2002" / "esp.testa",
        ["--crf", "--char-features"],
    ),
    "ner-ned": (
        DATA / "conll2002" / "ned.train",
        DATA / "conll2002" / "ned.testa",
        ["--crf", "--char-features"],
    ),
    "chunk": (DATA / "conll2000" / "train.txt", None, ["--crf", "--char-features"]),
}


def run(*args: object) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "seqcli", *map(str, args)]
    print("$", shlex.join(command[1:]), flush=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT, env=env)


def last_line_figures(output: str) -> dict[str, float]:
    fields = output.strip().splitlines()[-1].split()
    return {name: float(value) for name, value in zip(fields[::2], fields[1::2], strict=True)}


def split_conll(path: Path, seed: int = 0) -> tuple[Path, Path]:
    """A seeded 10% of the sentences of a CoNLL file as dev, the rest as train (both written)."""
    blocks = [b for b in path.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    dev_rows = set(random.Random(seed).sample(range(len(blocks)), round(0.1 * len(blocks))))
    WORK.mkdir(parents=True, exist_ok=True)
    train, dev = WORK / f"{path.stem}.train90.conll", WORK / f"{path.stem}.dev10.conll"
    train.write_text(
        "\n\n".join(b for i, b in enumerate(blocks) if i not in dev_rows) + "\n", encoding="utf-8"
    )
    dev.write_text("\n\n".join(b for i, b in enumerate(blocks) if i in dev_rows) + "\n", encoding="utf-8")
    return train, dev


def quality(name: str, args: argparse.Namespace) -> None:
    train, dev, options = RECIPES[name]
    if dev is None:
        train, dev = split_conll(train)
    name = f"{name}-{args.label}" if args.label else name
    run_dir = WORK / f"tagging-{name}"
    extra = shlex.split(args.extra)
    vectors_command = None
    if args.vectors and not args.resume:  # a resumed run keeps the vectors it started with
        vectors = WORK / f"vectors-{name}"
        text = WORK / f"{name}.sentences.txt"
        text.write_text(_sentences_text(train), encoding="utf-8")
        vectors_command = run(
            "train-embeddings", text, "-o", vectors, "--model", "skipgram", "--loss", "negative",
            "--dim", 100, "--min-count", 1, "--epochs", 10, "--threads", args.threads, "--overwrite", "-q",
        ).args  # fmt: skip
        extra += ["--embeddings", str(vectors)]
    # --resume continues the labelled run to --epochs with its own saved settings (the
    # recipe's options would be refused), e.g. a run that was still improving.
    how = ["--resume"] if args.resume else [*options, *extra, "--overwrite"]
    first_epoch = _epochs_done(run_dir) if args.resume else 0
    started = time.monotonic()
    trained = run(
        "train-tagger", train, "--valid", dev, "-o", run_dir, *how,
        "--epochs", args.epochs, "--threads", args.threads, "--device", "cpu", "--quiet",
    )  # fmt: skip
    train_seconds = time.monotonic() - started
    evaluated = run("evaluate", "-m", run_dir, dev, "--threads", args.threads, "--device", "cpu")
    config = json.loads((run_dir / "config.json").read_text())
    sentences = sum(1 for b in train.read_text(encoding="utf-8").split("\n\n") if b.strip())
    save(
        f"tagging-{name}",
        {
            "dev": last_line_figures(evaluated.stdout),
            "details": evaluated.stdout.strip().splitlines()[:-1],
            "train_seconds": round(train_seconds, 1),
            "train_sentences_per_s": round(sentences * (args.epochs - first_epoch) / train_seconds, 1),
            "epochs": args.epochs,
            "resumed_after_epoch": first_epoch if args.resume else None,
            "threads_used": args.threads,
            "model": config["model"],
            "commands": [
                *([shlex.join(map(str, vectors_command[1:]))] if vectors_command else []),
                shlex.join(map(str, trained.args[1:])),
                shlex.join(map(str, evaluated.args[1:])),
            ],
            "summary": trained.stderr.strip().splitlines()[-1:],
        },
    )


def _epochs_done(run_dir: Path) -> int:
    """Validations (one per epoch) a run has logged so far."""
    metrics = run_dir / "metrics.jsonl"
    if not metrics.is_file():
        sys.exit(f"--resume: no run to continue at {run_dir}")
    return sum('"valid"' in line for line in metrics.read_text(encoding="utf-8").splitlines())


def _sentences_text(path: Path) -> str:
    """The words of a CoNLL file (first column), one sentence a line."""
    lines, words = [], []
    for row in path.read_text(encoding="utf-8").splitlines():
        if not row.strip():
            if words:
                lines.append(" ".join(words))
            words = []
        elif not row.startswith("-DOCSTART-"):
            words.append(row.split()[0])
    if words:
        lines.append(" ".join(words))
    return "\n".join(lines) + "\n"


def speed(args: argparse.Namespace) -> None:
    """``seqcli tag`` on the EWT dev sentences as raw text, with a trained pos-ewt run
    (``--label`` picks which)."""
    name = f"pos-ewt-{args.label}" if args.label else "pos-ewt"
    run_dir = WORK / f"tagging-{name}"
    if not (run_dir / "config.json").is_file():
        sys.exit(f"train first: python bench/tagging.py pos-ewt --label ... (looked for {run_dir})")
    from seqcli.data.conllu import read_conllu

    sentences = [" ".join(s.tokens) for s in read_conllu(DATA / "ud-english-ewt" / "en_ewt-ud-dev.conllu")]
    text = WORK / "ewt-dev.txt"
    text.write_text("\n".join(sentences) + "\n", encoding="utf-8")
    seconds = []
    for _ in range(args.rounds):
        started = time.monotonic()
        tagged = run("tag", "-m", run_dir, text, "--threads", args.threads, "--device", "cpu")
        seconds.append(time.monotonic() - started)
        assert len(tagged.stdout.splitlines()) == len(sentences)
    best = min(seconds)
    save(
        f"tagging-speed-{args.label}" if args.label else "tagging-speed",
        {
            "sentences": len(sentences),
            "seconds": [round(s, 2) for s in seconds],
            "sentences_per_s": round(len(sentences) / best, 1),
            "includes": "process start, model load, reading and writing",
            "command": shlex.join(map(str, tagged.args[1:])),
            "model": json.loads((run_dir / "config.json").read_text())["model"],
        },
    )


def case_fallback(args: argparse.Namespace) -> None:
    """Score finished runs (``WORK/tagging-<name>``) on their dev sets with the case
    fallback off and on. With ``--min-count 1`` the option changes no training step (tested),
    only what validation reads, so this isolates its effect on one model: a copy of the run
    with the flag set in its config is scored each way."""
    rows = {}
    for name in args.runs:
        figure = next(f for f in RECIPES if name == f or name.startswith(f + "-"))
        train, dev, _ = RECIPES[figure]
        if dev is None:
            _, dev = split_conll(train)
        run_dir, copy = WORK / f"tagging-{name}", WORK / f"case-fallback-{name}"
        config = json.loads((run_dir / "config.json").read_text())
        rows[name] = {}
        for setting in (False, True):
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("state"))
            config["data"]["case_fallback"] = setting
            (copy / "config.json").write_text(json.dumps(config, indent=2))
            evaluated = run("evaluate", "-m", copy, dev, "--threads", args.threads, "--device", "cpu")
            rows[name]["on" if setting else "off"] = last_line_figures(evaluated.stdout)
            print(name, "on" if setting else "off", rows[name]["on" if setting else "off"], flush=True)
        shutil.rmtree(copy)
    save("tagging-case-fallback", {"runs": rows, "command": shlex.join(["bench/tagging.py", *sys.argv[1:]])})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("figure", choices=[*RECIPES, "speed", "case-fallback"])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3, help="speed: timed repetitions (the best counts)")
    parser.add_argument("--label", default="", help="suffix of the run and results names (variants)")
    parser.add_argument("--extra", default="", help="more train-tagger options, as one string")
    parser.add_argument("--vectors", action="store_true", help="start from train-embeddings vectors")
    parser.add_argument(
        "--resume", action="store_true", help="continue the labelled run to --epochs (its own settings)"
    )
    parser.add_argument("--runs", nargs="+", default=[], help="case-fallback: run names after tagging-")
    args = parser.parse_args()
    print(json.dumps(machine()), flush=True)
    if args.figure == "speed":
        speed(args)
    elif args.figure == "case-fallback":
        case_fallback(args)
    else:
        quality(args.figure, args)


if __name__ == "__main__":
    main()
