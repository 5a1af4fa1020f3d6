"""Word vectors: seqcli against gensim, same corpus, same settings, same threads, one run.

    python bench/embeddings.py                      # full corpus (gcide + brown, ~6.5 M words)
    python bench/embeddings.py --words 200000       # a quick end-to-end check on a slice
    python bench/embeddings.py --configs sg-ns --epochs 1
    python bench/embeddings.py --seeds 3            # each configuration with seeds 1, 2, 3
    python bench/embeddings.py --device cuda --out bench/results/embeddings-gpu.json   # torch path

For each configuration (sg-ns: skip-gram + negative sampling, cbow-ns, sg-hs: skip-gram +
hierarchical softmax) both libraries train on the same lowercased text with dim 100,
window 5, 5 noise words, min-count 5, sample 1e-3, lr 0.025, the given epochs and threads.
Speed is words of the corpus × epochs ÷ seconds of training (vocabulary building and
encoding are timed apart, for both). Quality is measured by the same seqcli code on both
sets of vectors: analogy accuracy (questions-words, 30,000 most frequent words, 3CosAdd)
and Spearman's ρ on WordSim353; gensim's own analogy score is recorded as a cross-check.
The analogy difference is taken on the same questions and candidates for both: the two
libraries order words of equal count differently, so each set of vectors is also scored in
the other's word order (``analogy_diff``: seqcli's order, ``analogy_diff_gensim_order``).
With ``--seeds N`` every configuration runs N times (seeds 1..N for both libraries): one
seed's analogy accuracy moves by a point or two from Hogwild's thread interleaving and the
random draws, more than the two libraries differ, so the summary compares means.
gensim is a bench-only install (``pip install gensim``). Results go to
bench/results/embeddings.json (or --out) and stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
CORPORA = ("gcide/gcide.txt", "brown/brown.txt")
CONFIGS = {
    "sg-ns": {"model": "skipgram", "loss": "negative"},
    "cbow-ns": {"model": "cbow", "loss": "negative"},
    "sg-hs": {"model": "skipgram", "loss": "hierarchical"},
}
SETTINGS = {"dim": 100, "window": 5, "negative": 5, "min_count": 5, "sample": 1e-3, "lr": 0.025}


def machine(threads: int) -> dict:
    import gensim
    import numba
    import torch

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    versions = {"torch": torch.__version__, "numba": numba.__version__, "gensim": gensim.__version__}
    return {"cpu": cpu, "cores": os.cpu_count(), "threads": threads, **versions}


def build_corpus(path: Path, words: int | None) -> int:
    """gcide + brown, lowercased, one sentence per line, cut after ``words`` words."""
    total = 0
    with open(path, "w", encoding="utf-8") as out:
        for name in CORPORA:
            for line in (DATA / name).read_text(encoding="utf-8").splitlines():
                tokens = line.lower().split()
                if not tokens:
                    continue
                out.write(" ".join(tokens) + "\n")
                total += len(tokens)
                if words is not None and total >= words:
                    return total
    return total


def run_gensim(corpus: Path, config: dict, epochs: int, threads: int, seed: int) -> tuple[dict, object]:
    from gensim.models import Word2Vec

    sentences = [line.split() for line in corpus.read_text(encoding="utf-8").splitlines()]
    hs = config["loss"] == "hierarchical"
    started = time.perf_counter()
    model = Word2Vec(
        vector_size=SETTINGS["dim"], window=SETTINGS["window"], min_count=SETTINGS["min_count"],
        sample=SETTINGS["sample"], alpha=SETTINGS["lr"], sg=int(config["model"] == "skipgram"),
        hs=int(hs), negative=0 if hs else SETTINGS["negative"], workers=threads, seed=seed,
    )  # fmt: skip
    model.build_vocab(sentences)
    prepared = time.perf_counter()
    model.train(sentences, total_examples=model.corpus_count, epochs=epochs)
    trained = time.perf_counter()
    return {"prepare_s": prepared - started, "train_s": trained - prepared}, model.wv


def run_seqcli(
    corpus: Path, config: dict, epochs: int, threads: int, seed: int, work: Path, device: str = "cpu"
) -> dict:
    from seqcli.tasks.embeddings_loop import EmbeddingTraining
    from seqcli.tasks.embeddings_train import VocabularyOptions, train_embeddings
    from seqcli.tasks.training import RunOptions

    run_dir = work / f"run-{config['model']}-{config['loss']}"
    options = RunOptions(run_dir, device, threads, overwrite=True, quiet=True, cache_dir=work / "cache")
    model = {key: SETTINGS[key] for key in ("dim", "window", "negative", "sample")} | config
    started = time.perf_counter()
    result = train_embeddings(
        corpus, run=options, model=model, vocabulary=VocabularyOptions(min_count=SETTINGS["min_count"]),
        training=EmbeddingTraining(epochs=epochs, lr=SETTINGS["lr"], seed=seed),
        log=lambda message: None,
    )  # fmt: skip
    total = time.perf_counter() - started
    return {"prepare_s": total - result.elapsed, "train_s": result.elapsed, "run_dir": str(run_dir)}


def quality(vectors) -> dict:
    from seqcli.metrics.analogy import overall, read_analogies, score_analogies
    from seqcli.metrics.similarity import read_word_pairs, score_similarity

    folder = DATA / "word-similarity"
    analogies = overall(score_analogies(vectors, read_analogies(folder / "questions-words.txt")))
    similarity = score_similarity(vectors, read_word_pairs(folder / "wordsim353.tsv"))
    return {
        "analogy_accuracy": analogies.accuracy,
        "analogy_answered": analogies.answered,
        "analogy_skipped": analogies.skipped,
        "wordsim353_rho": similarity.rho,
        "wordsim353_pairs": similarity.used,
    }


def gensim_vectors(wv):
    from seqcli.data.vectors import WordVectors

    return WordVectors(list(wv.index_to_key), wv.vectors)


def reordered(vectors, words: list[str]):
    """``vectors`` with its rows in the order of ``words`` (the same set of words)."""
    from seqcli.data.vectors import WordVectors

    row = {word: i for i, word in enumerate(vectors.words)}
    if set(row) != set(words):
        raise SystemExit("the two libraries kept different vocabularies: check the corpus and min-count")
    return WordVectors(list(words), vectors.vectors[[row[word] for word in words]])


def gensim_reads_ours(run_dir: Path, work: Path) -> bool:
    """The export is loadable by gensim, with the same vectors."""
    import numpy as np
    from gensim.models import KeyedVectors

    from seqcli.data.vectors import load_vectors
    from seqcli.tasks.embeddings_use import export_vectors

    path = work / "vectors.bin"
    export_vectors(run_dir, path, format="word2vec-binary")
    loaded, ours = KeyedVectors.load_word2vec_format(str(path), binary=True), load_vectors(run_dir)
    return list(loaded.index_to_key) == ours.words and bool(np.array_equal(loaded.vectors, ours.vectors))


def bench(args: argparse.Namespace) -> dict:
    """Every configuration and seed of ``args``, in a scratch directory removed at the end
    (corpus, token caches and runs: several hundred MB)."""
    with tempfile.TemporaryDirectory(prefix="seqcli-emb-") as scratch:
        return _bench(args, Path(scratch))


def _bench(args: argparse.Namespace, work: Path) -> dict:
    corpus = work / "corpus.txt"
    words = build_corpus(corpus, args.words)
    print(f"corpus: {words:,} words, {corpus}", file=sys.stderr)
    _warm_up(work, args.threads)
    results = []
    for name in args.configs:
        for seed in range(args.seed, args.seed + args.seeds):
            row = compare(name, corpus, words, seed, work, args)
            results.append(row)
            print(_line(row), flush=True)
    summary = [_summary(name, [row for row in results if row["config"] == name]) for name in args.configs]
    for row in summary:
        print(json.dumps(row), flush=True)
    return {
        "command": " ".join(["python", *sys.argv]),
        "machine": machine(args.threads),
        "corpus_words": words,
        "seqcli_device": args.device,
        "epochs": args.epochs,
        "settings": SETTINGS,
        "seeds": list(range(args.seed, args.seed + args.seeds)),
        "summary": summary,
        "results": results,
    }


def compare(name: str, corpus: Path, words: int, seed: int, work: Path, args: argparse.Namespace) -> dict:
    """One configuration, one seed: gensim then seqcli, timed and scored alike."""
    from seqcli.data.vectors import load_vectors

    config = CONFIGS[name]
    timing_g, wv = run_gensim(corpus, config, args.epochs, args.threads, seed)
    questions = str(DATA / "word-similarity" / "questions-words.txt")
    gensim_own = wv.evaluate_word_analogies(questions, restrict_vocab=30000)[0]
    quality_g = quality(gensim_vectors(wv))
    timing_s = run_seqcli(corpus, config, args.epochs, args.threads, seed, work, args.device)
    ours, theirs = load_vectors(Path(timing_s["run_dir"])), gensim_vectors(wv)
    quality_s = quality(ours)
    # Words of equal count (~100 of them straddle the 30,000th place here) are ordered by
    # code point in seqcli and by an unstable argsort in gensim, so the two vocabularies'
    # top 30,000 differ at the edge and each library answers a slightly different set of
    # questions over different candidates. Scoring each set of vectors in the other's order
    # compares them on the same questions and the same candidates.
    in_our_order = quality(reordered(theirs, ours.words))
    in_their_order = quality(reordered(ours, theirs.words))
    rate_g = words * args.epochs / timing_g["train_s"]
    rate_s = words * args.epochs / timing_s["train_s"]
    return {
        "config": name,
        "seed": seed,
        "gensim": {
            **timing_g,
            "words_per_s": rate_g,
            **quality_g,
            "gensim_own_analogy": gensim_own,
            "analogy_accuracy_seqcli_order": in_our_order["analogy_accuracy"],
        },
        "seqcli": {
            **timing_s,
            "words_per_s": rate_s,
            **quality_s,
            "analogy_accuracy_gensim_order": in_their_order["analogy_accuracy"],
        },
        "speed_ratio": rate_s / rate_g,
        "analogy_diff": quality_s["analogy_accuracy"] - in_our_order["analogy_accuracy"],
        "analogy_diff_gensim_order": in_their_order["analogy_accuracy"] - quality_g["analogy_accuracy"],
        "analogy_diff_own_orders": quality_s["analogy_accuracy"] - quality_g["analogy_accuracy"],
        "wordsim353_diff": quality_s["wordsim353_rho"] - quality_g["wordsim353_rho"],
        "gensim_reads_export": gensim_reads_ours(Path(timing_s["run_dir"]), work),
    }


def _summary(name: str, rows: list[dict]) -> dict:
    """Means over seeds of each library's figures, and the median speed ratio."""
    import statistics

    def mean(library: str, key: str) -> float:
        return statistics.fmean(row[library][key] for row in rows)

    return {
        "config": name,
        "seeds": len(rows),
        "speed_ratio_median": statistics.median(row["speed_ratio"] for row in rows),
        **{
            f"{library}_{key}_mean": mean(library, key)
            for library in ("gensim", "seqcli")
            for key in ("words_per_s", "analogy_accuracy", "wordsim353_rho")
        },
        "analogy_diff_mean": statistics.fmean(row["analogy_diff"] for row in rows),
        "analogy_diff_gensim_order_mean": statistics.fmean(row["analogy_diff_gensim_order"] for row in rows),
        "analogy_diff_own_orders_mean": statistics.fmean(row["analogy_diff_own_orders"] for row in rows),
        "wordsim353_diff_mean": statistics.fmean(row["wordsim353_diff"] for row in rows),
    }


def _warm_up(work: Path, threads: int) -> None:
    """Compile (or load from numba's cache) the kernels before any timing, for every
    configuration: a user pays this once per installation."""
    sample = work / "warm-up.txt"
    sample.write_text("a b c d e f\n" * 200)
    for config in CONFIGS.values():
        run_seqcli(sample, config, 1, threads, 1, work / "warm-up")


def _line(row: dict) -> str:
    g, s = row["gensim"], row["seqcli"]
    return (
        f"{row['config']}: gensim {g['train_s']:.1f} s ({g['words_per_s']:,.0f} w/s), "
        f"seqcli {s['train_s']:.1f} s ({s['words_per_s']:,.0f} w/s), ratio {row['speed_ratio']:.2f}; "
        f"analogy {s['analogy_accuracy']:.4f} vs {g['analogy_accuracy_seqcli_order']:.4f} "
        f"(gensim's order: {s['analogy_accuracy_gensim_order']:.4f} vs {g['analogy_accuracy']:.4f}), "
        f"ws353 {s['wordsim353_rho']:.3f} vs {g['wordsim353_rho']:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--words", type=int, default=None, help="cut the corpus after this many words")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1, help="the first seed")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per configuration")
    parser.add_argument("--configs", nargs="+", choices=sorted(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--device", default="cpu", help="seqcli's device: cuda runs the torch path")
    parser.add_argument("--out", type=Path, default=RESULTS / "embeddings.json")
    args = parser.parse_args()
    if not (DATA / CORPORA[0]).is_file():
        sys.exit(f"{DATA} is missing: the bench needs ../shared/data")
    report = bench(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
