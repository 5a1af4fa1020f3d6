"""Ancestral sampling from a language model, with temperature, top-k and nucleus filtering.

As in docs/maths.md ("Language models and sampling"): draw ``y<t>`` from the softmax of the
model's scores divided by a temperature, feed it back as ``x<t+1>``, stop at ``<eos>`` or
a length limit. Top-k: Fan et al. 2018, "Hierarchical Neural Story Generation"; nucleus
(top-p): Holtzman et al. 2020, "The Curious Case of Neural Text Degeneration". The order
temperature, then top-k, then top-p follows Hugging Face ``generate``.

Search is model-agnostic: the model enters only through ``step`` (:mod:`seqcli.decode.search`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from seqcli.decode.search import State, StepFn

__all__ = ["Samples", "State", "StepFn", "filter_logits", "sample"]


@dataclass(frozen=True)
class Samples:
    """Sampled continuations of a batch.

    tokens: per sequence, the generated ids; the eos is included if it was produced and
        nothing follows it.
    log_probs: (B,) sum of the natural-log probabilities of those ids under the model's own
        distribution (before temperature and filtering).
    """

    tokens: list[list[int]]
    log_probs: Tensor


def filter_logits(logits: Tensor, *, top_k: int | None, top_p: float | None) -> Tensor:
    """Set every token outside the top-k and then outside the nucleus to -inf.

    logits: (B, V) unnormalised scores. Returns (B, V). Top-k keeps the k largest; top-p keeps
    the smallest set of most probable tokens whose mass reaches ``top_p`` (never empty).
    Tokens tied with the last one kept are kept too, so the result never depends on the
    order of the vocabulary.

    >>> filter_logits(torch.tensor([[1.0, 3.0, 2.0, 0.0]]), top_k=2, top_p=None)
    tensor([[-inf, 3., 2., -inf]])
    >>> filter_logits(torch.tensor([[0.5, 0.25, 0.25]]).log(), top_k=None, top_p=0.4)
    tensor([[-0.6931,    -inf,    -inf]])
    """
    _check_filter(top_k, top_p)
    if top_k is not None:
        logits = _keep_top_k(logits, top_k)
    if top_p is not None:
        logits = _keep_nucleus(logits, top_p)
    return logits


def sample(
    step: StepFn,
    state: State,
    tokens: Tensor,
    *,
    max_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    eos_id: int | None = None,
    generator: torch.Generator | None = None,
) -> Samples:
    """Sample continuations for a whole batch at once, one ``step`` call per position.

    tokens: (B,) the last token of each sequence (e.g. ``<eos>`` or a prompt's end); state:
    the model state after the prompt. ``temperature`` 0 is greedy (argmax). Generation stops
    when every sequence has produced ``eos_id`` or after ``max_tokens``; a finished sequence
    keeps being fed ``eos_id`` but its output and log-prob no longer change. ``generator``
    must live on the device of the model's log_probs; the same seed gives the same samples.
    """
    _check_options(max_tokens, temperature, top_k, top_p)
    emitted, alive, chosen = [], [], []  # per position: ids, row still running, log-probs
    finished = torch.zeros(tokens.shape[0], dtype=torch.bool)
    for _ in range(max_tokens):
        log_probs, state = step(tokens, state)  # (B, V)
        finished = finished.to(log_probs.device)  # no-op after the first step
        drawn = _next_tokens(log_probs, temperature, top_k, top_p, generator)  # (B,)
        if eos_id is not None:
            drawn = drawn.masked_fill(finished, eos_id)
        # scored under the untempered, unfiltered model: that is the sequence's probability
        chosen.append(log_probs.gather(1, drawn[:, None]).squeeze(1).masked_fill(finished, 0.0))
        alive.append(~finished)
        emitted.append(drawn)
        if eos_id is not None:
            finished = finished | (drawn == eos_id)
            if bool(finished.all()):  # the one host sync per step
                break
        tokens = drawn
    return _collect(emitted, alive, chosen)


def _next_tokens(
    log_probs: Tensor,
    temperature: float,
    top_k: int | None,
    top_p: float | None,
    generator: torch.Generator | None,
) -> Tensor:
    """Draw one token per row from (B, V) log_probs; returns (B,)."""
    if temperature == 0:
        return log_probs.argmax(dim=-1)
    logits = filter_logits(log_probs / temperature, top_k=top_k, top_p=top_p)
    return _draw(logits, generator)


def _draw(logits: Tensor, generator: torch.Generator | None) -> Tensor:
    """Inverse-CDF draw from softmax(logits): (B, V) -> (B,).

    Not torch.multinomial nor Gumbel-max: for one sample both draw a random number per
    vocabulary entry (multinomial uses the exponential trick, ATen Distributions.cpp), which on
    CPU costs more than the model's output layer and does not shrink with batching; inverting
    the CDF needs one uniform per row. float64 keeps rare tokens' intervals accurate.
    """
    cdf = logits.double().softmax(dim=-1).cumsum(dim=-1)  # (B, V)
    cdf = cdf / cdf[:, -1:]  # x / x == 1 exactly, so every uniform in [0, 1) lands in a bin
    u = torch.rand(cdf.shape[0], 1, dtype=cdf.dtype, device=cdf.device, generator=generator)
    # first bin with cdf > u: a zero-probability token has an empty bin and is never chosen
    return torch.searchsorted(cdf, u, right=True).squeeze(1)


def _keep_top_k(logits: Tensor, k: int) -> Tensor:
    kth = logits.topk(min(k, logits.shape[-1]), dim=-1).values[..., -1:]  # (B, 1)
    return logits.masked_fill(logits < kth, -math.inf)


def _keep_nucleus(logits: Tensor, p: float) -> Tensor:
    sorted_logits = logits.sort(dim=-1, descending=True).values  # (B, V)
    probs = sorted_logits.softmax(dim=-1)
    # a token is needed while the mass ranked above it is short of p; the top token always is
    mass_before = F.pad(probs.cumsum(dim=-1)[..., :-1], (1, 0))  # (B, V)
    n_kept = (mass_before < p).sum(dim=-1, keepdim=True)  # (B, 1), >= 1
    threshold = sorted_logits.gather(-1, n_kept - 1)  # (B, 1)
    return logits.masked_fill(logits < threshold, -math.inf)


def _collect(emitted: list[Tensor], alive: list[Tensor], chosen: list[Tensor]) -> Samples:
    """Turn per-position (B,) tensors into trimmed id lists, with one transfer to the host."""
    ids = torch.stack(emitted, dim=1).tolist()  # (B, T)
    lengths = torch.stack(alive, dim=1).sum(dim=1).tolist()  # (B,)
    tokens = [row[:n] for row, n in zip(ids, lengths, strict=True)]
    return Samples(tokens=tokens, log_probs=torch.stack(chosen, dim=1).sum(dim=1))


def _check_options(max_tokens: int, temperature: float, top_k: int | None, top_p: float | None) -> None:
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
    if not temperature >= 0:  # also rejects NaN
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    _check_filter(top_k, top_p)


def _check_filter(top_k: int | None, top_p: float | None) -> None:
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
