"""Figures for the scale-and-faults issue.

    python bench/scale.py cpu       # train-lm tokens/s with 1 and 2 processes (torchrun, gloo)
    python bench/scale.py hostile   # hostile inputs tried per reader in the suite, and outcomes
    python bench/scale.py gpu       # one process with and without the DDP wrapper (needs CUDA)

Results go to bench/results/scale-*.json and stdout.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lm import DATA, PTB_2X200, ROOT, WORK, save, seqcli_rate


def run(command: list[object], env: dict[str, str] | None = None) -> None:
    command = [str(part) for part in command]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True, env={**os.environ, **(env or {})}, capture_output=True, text=True)


def train_rate(
    run_dir: Path, steps: int, *, device: str, torchrun_processes: int = 0, threads: int = 0
) -> float:
    """Steady-state global tokens/s of a PTB 2×200 run; under torchrun when processes > 0."""
    command = ["train-lm", DATA / "ptb" / "ptb.train.txt", "-o", run_dir, "--max-steps", steps, *PTB_2X200]
    command += ["--device", device, *(["--threads", threads] if threads else [])]
    if torchrun_processes:
        launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", torchrun_processes]
        run([sys.executable, *launcher, "-m", "seqcli", *command], env={"GLOO_SOCKET_IFNAME": "lo"})
    else:
        run([sys.executable, "-m", "seqcli", *command])
    return seqcli_rate(run_dir, skip=1)


def cpu(args: argparse.Namespace) -> None:
    cores = os.cpu_count() or 1
    results = {}
    for processes in (1, 2):
        results[processes] = train_rate(
            WORK / f"scale-{processes}",
            args.steps,
            device="cpu",
            torchrun_processes=processes if processes > 1 else 0,
            threads=max(1, cores // processes),
        )
        print(f"{processes} process(es): {results[processes]:,.0f} tok/s (global)", flush=True)
    save(
        "scale-cpu",
        {
            "tokens_per_s": results,
            "speedup_2_over_1": results[2] / results[1],
            "steps": args.steps,
            "model": "PTB word LM, 2×200 LSTM, batch 20 per process, bptt 35",
        },
    )


def gpu(args: argparse.Namespace) -> None:
    import torch

    if not torch.cuda.is_available():
        sys.exit("no CUDA device: this figure needs a GPU")
    results = {
        "plain": train_rate(WORK / "scale-gpu-plain", args.steps, device="cuda"),
        "ddp": train_rate(WORK / "scale-gpu-ddp", args.steps, device="cuda", torchrun_processes=1),
    }
    save("scale-gpu", {"tokens_per_s": results, "ddp_over_plain": results["ddp"] / results["plain"]})


def hostile(args: argparse.Namespace) -> None:
    log = Path(tempfile.mkstemp(suffix=".jsonl")[1])
    env = {"SEQCLI_HOSTILE_LOG": str(log), "SEQCLI_HOSTILE_EXAMPLES": str(args.examples)}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/io/test_hostile_input.py",
        "tests/io/test_hostile_readers.py",
    ]
    print("$", " ".join(command), f"(SEQCLI_HOSTILE_EXAMPLES={args.examples})", flush=True)
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True)
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        counts[entry["reader"]][entry["outcome"]] += 1
    log.unlink()
    table = {reader: {"tried": sum(c.values()), **c} for reader, c in counts.items()}
    save(
        "scale-hostile",
        {
            "per_reader": table,
            "pytest_exit": done.returncode,
            "examples_setting": args.examples,
            "pytest_tail": done.stdout.strip().splitlines()[-1:],
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="bench", required=True)
    sub.add_parser("cpu").add_argument("--steps", type=int, default=200)
    sub.add_parser("gpu").add_argument("--steps", type=int, default=500)
    sub.add_parser("hostile").add_argument("--examples", type=int, default=200)
    args = parser.parse_args()
    {"cpu": cpu, "gpu": gpu, "hostile": hostile}[args.bench](args)


if __name__ == "__main__":
    main()
