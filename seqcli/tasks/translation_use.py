"""Using a trained translator: streaming translation, and ``seqcli evaluate`` (BLEU, chrF).

Input is one sentence per line and so is the output, in order: an empty (or blank) line
gives an empty line without being decoded, a sentence longer than ``max_source_tokens``
pieces is cut there (and marked, so the caller can warn), and characters the tokenizer has
never seen become ``<unk>``. Lines are translated in batches of ``batch_size``, sorted by
length inside each batch, and given back in their input order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from seqcli.data.parallel import read_parallel
from seqcli.errors import SeqcliError
from seqcli.metrics.bleu import score_translations
from seqcli.models.seq2seq import Seq2Seq
from seqcli.tasks.registry import EvalRequest, Evaluation
from seqcli.tasks.translation import (
    SOURCE_TOKENIZER,
    TARGET_TOKENIZER,
    TASK,
    SearchOptions,
    build_model,
    translate_ids,
)
from seqcli.text import EOS_ID, Tokenizer, load_tokenizer
from seqcli.train import checkpoint

__all__ = [
    "Candidate",
    "Translation",
    "Translator",
    "evaluate",
    "info_sections",
    "load_translator",
    "translate_lines",
]

DEFAULT_MAX_SOURCE_TOKENS = 200


@dataclass(frozen=True)
class Translator:
    model: Seq2Seq
    source_tokenizer: Tokenizer
    target_tokenizer: Tokenizer
    config: dict[str, Any]
    device: torch.device

    @property
    def has_attention(self) -> bool:
        return self.model.config.has_attention


@dataclass(frozen=True)
class Candidate:
    """One translation of a sentence: detokenised text, its scores, its target pieces and
    (when asked for) attention weights, one row per target piece and ``<eos>``, one column
    per source piece and ``<eos>``."""

    text: str
    score: float
    log_prob: float
    pieces: list[str]
    attention: list[list[float]] | None = None


@dataclass(frozen=True)
class Translation:
    """A source line and its candidates, best first (none for an empty line)."""

    source: str
    source_pieces: list[str]
    candidates: list[Candidate]
    truncated: bool = False

    @property
    def text(self) -> str:
        return self.candidates[0].text if self.candidates else ""


def load_translator(run_dir: Path, device: torch.device) -> Translator:
    config = checkpoint.read_config(run_dir, task=TASK)
    source_tokenizer = load_tokenizer(run_dir / SOURCE_TOKENIZER)
    target_tokenizer = load_tokenizer(run_dir / TARGET_TOKENIZER)
    try:
        model = build_model(config)
    except (KeyError, TypeError, ValueError) as err:
        raise SeqcliError(f"{run_dir / checkpoint.CONFIG_FILE}: invalid model settings ({err})") from None
    checkpoint.load_weights(run_dir, model)
    return Translator(model.to(device).eval(), source_tokenizer, target_tokenizer, config, device)


def translate_lines(
    translator: Translator,
    lines: Iterable[str],
    options: SearchOptions,
    *,
    batch_size: int = 64,
    max_source_tokens: int = DEFAULT_MAX_SOURCE_TOKENS,
) -> Iterator[Translation]:
    """Translate ``lines`` as they come, ``batch_size`` at a time (1 for interactive use)."""
    if batch_size < 1:
        raise SeqcliError(f"--batch-size must be at least 1, got {batch_size}")
    if max_source_tokens < 1:
        raise SeqcliError(f"--max-source-tokens must be at least 1, got {max_source_tokens}")
    if options.attention and not translator.has_attention:
        raise SeqcliError("this translator has no attention (it was trained with --attention none)")
    stream = iter(lines)
    while chunk := list(itertools.islice(stream, batch_size)):
        yield from _translate_chunk(translator, chunk, options, max_source_tokens)


def _translate_chunk(
    translator: Translator, lines: list[str], options: SearchOptions, max_source_tokens: int
) -> list[Translation]:
    texts = [line.strip() for line in lines]
    encoded = translator.source_tokenizer.encode_batch([text for text in texts if text])
    sources = [[*ids[:max_source_tokens], EOS_ID] for ids in encoded]
    results = iter(translate_ids(translator.model, sources, options, batch_size=max(len(sources), 1)))
    pieces = iter(sources)
    truncated = iter([len(ids) > max_source_tokens for ids in encoded])
    translations = []
    for text in texts:
        if not text:
            translations.append(Translation(text, [], []))
            continue
        source = [translator.source_tokenizer.id_to_piece(i) for i in next(pieces)]
        candidates = [_candidate(translator.target_tokenizer, h) for h in next(results)]
        translations.append(Translation(text, source, candidates, next(truncated)))
    return translations


def _candidate(tokenizer: Tokenizer, hypothesis: Any) -> Candidate:
    pieces = [tokenizer.id_to_piece(i) for i in hypothesis.tokens]
    attention = None if hypothesis.trace is None else hypothesis.trace.tolist()
    return Candidate(
        tokenizer.decode(hypothesis.tokens), hypothesis.score, hypothesis.log_prob, pieces, attention
    )


def evaluate(run_dir: Path, request: EvalRequest) -> Evaluation:
    """BLEU and chrF (sacrebleu) of beam-search translations of two aligned files or a TSV."""
    if len(request.data) not in (1, 2):
        raise SeqcliError("a translator is evaluated on two aligned files (source, target) or one TSV file")
    translator = load_translator(run_dir, request.device)
    target = request.data[1] if len(request.data) == 2 else None
    pairs = list(read_parallel(request.data[0], target, encoding_errors=request.encoding_errors))
    if not pairs:
        raise SeqcliError(f"{request.data[0]}: no sentence pairs to evaluate on")
    options = SearchOptions(
        beam_size=int(request.options.get("beam", 5)),
        length_penalty=float(request.options.get("length_penalty", SearchOptions.length_penalty)),
    )
    batch_size = int(request.options.get("batch_size", 64))
    translations = translate_lines(
        translator, (pair.source for pair in pairs), options, batch_size=batch_size
    )
    scores = score_translations([t.text for t in translations], [pair.target for pair in pairs])
    details = [f"BLEU signature: {scores.bleu_signature}", f"chrF signature: {scores.chrf_signature}"]
    return Evaluation({"bleu": scores.bleu, "chrf": scores.chrf}, details)


def info_sections(run_dir: Path, config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    model = config.get("model", {})
    return {
        "translator": {
            "attention": model.get("attention"),
            "cell": model.get("cell"),
            "layers": model.get("num_layers"),
            "hidden": model.get("hidden_size"),
            "embedding": model.get("embedding_dim"),
            "source vocabulary": model.get("source_vocab_size"),
            "target vocabulary": model.get("target_vocab_size"),
            "joint vocabulary": config.get("tokenizers", {}).get("joint"),
        }
    }
