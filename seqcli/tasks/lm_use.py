"""Using a trained language model: sampling, scoring lines, evaluating a corpus.

Every sequence is read in the context the model was trained in: a word or subword model
saw ``<eos>`` before each sentence, so ``<eos>`` starts a sentence; a character model saw
running text, so a newline starts a line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from seqcli.data.corpus import iter_lines
from seqcli.data.token_cache import token_stream
from seqcli.decode.sampling import StepFn, sample
from seqcli.errors import SeqcliError
from seqcli.models.lm import LanguageModel
from seqcli.models.rnn import select_state
from seqcli.tasks.lm import TASK, build_model, evaluate_stream
from seqcli.tasks.registry import EvalRequest, Evaluation
from seqcli.text import EOS_ID, UNK_ID, Tokenizer, load_tokenizer
from seqcli.train import checkpoint

__all__ = [
    "GeneratedText",
    "LineScore",
    "LoadedModel",
    "evaluate",
    "evaluate_corpus",
    "generate",
    "load_language_model",
    "score_lines",
]


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
    if tokenizer.line_based:
        return [EOS_ID]
    newline = tokenizer.encode("\n")
    return newline if newline and newline[0] != UNK_ID else [EOS_ID]


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
    context = torch.tensor([_start_ids(tokenizer) + tokenizer.encode(prompt)], device=device)
    state = None
    if context.shape[1] > 1:
        _, state = loaded.model(context[:, :-1])
        state = select_state(state, torch.zeros(num, dtype=torch.long, device=device))
    generator = torch.Generator(device=device)
    generator.manual_seed(seed if seed is not None else torch.seed())
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
        GeneratedText(prompt + _joined(tokenizer, prompt, ids), len(ids), float(lp))
        for ids, lp in zip(samples.tokens, samples.log_probs.tolist(), strict=True)
    ]


def _joined(tokenizer: Tokenizer, prompt: str, ids: list[int]) -> str:
    text = tokenizer.decode([i for i in ids if i != EOS_ID])
    # Word-level pieces are space-separated; keep the prompt's last word apart from the next.
    return f" {text}" if tokenizer.kind == "word" and prompt and text else text


@torch.no_grad()
def score_lines(loaded: LoadedModel, lines: list[str], *, batch_size: int = 64) -> list[LineScore]:
    """Natural-log probability and token count of each line, as a whole sentence."""
    tokenizer = loaded.tokenizer
    start = _start_ids(tokenizer)
    end = [EOS_ID] if tokenizer.line_based else tokenizer.encode("\n")
    sequences = [start + ids + end for ids in tokenizer.encode_batch(lines)]
    scores: list[LineScore] = []
    for first in range(0, len(sequences), batch_size):
        scores.extend(_score_batch(loaded, sequences[first : first + batch_size], len(start)))
    return scores


def _score_batch(loaded: LoadedModel, sequences: list[list[int]], context: int) -> list[LineScore]:
    lengths = torch.tensor([len(s) for s in sequences])
    padded = torch.zeros(len(sequences), int(lengths.max()), dtype=torch.long)
    for row, ids in enumerate(sequences):
        padded[row, : len(ids)] = torch.tensor(ids)
    padded = padded.to(loaded.device)
    logits, _ = loaded.model(padded[:, :-1])
    log_probs = torch.log_softmax(logits.float(), dim=-1).gather(2, padded[:, 1:, None]).squeeze(2).cpu()
    # Right padding cannot change earlier outputs of a left-to-right model, so a mask suffices.
    positions = torch.arange(1, padded.shape[1])
    mask = (positions[None, :] < lengths[:, None]) & (positions[None, :] >= context)
    totals = (log_probs * mask).sum(dim=1).tolist()
    counts = mask.sum(dim=1).tolist()
    return [LineScore(lp, n) for lp, n in zip(totals, counts, strict=True)]


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
    figures = {"loss": loss, "ppl": math.exp(min(loss, 50.0)), "tokens": float(len(ids))}
    if loaded.tokenizer.kind == "char":
        figures["bpc"] = loss / math.log(2)
    return figures


def evaluate(run_dir: Path, request: EvalRequest) -> Evaluation:
    """The registry's entry point: ``seqcli evaluate -m RUN CORPUS`` on a language model."""
    if len(request.data) != 1:
        raise SeqcliError(f"a language model is evaluated on one text file, got {len(request.data)}")
    loaded = load_language_model(run_dir, request.device)
    return Evaluation(evaluate_corpus(loaded, request.data[0], encoding_errors=request.encoding_errors))
