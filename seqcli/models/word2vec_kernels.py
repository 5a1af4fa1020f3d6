"""The CPU training kernel of word2vec: compiled, multi-threaded, lock-free.

Why numba: a torch batch of (centre, context) pairs pays for gathering, a (B, K, d) tensor
and a scatter for every pair, and reached well under half of gensim's words/s on two CPU
cores; the original C tool and gensim instead walk each sentence once, touching two rows
per score. This kernel does the same, compiled to machine code by numba, and runs one
chunk of sentences per thread without locks ("Hogwild", Recht et al. 2011): updates to
rows that two threads share are rare and harmless at word2vec's learning rates.

The threads are Python threads running a kernel compiled with ``nogil`` (gensim's design
too), not numba's ``parallel=True``: a numba thread pool (OpenMP or its own "workqueue")
in the same process as torch's OpenMP runtime and gloo made torchrun workers abort at
random ("terminate called without an active exception"). Plain threads that end with
each block leave no foreign pool behind.

Every formula follows the original word2vec.c and gensim, which copied it; where the two
differ, gensim (the bar this kernel is measured against):
- sigmoid and log-sigmoid from tables over [-6, 6]; a score beyond that range updates
  nothing (gensim's rule for both output layers; word2vec.c takes the saturated gradient
  in negative sampling, where such a score is already as right or as wrong as the table
  can say);
- subsampling keeps word w with probability ``keep[w]``, drawn per occurrence from 24 high
  bits of the generator (gensim; word2vec.c uses the low 16 bits, whose period is short);
- the window of each centre word is ``window - b`` with b uniform in [0, window);
- noise words come from the unigram^0.75 distribution by Walker's alias method (Walker 1977,
  Vose 1991): O(1) per draw from two arrays of V entries that stay in cache, where
  gensim's binary search of a cumulative table takes ~17 unpredictable steps and
  word2vec.c's 10^8-entry table misses the cache on every draw (both measured slower here);
- the learning rate decays linearly from ``lr`` to ``lr * 1e-4`` over all epochs, from the
  position of each sentence in the whole run, so it does not depend on thread timing.
Random numbers come from the C tool's linear congruential generator, seeded per chunk.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

__all__ = [
    "EOS",
    "FIRST_WORD",
    "LOGSIG_TABLE",
    "SIGMOID_TABLE",
    "alias_table",
    "learning_rate",
    "run_block",
    "set_threads",
    "train_chunk",
]

EOS = 3  # the id of <eos>: a sentence ends there
FIRST_WORD = 4  # ids below are specials (<pad> <unk> <bos> <eos>) and never trained
MAX_EXP = 6.0
TABLE_SIZE = 1000
_GRID = (np.arange(TABLE_SIZE, dtype=np.float64) / TABLE_SIZE * 2 - 1) * MAX_EXP
SIGMOID_TABLE = (1.0 / (1.0 + np.exp(-_GRID))).astype(np.float32)
LOGSIG_TABLE = (-np.log1p(np.exp(-_GRID))).astype(np.float32)
MIN_LR_FRACTION = 1e-4


_threads = 1


def set_threads(threads: int) -> None:
    """Threads :func:`run_block` trains on."""
    global _threads
    _threads = max(1, int(threads))


@njit(inline="always", cache=True)
def _next(rng: np.uint64) -> np.uint64:
    return rng * np.uint64(25214903917) + np.uint64(11)


@njit(inline="always", cache=True)
def _unit(rng):
    """A float32 uniform in [0, 1) from the 24 high bits of ``rng`` (the low bits of a
    linear congruential generator have short periods)."""
    return np.float32((rng >> np.uint64(24)) & np.uint64(0xFFFFFF)) * np.float32(2.0**-24)


@njit(inline="always", cache=True)
def _sigmoid(f, sig_table):
    return sig_table[int((f + MAX_EXP) * (TABLE_SIZE / MAX_EXP / 2))]


@njit(inline="always", cache=True)
def _log_sigmoid(f, logsig_table):
    """log σ(f), with log σ(f) ≈ 0 above +6 and ≈ f below -6."""
    if f >= MAX_EXP:
        return 0.0
    if f <= -MAX_EXP:
        return f
    return logsig_table[int((f + MAX_EXP) * (TABLE_SIZE / MAX_EXP / 2))]


@njit(nogil=True, fastmath=True, cache=True)
def _score(hidden, target, label, output, work, lr, sig_table, logsig_table):
    """Score ``hidden`` against row ``target`` of ``output`` for binary ``label``: update
    the row, add the error of ``hidden`` into ``work``, return -log σ(±f). Beyond ±6 the
    score updates nothing (as gensim)."""
    dim = hidden.shape[0]
    f = np.float32(0.0)
    for k in range(dim):
        f += hidden[k] * output[target, k]
    if f >= MAX_EXP or f <= -MAX_EXP:
        return -_log_sigmoid(f if label > 0.5 else -f, logsig_table)
    g = np.float32((label - _sigmoid(f, sig_table)) * lr)
    for k in range(dim):
        work[k] += g * output[target, k]
        output[target, k] += g * hidden[k]
    return -_log_sigmoid(f if label > 0.5 else -f, logsig_table)


@njit(nogil=True, fastmath=True, cache=True)
def _predict(word, hidden, output, work, hs, codes, points, lengths, noise_table, negative, lr, rng, tables):
    """All output-layer scores for predicting ``word`` from ``hidden``; returns (loss, rng)."""
    sig_table, logsig_table = tables
    loss = 0.0
    if hs:
        for step in range(lengths[word]):
            label = np.float32(1.0 - codes[word, step])
            loss += _score(hidden, points[word, step], label, output, work, lr, sig_table, logsig_table)
        return loss, rng
    loss += _score(hidden, word, np.float32(1.0), output, work, lr, sig_table, logsig_table)
    keep, alias = noise_table
    size = np.uint64(len(keep))
    for _ in range(negative):
        # Walker's alias method: a uniform slot, then its word or its alias.
        rng = _next(rng)
        slot = np.int64((((rng >> np.uint64(16)) & np.uint64(0xFFFFFFFF)) * size) >> np.uint64(32))
        rng = _next(rng)
        noise = slot if _unit(rng) < keep[slot] else np.int64(alias[slot])
        if noise == word:
            continue
        loss += _score(hidden, noise, np.float32(0.0), output, work, lr, sig_table, logsig_table)
    return loss, rng


@njit(nogil=True, fastmath=True, cache=True)
def _sentence(sent, n, syn0, output, neu1, work, sg, hs, codes, points, lengths, noise_table,
              window, negative, lr, rng, tables):  # fmt: skip
    """Train on one subsampled sentence ``sent[:n]``; returns (loss, examples, rng)."""
    dim = syn0.shape[1]
    loss, examples = 0.0, 0
    for i in range(n):
        word = sent[i]
        rng = _next(rng)
        reduced = np.int64(rng % np.uint64(window))
        lo, hi = max(0, i - window + reduced), min(n, i + window + 1 - reduced)
        if sg:
            # Skip-gram: the context word's vector predicts the centre word (as word2vec.c).
            for j in range(lo, hi):
                if j == i:
                    continue
                context = sent[j]
                for k in range(dim):
                    work[k] = 0.0
                part, rng = _predict(word, syn0[context], output, work, hs, codes, points, lengths,
                                     noise_table, negative, lr, rng, tables)  # fmt: skip
                loss += part
                examples += 1
                for k in range(dim):
                    syn0[context, k] += work[k]
        else:
            # CBOW: the mean of the context vectors predicts the centre word; the error of the
            # mean goes in full to every context vector.
            count = 0
            for k in range(dim):
                neu1[k] = 0.0
                work[k] = 0.0
            for j in range(lo, hi):
                if j != i:
                    count += 1
                    for k in range(dim):
                        neu1[k] += syn0[sent[j], k]
            if count == 0:
                continue
            scale = np.float32(1.0 / count)
            for k in range(dim):
                neu1[k] *= scale
            part, rng = _predict(word, neu1, output, work, hs, codes, points, lengths,
                                 noise_table, negative, lr, rng, tables)  # fmt: skip
            loss += part
            examples += 1
            for j in range(lo, hi):
                if j != i:
                    for k in range(dim):
                        syn0[sent[j], k] += work[k]
    return loss, examples, rng


@njit(nogil=True, fastmath=True, cache=True)
def train_chunk(ids, start, end, syn0, output, keep, noise_table, codes, points, lengths, sg, hs,
                window, negative, lr0, done_before, total, seed, sig_table, logsig_table):  # fmt: skip
    """Train on the sentences of ``ids[start:end]``; returns the summed loss, the examples
    scored (pairs for skip-gram, centres for CBOW) and the corpus words read (before
    subsampling).

    ``ids``: the token stream (sentences end in EOS); ``done_before``: stream positions of
    the run trained before ``ids[0]`` (the earlier epochs); ``total``: stream positions of
    the whole run (epochs × corpus), for the learning-rate decay; ``seed``: the chunk's.
    """
    dim = syn0.shape[1]
    tables = (sig_table, logsig_table)
    rng = np.uint64(seed)
    sent = np.empty(end - start, np.int64)
    neu1 = np.empty(dim, np.float32)
    work = np.empty(dim, np.float32)
    loss, examples, words = 0.0, 0, 0
    pos = start
    while pos < end:
        n = 0
        while pos < end and ids[pos] != EOS:
            word = np.int64(ids[pos])
            pos += 1
            if word < FIRST_WORD:
                continue
            words += 1
            if keep[word] < 1.0:
                rng = _next(rng)
                if keep[word] < _unit(rng):
                    continue
            sent[n] = word
            n += 1
        pos += 1  # past the <eos>
        progress = (done_before + min(pos, end)) / total
        lr = np.float32(lr0 * max(1.0 - progress, MIN_LR_FRACTION))
        if n > 1:
            part, count, rng = _sentence(sent, n, syn0, output, neu1, work, sg, hs, codes,
                                         points, lengths, noise_table, window, negative, lr, rng,
                                         tables)  # fmt: skip
            loss += part
            examples += count
    return loss, examples, words


def learning_rate(lr0: float, progress: float) -> float:
    """The kernel's learning rate at ``progress`` (0..1) of the run.

    >>> learning_rate(0.025, 0.5), learning_rate(0.025, 1.5)
    (0.0125, 2.5e-06)
    """
    return lr0 * max(1.0 - progress, MIN_LR_FRACTION)


def run_block(
    ids: np.ndarray,
    bounds: np.ndarray,
    syn0: np.ndarray,
    output: np.ndarray,
    keep: np.ndarray,
    noise,
    tree,
    *,
    skipgram: bool,
    hierarchical: bool,
    window: int,
    negative: int,
    lr: float,
    done_before: int,
    total: int,
    seed: int,
) -> tuple[float, int, int]:
    """:func:`train_chunk` on each chunk ``ids[bounds[c]:bounds[c+1]]``, on the threads of
    :func:`set_threads`, with its arguments in the one set of types it is compiled for (a
    new combination of types would cost a fresh compilation of several seconds). ``noise``
    has the alias table's ``keep`` and ``alias`` arrays, ``tree`` the Huffman tree's
    ``codes``, ``points`` and ``lengths``. Returns the summed loss, the examples scored and
    the corpus words read."""
    fixed = (
        syn0, output, np.asarray(keep, np.float32),
        (np.asarray(noise.keep, np.float32), np.asarray(noise.alias, np.int32)),
        np.asarray(tree.codes, np.uint8), np.asarray(tree.points, np.int32),
        np.asarray(tree.lengths, np.int32), bool(skipgram), bool(hierarchical), np.int64(window),
        np.int64(negative), np.float64(lr), np.int64(done_before), np.int64(total),
    )  # fmt: skip
    bounds = np.asarray(bounds, np.int64)

    def chunk(c: int) -> tuple[float, int, int]:
        # one random stream per chunk, whichever thread runs it
        chunk_seed = (seed + c * 0x9E3779B97F4A7C15) % 2**64
        return train_chunk(
            ids, bounds[c], bounds[c + 1], *fixed, np.uint64(chunk_seed), SIGMOID_TABLE, LOGSIG_TABLE
        )

    chunks = range(len(bounds) - 1)
    workers = min(_threads, len(chunks))
    if workers <= 1:
        results = [chunk(c) for c in chunks]
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="word2vec") as pool:
            results = list(pool.map(chunk, chunks))
    return (
        float(sum(r[0] for r in results)),
        int(sum(r[1] for r in results)),
        int(sum(r[2] for r in results)),
    )


@njit(cache=True)
def alias_table(probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias table of ``probabilities`` (V,): ``keep`` (V,) float32 and ``alias`` (V,)
    int32; slot i drawn uniformly yields i with probability keep[i], else alias[i]."""
    n = len(probabilities)
    keep = np.zeros(n, np.float32)
    alias = np.arange(n).astype(np.int32)
    scaled = probabilities * n
    small, large = np.empty(n, np.int64), np.empty(n, np.int64)
    n_small, n_large = 0, 0
    for i in range(n):
        if scaled[i] < 1.0:
            small[n_small] = i
            n_small += 1
        else:
            large[n_large] = i
            n_large += 1
    while n_small > 0 and n_large > 0:
        n_small -= 1
        low, high = small[n_small], large[n_large - 1]
        keep[low], alias[low] = scaled[low], high
        scaled[high] = scaled[high] + scaled[low] - 1.0
        if scaled[high] < 1.0:
            n_large -= 1
            small[n_small] = high
            n_small += 1
    for k in range(n_large):
        keep[large[k]] = 1.0
    for k in range(n_small):  # left over by rounding: probability ~1
        keep[small[k]] = 1.0
    return keep, alias
