"""How seqcli's word2vec kernel uses its threads: seqcli alone, no gensim, run alone.

    python bench/embeddings_threads.py alternate --configs sg-hs sg-ns   # 1 epoch: 1, 2, 2, 1 threads
    python bench/embeddings_threads.py blocks --configs sg-hs --seeds 1 3 1   # 5 epochs, time per block
    python bench/embeddings_threads.py pages --configs sg-ns sg-hs      # huge pages or not, alternating

``alternate`` trains one epoch with 1, 2, 2 and 1 threads in turn (alternating, so a drift of
the machine shows as a difference between the two runs of one thread count) and prints the
training seconds of each. ``blocks`` trains the full five epochs on 2 threads and prints the
seconds of every call of the kernel (one block of about 1 M tokens, cut into 10 k-token chunks
that the threads share), so a slow run can be told from a run slowed by bursts. ``pages``
trains the full five epochs on 2 threads with the two matrices in numpy's memory (numpy asks
Linux for transparent huge pages for large arrays) and in torch's (4 KiB pages), alternating
four times, and prints the seconds of each. The corpus and settings are those of
bench/embeddings.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import embeddings as bench


def alternate(corpus: Path, work: Path, configs: list[str]) -> None:
    for name in configs:
        for threads in (1, 2, 2, 1):
            timing = bench.run_seqcli(corpus, bench.CONFIGS[name], 1, threads, 1, work)
            print(f"{name} threads {threads}: {timing['train_s']:.1f} s", flush=True)


def blocks(corpus: Path, work: Path, configs: list[str], seeds: list[int]) -> None:
    from seqcli.models import word2vec_kernels

    kernel, times = word2vec_kernels.run_block, []

    def timed(*args, **kwargs):
        started = time.perf_counter()
        result = kernel(*args, **kwargs)
        times.append(time.perf_counter() - started)
        return result

    word2vec_kernels.run_block = timed
    for name in configs:
        for seed in seeds:
            times.clear()
            timing = bench.run_seqcli(corpus, bench.CONFIGS[name], 5, 2, seed, work)
            per_block = " ".join(f"{seconds:.2f}" for seconds in times)
            print(f"{name} seed {seed}: {timing['train_s']:.1f} s; blocks: {per_block}", flush=True)


def pages(corpus: Path, work: Path, configs: list[str]) -> None:
    import numpy as np
    import torch

    from seqcli.models import word2vec

    init = word2vec.Word2Vec.__init__

    def in_numpy_memory(self, config) -> None:
        init(self, config)
        for parameter in (self.input, self.output):
            memory = torch.from_numpy(np.empty(tuple(parameter.shape), np.float32))
            parameter.data = memory.copy_(parameter.data)

    for name in configs:
        for memory in ("numpy", "torch", "numpy", "torch"):
            word2vec.Word2Vec.__init__ = in_numpy_memory if memory == "numpy" else init
            timing = bench.run_seqcli(corpus, bench.CONFIGS[name], 5, 2, 1, work)
            print(f"{name} {memory} memory: {timing['train_s']:.1f} s", flush=True)
    word2vec.Word2Vec.__init__ = init


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=("alternate", "blocks", "pages"))
    parser.add_argument("--configs", nargs="+", choices=sorted(bench.CONFIGS), default=["sg-hs"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    args = parser.parse_args()
    if not (bench.DATA / bench.CORPORA[0]).is_file():
        sys.exit(f"{bench.DATA} is missing: the bench needs ../shared/data")
    with tempfile.TemporaryDirectory(prefix="seqcli-emb-threads-") as scratch:
        work = Path(scratch)
        corpus = work / "corpus.txt"
        bench.build_corpus(corpus, None)
        bench._warm_up(work, 2)
        if args.mode == "alternate":
            alternate(corpus, work, args.configs)
        elif args.mode == "pages":
            pages(corpus, work, args.configs)
        else:
            blocks(corpus, work, args.configs, args.seeds)


if __name__ == "__main__":
    main()
