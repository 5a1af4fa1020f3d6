"""Two trainings on one machine: torch's thread default against seqcli's (seqcli.train.threads).

    python bench/contention.py                # the figures: 300 steps per run
    python bench/contention.py --steps 40 --tiny --out /tmp/contention.json   # a quick check

Runs a character ``train-lm`` on examples/shakespeare.txt (the default model, or a tiny one
with --tiny) for a fixed number of steps, in six set-ups:

    alone, torch default      one run, --threads <usable CPUs>, GOMP_SPINCOUNT=300000 (torch's
                              and libgomp's own defaults)
    alone, seqcli default     one run, no --threads (threads from the CPUs free; the CLI's
                              short OpenMP spin, GOMP_SPINCOUNT=1000)
    alone, passive wait       one run, --threads <usable CPUs>, OMP_WAIT_POLICY=PASSIVE
    two, torch default        two runs at once, each --threads <usable CPUs>
    two, seqcli default       two runs at once, no --threads
    two, passive wait         two runs at once, --threads <usable CPUs>, OMP_WAIT_POLICY=PASSIVE

(``--only`` picks some), and reports each run's tokens/s: the median of the ``rate`` the
Trainer writes to metrics.jsonl every 20 steps, the first window (start-up) left out. A
timed benchmark: run it alone on the machine. Results go to bench/results/contention.json
and stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lm import ROOT, WORK, machine
from seqcli.train.threads import usable_cpus

CORPUS = ROOT / "examples" / "shakespeare.txt"
TINY_MODEL = ["--hidden", "32", "--layers", "1", "--batch-size", "4", "--bptt", "16"]


def command(run_dir: Path, steps: int, threads: int | None, tiny: bool) -> list[str]:
    options = [
        "--max-steps",
        steps,
        "--quiet",
        "--overwrite",
        "--device",
        "cpu",
        *(TINY_MODEL if tiny else []),
    ]
    if threads is not None:
        options += ["--threads", threads]
    return [sys.executable, "-m", "seqcli", "train-lm", str(CORPUS), "-o", str(run_dir), *map(str, options)]


def rate(run_dir: Path) -> float:
    rates = [
        record["rate"]
        for record in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())
        if "rate" in record
    ]
    return statistics.median(rates[1:] or rates)


def run_at_once(name: str, copies: int, threads: int | None, env: dict, *, args: argparse.Namespace) -> dict:
    """Start ``copies`` trainings together, wait for all, return their tokens/s."""
    slug = "-".join(name.replace(",", "").split())
    dirs = [WORK / f"contention-{slug}-{copy}" for copy in range(copies)]
    commands = [command(run_dir, args.steps, threads, args.tiny) for run_dir in dirs]
    print(f"# {name}: {copies} × $ {' '.join(commands[0][1:])}", flush=True)
    started = time.monotonic()
    children = [
        subprocess.Popen(
            c, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        for c in commands
    ]
    for child in children:
        _, stderr = child.communicate()
        if child.returncode != 0:
            raise SystemExit(f"{name}: train-lm failed ({child.returncode}): {stderr.strip()}")
    rates = [rate(run_dir) for run_dir in dirs]
    print(f"  tokens/s per run: {', '.join(f'{r:,.0f}' for r in rates)}", flush=True)
    return {
        "runs": copies,
        "threads": threads if threads is not None else "seqcli default",
        "env": env,
        "tokens_per_second": rates,
        "total_tokens_per_second": sum(rates),
        "wall_seconds": round(time.monotonic() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=300, help="optimiser steps per run")
    parser.add_argument("--tiny", action="store_true", help="a tiny model (a check that the bench runs)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "contention.json")
    parser.add_argument("--only", nargs="*", help="run only the set-ups whose name contains one of these")
    args = parser.parse_args()
    cpus = usable_cpus()
    # The user's OpenMP settings would blur the comparison: each set-up states its own.
    for name in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
        os.environ.pop(name, None)
    # torch's default: one thread per CPU, and libgomp's own spin count before a waiting
    # thread sleeps (300,000, its documented default; seqcli's CLI otherwise sets 1,000).
    torch_default = {"GOMP_SPINCOUNT": "300000"}
    setups = {
        "alone, torch default": (1, cpus, torch_default),
        "alone, seqcli default": (1, None, {}),
        "alone, passive wait": (1, cpus, {"OMP_WAIT_POLICY": "PASSIVE"}),
        "two, torch default": (2, cpus, torch_default),
        "two, seqcli default": (2, None, {}),
        "two, passive wait": (2, cpus, {"OMP_WAIT_POLICY": "PASSIVE"}),
    }
    chosen = {n: s for n, s in setups.items() if not args.only or any(word in n for word in args.only)}
    results = {name: run_at_once(name, *setup, args=args) for name, setup in chosen.items()}
    record = {
        "machine": machine(),
        "command": f"python bench/contention.py --steps {args.steps}{' --tiny' if args.tiny else ''}",
        "corpus": str(CORPUS.relative_to(ROOT)),
        "steps": args.steps,
        "model": "tiny" if args.tiny else "train-lm defaults (char, lstm 2x256)",
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
