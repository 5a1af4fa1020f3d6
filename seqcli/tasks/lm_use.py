"""Using a trained language model: sampling, scoring lines, evaluating a corpus.

Every sequence is read in the context the model was trained in: a word or subword model
saw ``<eos>`` before each sentence, so ``<eos>`` starts a sentence and ends it; a character
model saw running text, so a newline starts a line and ends it. A character vocabulary
without a newline (a corpus of one line) has no end token: such a line is scored on its
characters alone.

Scoring reads each line in windows of at most :data:`SCORE_TOKENS` tokens per forward pass
(rows × time), carrying the recurrent state from one window to the next, so a line of any
length is scored exactly in bounded memory; lines are sorted by length and batched, and the
log-probabilities stay on the device until one transfer at the end.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from seqcli.data.batching import pad
from seqcli.data.corpus import iter_lines
from seqcli.data.token_cache import token_stream
from seqcli.decode.sampling import sample
from seqcli.decode.search import StepFn, reorder_state
from seqcli.errors import SeqcliError
from seqcli.metrics.perplexity import bits_per_char, perplexity
from seqcli.models.lm import LanguageModel
from seqcli.tasks.lm import TASK, build_model, evaluate_stream
from seqcli.tasks.registry import EvalRequest, Evaluation
from seqcli.text import EOS_ID, UNK_ID, Tokenizer, load_tokenizer
from seqcli.train import checkpoint

__all__ = [
    "SCORE_TOKENS",
    "GeneratedText",
    "LineScore",
    "LoadedModel",
    "evaluate",
    "evaluate_corpus",
    "generate",
    "load_language_model",
    "score_lines",
]


SCORE_TOKENS = 4096
"""Tokens (rows × time) per forward pass when scoring: the logits then take at most
``SCORE_TOKENS × V`` floats (160 MB for a 10k vocabulary), whatever the line length."""


@dataclass(frozen=True)
class LoadedModel:
    model: LanguageModel
    tokenizer: Tokenizer
    config: dict[str, Any]
    device: torch.device


@dataclass(frozen=True)
class GeneratedText:
    text: str
    tokens: int
    log_prob: float


@dataclass(frozen=True)
class LineScore:
    log_prob: float
    tokens: int

    @property
    def perplexity(self) -> float:
        return math.exp(-self.log_prob / self.tokens) if self.tokens else math.nan


def load_language_model(run_dir: Path, device: torch.device) -> LoadedModel:
    config = checkpoint.read_config(run_dir, task=TASK)
    tokenizer = load_tokenizer(run_dir)
    try:
        model = build_model(config)
    except (TypeError, ValueError) as err:
        raise SeqcliError(f"{run_dir / checkpoint.CONFIG_FILE}: invalid model settings ({err})") from None
    checkpoint.load_weights(run_dir, model)
    return LoadedModel(model.to(device).eval(), tokenizer, config, device)


def _start_ids(tokenizer: Tokenizer) -> list[int]:
    """The context every sequence begins in (see module docstring)."""
    return _end_ids(tokenizer) or [EOS_ID]


def _end_ids(tokenizer: Tokenizer) -> list[int]:
    """The token that ends a line: ``<eos>``, a char model's newline, or none (no newline known)."""
    if tokenizer.line_based:
        return [EOS_ID]
    newline = tokenizer.encode("\n")
    return newline if newline and newline[0] != UNK_ID else []


def lm_step(model: LanguageModel) -> StepFn:
    """The model as a decoder step: last tokens ``(B,)`` → next-token log-probs ``(B, V)``."""

    def step(tokens: Tensor, state: Any) -> tuple[Tensor, Any]:
        logits, state = model(tokens[:, None], state)
        return torch.log_softmax(logits[:, -1].float(), dim=-1), state

    return step


@torch.no_grad()
def generate(
    loaded: LoadedModel,
    *,
    prompt: str = "",
    num: int = 1,
    max_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
) -> list[GeneratedText]:
    """``num`` continuations of ``prompt``, generated together in one batch."""
    tokenizer, device = loaded.tokenizer, loaded.device
    prompt_ids = tokenizer.encode(prompt)
    context = torch.tensor([_start_ids(tokenizer) + prompt_ids], device=device)
    state = None
    if context.shape[1] > 1:
        _, state = loaded.model(context[:, :-1])
        state = reorder_state(state, torch.zeros(num, dtype=torch.long, device=device))
    generator = torch.Generator(device=device)
    # Without --seed, a fresh seed for this generator only: torch's global RNG is left alone.
    generator.manual_seed(seed if seed is not None else secrets.randbits(63))
    try:
        samples = sample(
            lm_step(loaded.model),
            state,
            context[:, -1].expand(num),
            max_tokens=max_tokens,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            eos_id=EOS_ID if tokenizer.line_based else None,
            generator=generator,
        )
    except ValueError as err:
        raise SeqcliError(str(err)) from None
    return [
        GeneratedText(prompt + _continuation(tokenizer, prompt, prompt_ids, ids), len(ids), float(lp))
        for ids, lp in zip(samples.tokens, samples.log_probs.tolist(), strict=True)
    ]


def _continuation(tokenizer: Tokenizer, prompt: str, prompt_ids: list[int], ids: list[int]) -> str:
    """The text ``ids`` add after the prompt.

    Decoded together with the prompt and cut after it, because a piece's surface depends on
    its neighbours: sentencepiece drops the space of a word-initial piece at the start of a
    text, and word pieces are joined by spaces.
    """
    ids = [i for i in ids if i != EOS_ID]
    if not prompt_ids:
        return tokenizer.decode(ids)
    before = tokenizer.decode(prompt_ids)
    text = tokenizer.decode(prompt_ids + ids)
    added = text[len(before) :] if text.startswith(before) else tokenizer.decode(ids)
    # A prompt ending in a space the tokenizer normalised away already holds that space.
    return added[1:] if prompt[-1:].isspace() and added[:1] == " " else added


@torch.no_grad()
def score_lines(
    loaded: LoadedModel, lines: list[str], *, batch_size: int = 64, max_tokens: int = SCORE_TOKENS
) -> list[LineScore]:
    """Natural-log probability and token count of each line, as a whole sentence.

    Lines are sorted by length and scored ``batch_size`` at a time, each batch in windows of
    at most ``max_tokens`` tokens (see module docstring); the result is in input order.
    """
    tokenizer, device = loaded.tokenizer, loaded.device
    start, end = _start_ids(tokenizer), _end_ids(tokenizer)
    sequences = [start + ids + end for ids in tokenizer.encode_batch(lines)]
    order = sorted(range(len(sequences)), key=lambda i: -len(sequences[i]))
    totals = torch.zeros(len(sequences), dtype=torch.float64, device=device)
    for first in range(0, len(order), batch_size):
        rows = order[first : first + batch_size]
        batch = _score_batch(loaded, [sequences[i] for i in rows], len(start), max_tokens)
        totals[torch.tensor(rows, device=device)] = batch
    log_probs = totals.tolist()  # the one transfer to the host
    return [LineScore(lp, len(ids) - len(start)) for lp, ids in zip(log_probs, sequences, strict=True)]


def _score_batch(loaded: LoadedModel, sequences: list[list[int]], context: int, max_tokens: int) -> Tensor:
    """Summed log-probs ``(B,)`` of ``sequences`` (longest first) after their first ``context``
    tokens, read in windows of ``max_tokens // rows`` steps with the state carried."""
    padded = pad(sequences)
    tokens, mask = padded.tokens.to(loaded.device), padded.mask.to(loaded.device)  # (B, T)
    lengths = [len(ids) for ids in sequences]
    totals = torch.zeros(len(sequences), dtype=torch.float64, device=loaded.device)
    state, begin = None, 0
    while begin < tokens.shape[1] - 1:
        # Rows are longest first, so those with targets left are a prefix: drop the others,
        # and give the rows left a longer window within the same budget.
        rows = sum(1 for n in lengths if n - 1 > begin)
        if state is not None and rows < len(lengths):
            state = reorder_state(state, torch.arange(rows, device=loaded.device))
        lengths = lengths[:rows]
        end = min(begin + max(1, max_tokens // rows), tokens.shape[1] - 1)
        inputs, targets = tokens[:rows, begin:end], tokens[:rows, begin + 1 : end + 1]  # (b, w)
        logits, state = loaded.model(inputs, state)  # (b, w, V)
        log_probs = -F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), reduction="none"
        ).view_as(targets)
        # Right padding cannot change earlier outputs of a left-to-right model: a mask suffices.
        scored = mask[:rows, begin + 1 : end + 1].clone()
        scored[:, : max(0, context - begin - 1)] = False
        totals[:rows] += (log_probs.double() * scored).sum(dim=1)
        begin = end
    return totals


def read_lines(path: Path, *, encoding_errors: str = "strict") -> list[str]:
    return list(iter_lines(path, encoding_errors=encoding_errors))


def evaluate_corpus(
    loaded: LoadedModel, path: Path, *, encoding_errors: str = "strict", cache_dir: Path | None = None
) -> dict[str, float]:
    """Mean loss (nats/token) and perplexity of a corpus; bits per character for char models."""
    ids = token_stream(path, loaded.tokenizer, encoding_errors=encoding_errors, cache_dir=cache_dir)
    if len(ids) < 2:
        raise SeqcliError(f"{path}: too short to evaluate (fewer than 2 tokens)")
    bptt = int(loaded.config.get("data", {}).get("bptt", 35))
    loss = evaluate_stream(loaded.model, ids, bptt=bptt, device=loaded.device)
    figures: dict[str, float] = {"loss": loss, "ppl": perplexity(loss), "tokens": len(ids)}
    if loaded.tokenizer.kind == "char":
        figures["bpc"] = bits_per_char(loss)
    return figures


def evaluate(run_dir: Path, request: EvalRequest) -> Evaluation:
    """The registry's entry point: ``seqcli evaluate -m RUN CORPUS`` on a language model."""
    if len(request.data) != 1:
        raise SeqcliError(f"a language model is evaluated on one text file, got {len(request.data)}")
    loaded = load_language_model(run_dir, request.device)
    return Evaluation(evaluate_corpus(loaded, request.data[0], encoding_errors=request.encoding_errors))
