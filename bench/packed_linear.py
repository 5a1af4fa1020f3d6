"""A translator's output layer on a CPU: ``F.linear`` (MKL) against seqcli's packed oneDNN
path (``seqcli.models.packed.linear``), in GFLOP/s, for the row counts a beam search meets.

    python bench/packed_linear.py [--threads 2] [--rounds 3]

Rows are hypotheses of one step: 5 for one sentence with beam 5, up to 320 for 64 sentences.
The layer is 256 → 8,000, the Multi30k model's. Each round times both ways for every row
count, alternating; results go to bench/results/packed-linear.json and stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.lm import THREADS, save  # noqa: E402

ROWS = (1, 5, 40, 160, 320)
HIDDEN, VOCAB = 256, 8000


def per_call(function, calls: int) -> float:
    """Seconds per call of ``function()``, after three warm-up calls."""
    for _ in range(3):
        function()
    began = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - began) / calls


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F

    from seqcli.models import packed

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    weight, bias = torch.randn(VOCAB, HIDDEN) * 0.1, torch.randn(VOCAB) * 0.1
    rounds = []
    with torch.inference_mode():
        for round_ in range(args.rounds):
            figures = {}
            for rows in ROWS:
                inputs = torch.randn(rows, HIDDEN)
                flop = 2 * rows * HIDDEN * VOCAB
                mkl = per_call(lambda x=inputs: F.linear(x, weight, bias), args.calls)
                onednn = per_call(lambda x=inputs: packed.linear(x, weight, bias), args.calls)
                expected = F.linear(inputs, weight, bias)
                difference = (packed.linear(inputs, weight, bias) - expected).abs().max()
                figures[rows] = {
                    "mkl_gflops": round(flop / mkl / 1e9, 1),
                    "packed_gflops": round(flop / onednn / 1e9, 1),
                    "max_abs_difference": float(difference),
                }
                print(
                    f"round {round_ + 1}, {rows:3d} rows: F.linear {flop / mkl / 1e9:6.1f} GFLOP/s, packed "
                    f"oneDNN {flop / onednn / 1e9:6.1f} GFLOP/s (max difference {float(difference):.1e})",
                    flush=True,
                )
            rounds.append(figures)
    save(
        "packed-linear",
        {
            "command": " ".join(sys.argv),
            "layer": f"{HIDDEN} -> {VOCAB}",
            "packed_path_used": packed._usable,
            "rounds": rounds,
        },
    )


if __name__ == "__main__":
    main()
