"""Figures for the translation issue; each subcommand prints and saves its results.

    python bench/translation.py multi30k [--attention none] [--epochs N]
        # de→en GRU + attention: train-translator, then BLEU/chrF on val for greedy and beam 5
    python bench/translation.py tatoeba [--epochs N]
        # en→fr on the Tatoeba pairs: the same, on its dev file
    python bench/translation.py speed -m RUN [--sentences N] [--textbook-sentences M] [--name NAME]
        # batched beam search (beam 5) against one sentence at a time, sentences/s, and
        # against the textbook loop over hypotheses (one decoder call each) on M sentences
    python bench/translation.py score -m RUN --name NAME
        # greedy and beam-5 BLEU/chrF of a run trained by hand (e.g. extended with --resume)

Add ``--pairs N`` (and ``--valid-pairs M``) to use the first N training (M validation) pairs
only, for a quick end-to-end check. Data comes
from ../shared/data; results go to bench/results/<name>.json and stdout, with the machine,
thread count and exact command lines. Training figures are epoch-bounded; wall times are
what this machine gave while the run had it (see docs/benchmarks.md for the conditions).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.lm import DATA, THREADS, WORK, metrics, save, seqcli  # noqa: E402

MULTI30K = DATA / "multi30k"
TATOEBA = DATA / "tatoeba-eng-fra"


def train_and_score(name: str, train: list[Path], valid: list[Path], args: argparse.Namespace) -> None:
    """Train into WORK/name, then score greedy and beam-5 translations of ``valid``."""
    train, valid = _first_pairs(name, train, args.pairs), _first_pairs(name, valid, args.valid_pairs)
    run_dir = WORK / name
    options = [
        "--attention", args.attention, "--cell", "gru", "--hidden", args.hidden,
        "--embedding", args.embedding, "--vocab-size", args.vocab_size, "--batch-size", args.batch_size,
        "--lr", args.lr, "--epochs", args.epochs, "--dropout", args.dropout,
        "--threads", args.threads, "--device", "cpu", "--quiet", "--overwrite",
    ]  # fmt: skip
    start = time.perf_counter()
    result = seqcli("train-translator", *train, "--valid", *valid, "-o", run_dir, *options)
    train_seconds = time.perf_counter() - start
    history = [m for m in metrics(run_dir) if "valid" in m]
    rates = [m["rate"] for m in metrics(run_dir) if "rate" in m]
    figures = {
        search: score(run_dir, valid, search, args.threads) for search in ("greedy", "beam5", "beam5-raw")
    }
    save(
        name,
        {
            "command": " ".join(map(str, result.args[1:])),
            "train_seconds": round(train_seconds, 1),
            "epochs": args.epochs,
            "threads": args.threads,
            "median_train_tokens_per_s": sorted(rates)[len(rates) // 2] if rates else None,
            "valid_history": [{"step": m["step"], **m["valid"]} for m in history],
            "scores": figures,
        },
    )


def score(run_dir: Path, valid: list[Path], search: str, threads: int) -> dict:
    """BLEU/chrF of the run's best checkpoint on ``valid`` with one search setting."""
    import torch

    from seqcli.data.parallel import read_parallel
    from seqcli.metrics.bleu import score_translations
    from seqcli.tasks.translation import SearchOptions
    from seqcli.tasks.translation_use import load_translator, translate_lines

    torch.set_num_threads(threads)
    options = {
        "greedy": SearchOptions(greedy=True),
        "beam5": SearchOptions(beam_size=5, length_penalty=0.7),
        "beam5-raw": SearchOptions(beam_size=5, length_penalty=0.0),
    }[search]
    translator = load_translator(run_dir, torch.device("cpu"))
    pairs = list(read_parallel(valid[0], valid[1] if len(valid) == 2 else None))
    start = time.perf_counter()
    hypotheses = [t.text for t in translate_lines(translator, [p.source for p in pairs], options)]
    seconds = time.perf_counter() - start
    scores = score_translations(hypotheses, [p.target for p in pairs])
    print(f"{search}: bleu {scores.bleu:.2f} chrf {scores.chrf:.2f} ({seconds:.1f} s)", flush=True)
    return {
        "bleu": round(scores.bleu, 2),
        "chrf": round(scores.chrf, 2),
        "decode_seconds": round(seconds, 1),
        "signature": scores.bleu_signature,
    }


def rescore(args: argparse.Namespace) -> None:
    """Score a run trained (or extended with --resume) outside ``train_and_score``."""
    valid = [MULTI30K / "val.de", MULTI30K / "val.en"] if args.data == "multi30k" else [TATOEBA / "dev.tsv"]
    history = [m for m in metrics(args.model) if "valid" in m]
    searches = ("greedy", "beam5", "beam5-raw")
    save(
        args.name,
        {
            "command": " ".join(sys.argv),
            "run": json.loads((args.model / "run.json").read_text()),
            "config": json.loads((args.model / "config.json").read_text()),
            "valid_history": [{"step": m["step"], **m["valid"]} for m in history],
            "scores": {search: score(args.model, valid, search, args.threads) for search in searches},
        },
    )


def speed(args: argparse.Namespace) -> None:
    """Beam 5 over batches of sentences against one sentence per search call."""
    import torch

    from seqcli.tasks.translation import SearchOptions
    from seqcli.tasks.translation_use import load_translator, translate_lines

    torch.set_num_threads(args.threads)
    translator = load_translator(args.model, torch.device("cpu"))
    sentences = (MULTI30K / "val.de").read_text(encoding="utf-8").splitlines()[: args.sentences]
    options = SearchOptions(beam_size=5, length_penalty=0.7)
    rates, outputs = {}, {}
    for label, batch_size in (("batched", args.batch_size), ("one_at_a_time", 1)):
        start = time.perf_counter()
        outputs[label] = [
            t.text for t in translate_lines(translator, sentences, options, batch_size=batch_size)
        ]
        rates[label] = len(sentences) / (time.perf_counter() - start)
        print(f"{label}: {rates[label]:.1f} sentences/s", flush=True)
    # The course's search as tutorials write it, on fewer sentences (it is much slower).
    textbook = sentences[: args.textbook_sentences]
    start = time.perf_counter()
    outputs["textbook"] = [textbook_beam(translator, line, beam=5, alpha=0.7) for line in textbook]
    rates["textbook"] = len(textbook) / (time.perf_counter() - start)
    print(f"textbook: {rates['textbook']:.1f} sentences/s", flush=True)
    # A separate batched pass with two layers timed: the timed runs above carry no hooks.
    one_at_a_time = len(sentences) / rates["one_at_a_time"]
    layers = {} if translator.model.attention is None else {"attention": translator.model.attention}
    with output_layer_timed(translator.model) as output_layer:
        seconds = module_seconds(
            layers, lambda: list(translate_lines(translator, sentences, options, batch_size=args.batch_size))
        )
    seconds["output_layer"] = output_layer[0]
    bound = {
        "batched_seconds_in": {name: round(value, 3) for name, value in seconds.items()},
        "batched_s": round(len(sentences) / rates["batched"], 3),
        "one_at_a_time_s": round(one_at_a_time, 3),
        "speedup_bound_output_layer": round(one_at_a_time / seconds["output_layer"], 2),
        "speedup_bound_both": round(one_at_a_time / sum(seconds.values()), 2),
    }
    print(f"bound: {bound}", flush=True)
    save(
        args.name,
        {
            "bound": bound,
            "command": " ".join(sys.argv),
            "model": str(args.model),
            "sentences": len(sentences),
            "beam": 5,
            "batch_size": args.batch_size,
            "sentences_per_s": {k: round(v, 2) for k, v in rates.items()},
            "speedup": round(rates["batched"] / rates["one_at_a_time"], 2),
            "same_output": outputs["batched"] == outputs["one_at_a_time"],
            "textbook_sentences": len(textbook),
            "speedup_over_textbook": round(rates["batched"] / rates["textbook"], 2),
            "textbook_same_output": sum(
                a == b for a, b in zip(outputs["textbook"], outputs["batched"], strict=False)
            ),
        },
    )


def textbook_beam(translator, line: str, *, beam: int, alpha: float) -> str:
    """Beam search for one sentence as the course and tutorials write it: a Python loop over
    the live hypotheses, one decoder call per hypothesis per step, the reference the batched
    search replaces. Its rules are seqcli's: each step takes the 2k best extensions; those
    ending in <eos> among the first k finish, the k best others go on; a sentence is done
    with k finished hypotheses or at the maximum length, where <eos> is forced."""
    import torch

    from seqcli.tasks.translation import SearchOptions
    from seqcli.tasks.translation_use import DEFAULT_MAX_SOURCE_TOKENS
    from seqcli.text import BOS_ID, EOS_ID

    model, limits = translator.model, SearchOptions()
    ids = [*translator.source_tokenizer.encode(line.strip())[:DEFAULT_MAX_SOURCE_TOKENS], EOS_ID]
    max_length = int(limits.max_length_ratio * len(ids) + limits.max_length_extra)
    with torch.inference_mode():
        encoded, state = model.encode(torch.tensor([ids]), torch.tensor([len(ids)]))
        live = [(0.0, [], state)]  # (log P(prefix), prefix, decoder state)
        finished = []  # (normalised score, tokens without <eos>)
        for t in range(max_length):
            candidates = []
            for log_p, tokens, hypothesis_state in live:
                previous = torch.tensor([tokens[-1] if tokens else BOS_ID])
                log_probs, next_state = model.step(previous, hypothesis_state, encoded)
                if t + 1 >= max_length:  # <eos> is forced
                    candidates.append((log_p + float(log_probs[0, EOS_ID]), [*tokens, EOS_ID], next_state))
                    continue
                values, words = log_probs[0].topk(2 * beam)
                for value, word in zip(values.tolist(), words.tolist(), strict=True):
                    candidates.append((log_p + value, [*tokens, word], next_state))
            candidates.sort(key=lambda candidate: -candidate[0])
            live = []
            for rank, (log_p, tokens, next_state) in enumerate(candidates[: 2 * beam]):
                if tokens[-1] == EOS_ID:
                    if rank < beam:
                        finished.append((log_p / len(tokens) ** alpha, tokens[:-1]))
                elif len(live) < beam:
                    live.append((log_p, tokens, next_state))
            if len(finished) >= beam or t + 1 >= max_length:
                break
    return translator.target_tokenizer.decode(max(finished, key=lambda f: f[0])[1])


@contextlib.contextmanager
def output_layer_timed(model):
    """Seconds spent in the output layer while the block runs, in a one-item list: search
    calls it through ``seqcli.models.packed.linear`` with its weight, not as a module."""
    from seqcli.models import seq2seq

    spent, plain = [0.0], seq2seq.linear

    def timed(inputs, weight, bias=None):
        began = time.perf_counter()
        outputs = plain(inputs, weight, bias)
        if weight is model.projection.weight:
            spent[0] += time.perf_counter() - began
        return outputs

    seq2seq.linear = timed
    try:
        yield spent
    finally:
        seq2seq.linear = plain


def module_seconds(modules: dict, work) -> dict[str, float]:
    """Seconds spent in each of ``modules`` while ``work()`` runs.

    Every hypothesis of every step needs the full distribution over the target pieces (the
    output layer) and its own attention over every source position, so a batched search
    takes at least their sum however little the rest of a step costs: the time of one
    sentence at a time divided by that sum bounds what batching can gain."""
    spent = dict.fromkeys(modules, 0.0)
    handles = []
    for name, module in modules.items():
        began = [0.0]

        def before(module, inputs, began=began) -> None:
            began[0] = time.perf_counter()

        def after(module, inputs, output, name=name, began=began) -> None:
            spent[name] += time.perf_counter() - began[0]

        handles += [module.register_forward_pre_hook(before), module.register_forward_hook(after)]
    try:
        work()
    finally:
        for handle in handles:
            handle.remove()
    return spent


def _first_pairs(name: str, files: list[Path], pairs: int | None) -> list[Path]:
    """``files`` themselves, or copies of their first ``pairs`` lines (for a quick check)."""
    if pairs is None:
        return files
    WORK.mkdir(parents=True, exist_ok=True)
    copies = []
    for path in files:
        copy = WORK / f"{name}-{pairs}-{path.parent.name}-{path.name}"
        with open(path, encoding="utf-8") as source:
            copy.write_text(
                "".join(line for _, line in zip(range(pairs), source, strict=False)), encoding="utf-8"
            )
        copies.append(copy)
    return copies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("multi30k", "tatoeba"):
        sub = commands.add_parser(name)
        sub.add_argument("--attention", default="bahdanau")
        sub.add_argument("--epochs", type=int, default=10)
        sub.add_argument("--hidden", type=int, default=512)
        sub.add_argument("--embedding", type=int, default=256)
        sub.add_argument("--vocab-size", type=int, default=8000)
        sub.add_argument("--batch-size", type=int, default=64)
        sub.add_argument("--lr", type=float, default=1e-3)
        sub.add_argument("--dropout", type=float, default=0.3)
        sub.add_argument("--pairs", type=int, default=None)
        sub.add_argument("--valid-pairs", type=int, default=None)
        sub.add_argument("--name", default=None)
        sub.add_argument("--threads", type=int, default=THREADS)
    sub = commands.add_parser("speed")
    sub.add_argument("-m", "--model", type=Path, required=True)
    sub.add_argument("--sentences", type=int, default=200)
    sub.add_argument("--batch-size", type=int, default=64)
    sub.add_argument("--textbook-sentences", type=int, default=100)
    sub.add_argument("--name", default="translation-speed", help="results file: bench/results/NAME.json")
    sub.add_argument("--threads", type=int, default=THREADS)
    sub = commands.add_parser("score")
    sub.add_argument("-m", "--model", type=Path, required=True)
    sub.add_argument("--data", choices=("multi30k", "tatoeba"), default="multi30k")
    sub.add_argument("--name", required=True)
    sub.add_argument("--threads", type=int, default=THREADS)
    args = parser.parse_args()
    if args.command == "speed":
        speed(args)
        return
    if args.command == "score":
        rescore(args)
        return
    suffix = "" if args.attention == "bahdanau" else f"-{args.attention}"
    if args.command == "multi30k":
        name = args.name or f"multi30k{suffix}"
        train_and_score(
            name,
            [MULTI30K / "train.de", MULTI30K / "train.en"],
            [MULTI30K / "val.de", MULTI30K / "val.en"],
            args,
        )
    else:
        name = args.name or f"tatoeba{suffix}"
        train_and_score(name, [TATOEBA / "train.tsv"], [TATOEBA / "dev.tsv"], args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
