"""Figures for the language-model issue; each subcommand prints and saves its results.

    python bench/lm.py overhead      # train-lm tokens/s ÷ plain PyTorch loop (PTB, 2×200 LSTM)
    python bench/lm.py compile       # train-lm tokens/s with --compile ÷ without (same model)
    python bench/lm.py shakespeare   # char LSTM, 15 minutes of CPU: validation nats/char
    python bench/lm.py shakespeare --recipe defaults   # the same with train-lm's defaults
    python bench/lm.py ptb           # Zaremba et al. small config, 13 epochs: valid perplexity
    python bench/lm.py sampling      # 64 samples × 200 tokens: one batch vs one at a time
    python bench/lm.py memory        # peak RSS of train-lm on a generated 1 GB corpus

Data comes from ../shared/data; results go to bench/results/<name>.json and stdout. Every
run records the machine, thread count and exact command lines.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
WORK = Path(os.environ.get("SEQCLI_BENCH_DIR", tempfile.gettempdir())) / "seqcli-bench"
THREADS = os.cpu_count() or 1


# The throughput model of the overhead and scaling figures: 2×200 LSTM, batch 20, BPTT 35 on
# PTB (the learning rate does not change the speed; these runs are not about accuracy).
PTB_2X200 = [
    "--tokenizer", "word", "--cell", "lstm", "--layers", 2, "--hidden", 200, "--dropout", 0,
    "--batch-size", 20, "--bptt", 35, "--optimizer", "sgd", "--lr", 1, "--clip", 0.25,
    "--quiet", "--overwrite",
]  # fmt: skip


def machine() -> dict:
    import torch

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "threads": THREADS,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
    }


def seqcli(
    *args: object, timed: bool = False, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "seqcli", *map(str, args)]
    if timed:
        command = ["/usr/bin/time", "-v", *command]
    print("$", " ".join(command[command.index("-m") - 1 :] if not timed else command), flush=True)
    return subprocess.run(
        command, check=True, capture_output=True, text=True, env={**os.environ, **(env or {})}
    )


def save(name: str, record: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {"machine": machine(), **record}
    (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


def metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def seqcli_rate(run_dir: Path, skip: int) -> float:
    """Median steady-state tokens/s the Trainer logged (first ``skip`` log windows dropped)."""
    rates = [m["rate"] for m in metrics(run_dir) if "rate" in m][skip:]
    return statistics.median(rates)


def overhead(args: argparse.Namespace) -> None:
    import torch

    from bench.plain_lm import plain_tokens_per_second
    from seqcli.data.token_cache import default_cache_dir, token_stream
    from seqcli.text import load_tokenizer

    torch.set_num_threads(THREADS)
    run_dir = WORK / "overhead"
    common = [*PTB_2X200, "--threads", THREADS, "--device", "cpu"]
    seqcli_rates, plain_rates, commands = [], [], []
    for _ in range(args.rounds):
        steps = args.steps
        result = seqcli(
            "train-lm", DATA / "ptb" / "ptb.train.txt", "-o", run_dir, "--max-steps", steps, *common
        )
        commands.append(result.args)
        seqcli_rates.append(seqcli_rate(run_dir, skip=1))
        tokenizer = load_tokenizer(run_dir)
        ids = torch.from_numpy(
            token_stream(DATA / "ptb" / "ptb.train.txt", tokenizer, cache_dir=default_cache_dir()).astype(
                "int64"
            )
        )
        plain_rates.append(plain_tokens_per_second(ids, tokenizer.vocab_size, steps=steps - 20, warmup=20))
        print(f"seqcli {seqcli_rates[-1]:,.0f} tok/s   plain {plain_rates[-1]:,.0f} tok/s", flush=True)
    ratio = statistics.median(s / p for s, p in zip(seqcli_rates, plain_rates, strict=True))
    save(
        "overhead",
        {
            "seqcli_tokens_per_s": seqcli_rates,
            "plain_tokens_per_s": plain_rates,
            "ratio_median": ratio,
            "rounds": args.rounds,
            "steps": args.steps,
            "command": " ".join(map(str, commands[0][1:])),
        },
    )


def compile_gain(args: argparse.Namespace) -> None:
    """--compile against eager, alternating rounds, steady-state rates (compilation excluded)."""
    run_dir = WORK / "compile"
    common = [*PTB_2X200, "--threads", THREADS, "--device", args.device, "--max-steps", args.steps]
    rates: dict[str, list[float]] = {"eager": [], "compiled": []}
    commands = {}
    for _ in range(args.rounds):
        for name, extra in (("eager", []), ("compiled", ["--compile"])):
            result = seqcli("train-lm", DATA / "ptb" / "ptb.train.txt", "-o", run_dir, *common, *extra)
            commands[name] = " ".join(map(str, result.args[1:]))
            # Skip two log windows: the first compiled steps include compilation itself.
            rates[name].append(seqcli_rate(run_dir, skip=2))
            print(f"{name} {rates[name][-1]:,.0f} tok/s", flush=True)
    ratio = statistics.median(c / e for c, e in zip(rates["compiled"], rates["eager"], strict=True))
    save(
        f"compile-{args.device}",
        {"tokens_per_s": rates, "ratio_median": ratio, "rounds": args.rounds, "commands": commands},
    )


def split_shakespeare() -> tuple[Path, Path]:
    """The first 90% of the lines for training, the last 10% for validation."""
    lines = (DATA / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    cut = int(len(lines) * 0.9)
    WORK.mkdir(parents=True, exist_ok=True)
    train, valid = WORK / "shakespeare.train.txt", WORK / "shakespeare.valid.txt"
    train.write_text("".join(lines[:cut]), encoding="utf-8")
    valid.write_text("".join(lines[cut:]), encoding="utf-8")
    return train, valid


SHAKESPEARE = [
    "--cell", "lstm", "--layers", 2, "--hidden", 512, "--embedding", 128, "--dropout", 0,
    "--batch-size", 64, "--bptt", 64, "--optimizer", "adam", "--lr", 2e-3, "--schedule", "cosine",
    "--warmup-steps", 100, "--clip", 1.0, "--eval-every", 600,
]  # fmt: skip


def shakespeare(args: argparse.Namespace) -> None:
    """``--recipe best``: the best configuration known for the budget; ``defaults``: the
    command with no option but --valid and --max-time (and output flags)."""
    train, valid = split_shakespeare()
    name = f"shakespeare-{args.recipe}"
    run_dir = WORK / name
    recipe = SHAKESPEARE if args.recipe == "best" else []
    options = [*recipe, "--max-time", args.time, "--quiet", "--overwrite", "--device", args.device]
    result = seqcli("train-lm", train, "-o", run_dir, "--valid", valid, *options)
    valid_records = [m["valid"] for m in metrics(run_dir) if "valid" in m]
    evaluation = json.loads(
        seqcli("evaluate", "-m", run_dir, valid, "--format", "jsonl", "--threads", THREADS).stdout
    )
    save(
        name,
        {
            "recipe": args.recipe,
            "split": "tinyshakespeare/input.txt by lines: first 90% train, last 10% valid",
            "valid_loss_nats_per_char": evaluation["loss"],
            "bpc": evaluation["bpc"],
            "best_during_training": min(v["loss"] for v in valid_records),
            "steps": metrics(run_dir)[-1]["step"],
            "max_time": args.time,
            "command": "seqcli " + " ".join(map(str, result.args[3:])),
        },
    )


def ptb(args: argparse.Namespace) -> None:
    run_dir = WORK / "ptb-small"
    # Zaremba et al. 2014, "small": 2×200 LSTM, no dropout, init ±0.1, SGD lr 1 halved each
    # epoch after the 4th, gradient norm clipped at 5, batch 20, 20 unrolled steps, 13 epochs.
    # Their loss is summed over the 20 steps (averaged over the batch only); seqcli's is the
    # mean per token, so the same updates need lr 1 × 20 and clip 5 / 20 (pytorch/examples'
    # word_language_model uses lr 20, clip 0.25 for the same reason).
    options = [
        "--tokenizer", "word", "--cell", "lstm", "--layers", 2, "--hidden", 200, "--dropout", 0,
        "--init-range", 0.1, "--optimizer", "sgd", "--lr", 20, "--schedule", "step", "--lr-decay", 0.5,
        "--decay-start", 4, "--clip", 0.25, "--batch-size", 20, "--bptt", 20, "--epochs", args.epochs,
        "--threads", THREADS, "--quiet", "--overwrite", "--device", args.device,
    ]  # fmt: skip
    started = time.time()
    result = seqcli(
        "train-lm",
        DATA / "ptb" / "ptb.train.txt",
        "--valid",
        DATA / "ptb" / "ptb.valid.txt",
        "-o",
        run_dir,
        *options,
    )
    valid = [m["valid"] for m in metrics(run_dir) if "valid" in m]
    rates = [m["rate"] for m in metrics(run_dir) if "rate" in m]
    save(
        "ptb",
        {
            "valid_ppl_per_epoch": [round(v["ppl"], 2) for v in valid],
            "best_valid_ppl": min(v["ppl"] for v in valid),
            "epochs": args.epochs,
            "median_tokens_per_s": statistics.median(rates),
            "wall_seconds": round(time.time() - started),
            "command": "seqcli " + " ".join(map(str, result.args[3:])),
        },
    )


def sampling(args: argparse.Namespace) -> None:
    import torch

    from seqcli.tasks.lm_use import generate, load_language_model

    torch.set_num_threads(THREADS)
    run_dir = WORK / "shakespeare-best"  # the run of `shakespeare --recipe best`
    loaded = load_language_model(run_dir, torch.device("cpu"))
    timings = {}
    for label, batches, per_batch in (("batched", 1, args.num), ("one_at_a_time", args.num, 1)):
        start = time.perf_counter()
        for index in range(batches):
            generate(loaded, num=per_batch, max_tokens=args.tokens, temperature=0.8, seed=index)
        timings[label] = time.perf_counter() - start
    save(
        "sampling",
        {
            "samples": args.num,
            "tokens": args.tokens,
            "seconds": timings,
            "speedup": timings["one_at_a_time"] / timings["batched"],
            "model": "the 2×512 char LSTM from `bench/lm.py shakespeare`",
        },
    )


def generate_corpus(path: Path, size: int) -> None:
    rng = random.Random(0)
    words = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
        for _ in range(20_000)
    ]
    block = "\n".join(" ".join(rng.choices(words, k=rng.randint(5, 25))) for _ in range(20_000)) + "\n"
    with open(path, "w", encoding="utf-8") as out:
        for _ in range(size // len(block) + 1):
            out.write(block)


def memory(args: argparse.Namespace) -> None:
    corpus = WORK / "big.txt"
    WORK.mkdir(parents=True, exist_ok=True)
    if not corpus.exists() or corpus.stat().st_size < args.bytes:
        generate_corpus(corpus, args.bytes)
    run_dir = WORK / "big-run"
    # A fresh token cache, so the figure includes encoding the corpus, not a cache hit.
    cache = WORK / "big-cache"
    shutil.rmtree(cache, ignore_errors=True)
    started = time.time()
    result = seqcli(
        "train-lm",
        corpus,
        "-o",
        run_dir,
        "--max-steps",
        args.steps,
        "--hidden",
        128,
        "--threads",
        THREADS,
        "--quiet",
        "--overwrite",
        timed=True,
        env={"SEQCLI_CACHE_DIR": str(cache)},
    )
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    save(
        "memory",
        {
            "corpus_bytes": corpus.stat().st_size,
            "peak_rss_bytes": peak_kb * 1024,
            "peak_rss_over_corpus": peak_kb * 1024 / corpus.stat().st_size,
            "wall_seconds": round(time.time() - started),
            "command": "seqcli " + " ".join(map(str, result.args[result.args.index("-m") + 2 :])),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="bench", required=True)
    p = sub.add_parser("overhead")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--rounds", type=int, default=3)
    p = sub.add_parser("compile")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p = sub.add_parser("shakespeare")
    p.add_argument("--time", default="15m")
    p.add_argument("--device", default="cpu")
    p.add_argument("--recipe", choices=("best", "defaults"), default="best")
    p = sub.add_parser("ptb")
    p.add_argument("--epochs", type=int, default=13)
    p.add_argument("--device", default="cpu")
    p = sub.add_parser("sampling")
    p.add_argument("--num", type=int, default=64)
    p.add_argument("--tokens", type=int, default=200)
    p = sub.add_parser("memory")
    p.add_argument("--bytes", type=int, default=10**9)
    p.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    benches = {"compile": compile_gain}  # subcommands whose function name differs
    (benches.get(args.bench) or globals()[args.bench])(args)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
