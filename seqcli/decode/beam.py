"""Greedy and beam search over a step function, batched over sentences and beams.

A hypothesis's score is the sum of its tokens' log-probabilities, ``<eos>`` included (sums,
not products, which underflow). Raw sums favour short outputs, so finished hypotheses are
ranked by the length-normalised score ``log P(y|x) / T_y^α`` with ``T_y`` the number of
tokens including ``<eos>`` and ``α`` the ``length_penalty`` (0: raw sums; the plain power
of Wu et al. 2016, "Google's Neural Machine Translation System", §7, without their +5
offset).

Beam search keeps, for each of B sentences, the ``beam_size`` (k) best unfinished prefixes
as rows ``b*k .. b*k + k - 1`` of one batch, so every step is one ``step`` call and a few
tensor operations for all sentences and beams together. Each step takes the 2k best
extensions by raw score: those ending in ``<eos>`` among the first k join the sentence's
finished list (ranked by normalised score), the k best others continue. A sentence is done
when it has k finished hypotheses (fairseq's rule, so a beam of 1 is exactly greedy search)
or reaches its maximum length, where ``<eos>`` is forced.

Search is model-agnostic: the model enters only through ``step(tokens, state) ->
(log_probs, state)``; beams are reordered with :func:`reorder_state`.

Sentences of one batch finish at different steps, and a finished sentence's k rows would
otherwise be computed until the last one ends. When a ``context`` is given (what the step
reads besides the state, such as encoder outputs: ``step(tokens, state, context)``), beam
search drops each sentence from the batch as soon as it is finished, so the step runs on
live sentences only, and runs the first step once per sentence rather than once per beam
(all k beams start as the same ``<bos>``); the results are the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from seqcli.decode.search import State, StepFn, reorder_state

__all__ = ["Hypothesis", "beam_search", "greedy_search"]

Record = Callable[[State], Tensor]
"""Picks a per-step trace out of the state after a step, ``(B, S)`` (attention weights)."""


@dataclass(frozen=True)
class Hypothesis:
    """One output of a search.

    tokens: the generated ids, ``<eos>`` left out; log_prob: ``log P(tokens, <eos> | x)``;
    score: ``log_prob / (len(tokens) + 1) ** length_penalty``; trace: ``(len(tokens) + 1,
    S)`` what ``record`` returned at each step (the last row for ``<eos>``), None unless
    recorded.
    """

    tokens: list[int]
    score: float
    log_prob: float
    trace: Tensor | None = None


def greedy_search(
    step: StepFn,
    state: State,
    *,
    bos_id: int,
    eos_id: int,
    max_lengths: Tensor,
    length_penalty: float = 0.0,
    record: Record | None = None,
) -> list[Hypothesis]:
    """The most likely token at every step, for B sentences at once.

    ``state`` has B rows; ``max_lengths: (B,)`` bounds each output, ``<eos>`` included (it
    is forced at the last position), on the device of ``step``'s log_probs.
    """
    _check_lengths(max_lengths)
    batch = max_lengths.numel()
    tokens = torch.full((batch,), bos_id, dtype=torch.long, device=max_lengths.device)
    finished = torch.zeros(batch, dtype=torch.bool, device=max_lengths.device)
    log_prob = torch.zeros(batch, device=max_lengths.device)
    emitted, traces = [], []
    for t in range(int(max_lengths.max())):
        log_probs, state = step(tokens, state)  # (B, V)
        best = log_probs.argmax(dim=-1).masked_fill(t + 1 >= max_lengths, eos_id)  # (B,)
        log_prob += log_probs.gather(1, best[:, None]).squeeze(1).masked_fill(finished, 0.0)
        emitted.append(best.masked_fill(finished, eos_id))
        if record is not None:
            traces.append(record(state))
        finished = finished | (best == eos_id)
        if bool(finished.all()):  # the one host sync per step
            break
        tokens = best
    ids = torch.stack(emitted, dim=1)  # (B, T)
    lengths = (ids != eos_id).cumprod(dim=1).sum(dim=1)  # tokens before the first eos
    trace = torch.stack(traces, dim=1) if record is not None else None  # (B, T, S)
    hypotheses = []
    for b, (row, n, total) in enumerate(zip(ids.tolist(), lengths.tolist(), log_prob.tolist(), strict=True)):
        hypotheses.append(
            Hypothesis(
                tokens=row[:n],
                score=total / (n + 1) ** length_penalty,
                log_prob=total,
                trace=None if trace is None else trace[b, : n + 1],
            )
        )
    return hypotheses


def beam_search(
    step: StepFn,
    state: State,
    *,
    beam_size: int,
    bos_id: int,
    eos_id: int,
    max_lengths: Tensor,
    length_penalty: float = 0.0,
    nbest: int = 1,
    record: Record | None = None,
    batch_dim: int = 1,
    context: State = None,
) -> list[list[Hypothesis]]:
    """The ``nbest`` best finished hypotheses of each of B sentences, best first.

    ``state`` has B rows (they are repeated for the beams); ``step`` is called with
    ``B * beam_size`` rows, sentence b's beams at rows ``b*k .. b*k + k - 1``, so whatever
    it reads of the sources besides ``state`` must be repeated that way too.
    ``max_lengths: (B,)`` as for :func:`greedy_search`. ``batch_dim`` is the state's batch
    dimension for :func:`~seqcli.decode.search.reorder_state` (1: PyTorch's recurrent layout;
    0: batch-first state). ``context``, if given, is passed as ``step(tokens, state,
    context)``: batch-first tensors with the same ``B * beam_size`` rows, equal within a
    sentence's beams, that search shrinks with the batch and gives one row per sentence
    at the first step, with B rows of everything else (see the module docstring).
    """
    _check_lengths(max_lengths)
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    if not 1 <= nbest <= beam_size:
        raise ValueError(f"nbest must be between 1 and beam_size ({beam_size}), got {nbest}")
    search = _BeamSearch(beam_size, eos_id, max_lengths, length_penalty, record is not None)
    batch, device = max_lengths.numel(), max_lengths.device
    # With a context, the first step runs once per sentence (its k beams are the same
    # <bos> prefix) and its results are repeated; without one, ``step`` wants B*k rows.
    once = 1 if context is not None else beam_size
    tokens = torch.full((batch * once,), bos_id, dtype=torch.long, device=device)
    state = reorder_state(state, torch.arange(batch, device=device).repeat_interleave(once), dim=batch_dim)
    if context is not None:
        first_context = reorder_state(context, torch.arange(batch, device=device) * beam_size, dim=0)
    for t in range(search.max_length):
        if context is None:
            log_probs, state = step(tokens, state)  # (B*k, V)
        else:
            log_probs, state = step(tokens, state, first_context if t == 0 else context)
        step_trace = None if record is None else record(state)
        if t == 0 and once == 1:
            log_probs = log_probs.repeat_interleave(beam_size, dim=0)  # (B, V) -> (B*k, V)
            step_trace = None if step_trace is None else step_trace.repeat_interleave(beam_size, dim=0)
        tokens, index = search.advance(log_probs, step_trace)
        done = int(search.done.sum())  # the one host sync per step
        if done == search.done.numel():
            break
        if context is not None and done:
            rows = search.drop_finished()  # (B'*k,) the rows that go on
            tokens, index = tokens[rows], index[rows]
            context = reorder_state(context, rows, dim=0)
        if t == 0 and once == 1:
            index = index // beam_size  # the state has one row per sentence
        state = reorder_state(state, index, dim=batch_dim)
    return search.results(nbest)


class _BeamSearch:
    """The tensors of one beam search: k live prefixes and k finished ones per sentence."""

    # The per-sentence tensors, all (B, …) over the sentences still in the batch.
    _ROWS = (
        "max_lengths", "scores", "history", "trace", "final_scores", "final_log_probs",
        "final_lengths", "final_history", "final_trace", "finished", "done", "sentences",
    )  # fmt: skip

    def __init__(self, beam_size: int, eos_id: int, max_lengths: Tensor, alpha: float, traced: bool) -> None:
        batch, k, device = max_lengths.numel(), beam_size, max_lengths.device
        self.k, self.eos_id, self.alpha, self.traced = k, eos_id, alpha, traced
        self.max_lengths = max_lengths
        self.sentences = torch.arange(batch, device=device)  # each row's place in the input
        self.dropped: list[tuple[Tensor, ...]] = []  # the finished rows left out, for results
        self.max_length = int(max_lengths.max())
        # Steps at which some sentence must end: <eos> is forced only then (a full (B, k, V)
        # select at every step would cost as much as the log-softmax).
        self.limit_steps = set(max_lengths.tolist())
        self.t = 0
        # live prefixes: only beam 0 is real at the start, the others would duplicate it
        self.scores = torch.full((batch, k), float("-inf"), device=device)
        self.scores[:, 0] = 0.0
        self.history = torch.zeros(batch, k, 0, dtype=torch.long, device=device)  # (B, k, t)
        self.trace: Tensor | None = None  # (B, k, t, S)
        # finished hypotheses, best normalised score first; -inf marks an empty slot
        self.final_scores = torch.full((batch, k), float("-inf"), device=device)
        self.final_log_probs = torch.zeros(batch, k, device=device)
        self.final_lengths = torch.zeros(batch, k, dtype=torch.long, device=device)
        self.final_history = torch.full((batch, k, self.max_length), eos_id, dtype=torch.long, device=device)
        self.final_trace: Tensor | None = None  # (B, k, max_length, S)
        self.finished = torch.zeros(batch, dtype=torch.long, device=device)
        self.done = torch.zeros(batch, dtype=torch.bool, device=device)

    def advance(self, log_probs: Tensor, step_trace: Tensor | None) -> tuple[Tensor, Tensor]:
        """Extend every prefix by its step's ``log_probs: (B*k, V)``; returns the next input
        tokens ``(B*k,)`` and the rows of the state they continue ``(B*k,)``."""
        batch, k = self.scores.shape
        vocab = log_probs.size(1)
        log_probs = log_probs.view(batch, k, vocab)
        at_limit = self.t + 1 >= self.max_lengths  # (B,)
        if self.t + 1 in self.limit_steps:
            forced = torch.full_like(log_probs, float("-inf"))
            forced[:, :, self.eos_id] = log_probs[:, :, self.eos_id]
            log_probs = torch.where(at_limit[:, None, None], forced, log_probs)
        # The 2k best extensions of a sentence are among its beams' 2k best tokens each (a
        # beam's score is the same for all its tokens), so the beam scores are added to
        # those (B, k, 2k) only, not to all (B, k, V) log-probabilities.
        row_scores, row_words = log_probs.topk(min(2 * k, vocab), dim=2)  # (B, k, 2k')
        candidates = (self.scores[:, :, None] + row_scores).view(batch, -1)
        top_scores, top_ids = candidates.topk(min(2 * k, k * vocab), dim=1)  # (B, 2k) best first
        beams = top_ids // row_scores.size(2)  # parent beam
        words = row_words.view(batch, -1).gather(1, top_ids)  # new token
        history = torch.cat([_gather(self.history, beams), words[:, :, None]], dim=2)  # (B, 2k, t+1)
        trace = self._extend_trace(beams, step_trace)
        is_eos = words == self.eos_id
        ranked_in_beam = torch.arange(words.size(1), device=words.device) < k
        ending = is_eos & ranked_in_beam & ~self.done[:, None] & top_scores.isfinite()
        self._finish(ending, top_scores, history, trace)
        self.done |= (self.finished >= k) | at_limit
        # the k best candidates that do not end go on
        self.scores, keep = top_scores.masked_fill(is_eos, float("-inf")).topk(k, dim=1)  # (B, k)
        self.history = _gather(history, keep)
        self.trace = None if trace is None else _gather(trace, keep)
        parents = beams.gather(1, keep) + torch.arange(batch, device=beams.device)[:, None] * k
        self.t += 1
        return words.gather(1, keep).view(-1), parents.view(-1)

    def _extend_trace(self, beams: Tensor, step_trace: Tensor | None) -> Tensor | None:
        """The candidates' traces ``(B, 2k, t+1, S)``: their parents' plus this step's row."""
        if step_trace is None:
            return None
        batch, k = self.scores.shape
        rows = _gather(step_trace.view(batch, k, 1, -1), beams)  # (B, 2k, 1, S)
        if self.trace is None:
            return rows
        return torch.cat([_gather(self.trace, beams), rows], dim=2)

    def _finish(self, ending: Tensor, scores: Tensor, history: Tensor, trace: Tensor | None) -> None:
        """Merge the candidates marked ``ending: (B, 2k)`` into the finished lists."""
        self.finished += ending.sum(dim=1)
        if not bool(ending.any()):
            return
        length = self.t + 1
        normalised = (scores / length**self.alpha).masked_fill(~ending, float("-inf"))
        merged = torch.cat([self.final_scores, normalised], dim=1)  # (B, 3k)
        self.final_scores, order = merged.topk(self.k, dim=1)
        self.final_log_probs = torch.cat([self.final_log_probs, scores], dim=1).gather(1, order)
        lengths = torch.full_like(scores, length, dtype=torch.long)
        self.final_lengths = torch.cat([self.final_lengths, lengths], dim=1).gather(1, order)
        padded = torch.nn.functional.pad(history, (0, self.max_length - length), value=self.eos_id)
        self.final_history = _gather(torch.cat([self.final_history, padded], dim=1), order)
        if trace is not None:
            padded_trace = torch.nn.functional.pad(trace, (0, 0, 0, self.max_length - length))
            if self.final_trace is None:
                self.final_trace = torch.zeros_like(padded_trace[:, : self.k])
            self.final_trace = _gather(torch.cat([self.final_trace, padded_trace], dim=1), order)

    def drop_finished(self) -> Tensor:
        """Leave the finished sentences out of the batch; returns the rows ``(B'*k,)`` of
        the current ``B*k`` that go on."""
        done = self.done
        self.dropped.append(self._finals(done.nonzero().squeeze(1)))
        keep = (~done).nonzero().squeeze(1)
        for name in self._ROWS:
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value.index_select(0, keep))
        self.limit_steps = set(self.max_lengths.tolist())  # the dropped sentences' no longer apply
        return (keep[:, None] * self.k + torch.arange(self.k, device=keep.device)).view(-1)

    def _finals(self, rows: Tensor) -> tuple[Tensor, ...]:
        parts = [self.sentences, self.final_scores, self.final_log_probs, self.final_lengths]
        parts += [self.final_history] if self.final_trace is None else [self.final_history, self.final_trace]
        return tuple(part.index_select(0, rows) for part in parts)

    def results(self, nbest: int) -> list[list[Hypothesis]]:
        everything = torch.arange(self.done.numel(), device=self.done.device)
        parts = [torch.cat(columns) for columns in zip(*self.dropped, self._finals(everything), strict=True)]
        sentences, scores, log_probs, lengths, history = (part.tolist() for part in parts[:5])
        final_trace = parts[5] if len(parts) > 5 else None
        results: list[list[Hypothesis]] = [[] for _ in sentences]
        for row, b in enumerate(sentences):
            for j in range(nbest):
                if scores[row][j] == float("-inf"):
                    break
                n = lengths[row][j] - 1  # without the eos
                trace = None if final_trace is None else final_trace[row, j, : n + 1]
                results[b].append(Hypothesis(history[row][j][:n], scores[row][j], log_probs[row][j], trace))
        return results


def _gather(values: Tensor, index: Tensor) -> Tensor:
    """Rows of ``values: (B, N, …)`` picked per sentence by ``index: (B, M)`` -> (B, M, …)."""
    expanded = index.view(*index.shape, *([1] * (values.dim() - 2))).expand(*index.shape, *values.shape[2:])
    return values.gather(1, expanded)


def _check_lengths(max_lengths: Tensor) -> None:
    if max_lengths.dim() != 1 or max_lengths.numel() == 0 or bool((max_lengths < 1).any()):
        raise ValueError("max_lengths must be a non-empty (B,) tensor of lengths >= 1")
