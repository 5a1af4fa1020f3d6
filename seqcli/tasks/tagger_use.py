"""Using a trained tagger: ``seqcli tag`` (text or CoNLL in, the same layout out) and
``seqcli evaluate`` (entity F1 or accuracy against gold tags).

``tag`` reads raw text (one whitespace-tokenised sentence a line), CoNLL (the token in the
first column) or CoNLL-U, and reads the whole input before writing anything, so bad input
(a blank line where a sentence should be, a ragged row) stops it with ``file:line`` and
nothing written. Output formats:

- ``text``: ``token/TAG`` pairs, one sentence a line;
- ``conll``: the input's lines with the predicted tag added as a last column (for raw text:
  ``token<TAB>tag``), a blank line after each sentence: what conlleval reads;
- ``conllu``: the input's CoNLL-U with the model's field (UPOS or XPOS) replaced;
- ``jsonl``: ``{"tokens", "tags", "scores", "spans"}`` a sentence (spans for chunk schemes,
  ``[type, start, end]`` with ``end`` exclusive; scores are each tag's probability).
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqcli.data.conll import DOCSTART
from seqcli.data.conllu import CONLLU_FIELDS
from seqcli.data.corpus import iter_lines
from seqcli.data.tagschemes import to_spans
from seqcli.errors import SeqcliError
from seqcli.tasks.registry import EvalRequest, Evaluation
from seqcli.tasks.tagger import LoadedTagger, load_tagger, tag_scores
from seqcli.tasks.tagger_data import check_scheme, read_tagged

__all__ = ["INPUT_FORMATS", "OUTPUT_FORMATS", "Block", "evaluate", "info_sections", "read_input", "tag_lines"]

INPUT_FORMATS = ("text", "conll", "conllu")
OUTPUT_FORMATS = ("text", "conll", "conllu", "jsonl")
_COLUMNS = re.compile(r"[ \t]+")
_WORD_ID = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Block:
    """A sentence of the input with its own lines (``lines[i]`` for ``tokens`` at
    ``token_lines``), or lines passed through untagged (``-DOCSTART-``: no tokens)."""

    tokens: tuple[str, ...]
    lines: tuple[str, ...] = ()
    token_lines: tuple[int, ...] = ()


def input_format(path: Path, given: str | None) -> str:
    """``--input-format``, or from the file's extension: .conllu, .conll, else raw text."""
    if given is not None:
        if given not in INPUT_FORMATS:
            raise SeqcliError(f"--input-format must be one of {', '.join(INPUT_FORMATS)}, got {given!r}")
        return given
    return {".conllu": "conllu", ".conll": "conll"}.get(path.suffix, "text")


def read_input(path: Path, kind: str, *, encoding_errors: str = "strict") -> list[Block]:
    """All of ``path`` as blocks; SeqcliError with file:line for bad input."""
    lines = iter_lines(path, encoding_errors=encoding_errors)
    blocks = list(_text_blocks(lines, path) if kind == "text" else _column_blocks(lines, path, kind))
    if not any(block.tokens for block in blocks):
        raise SeqcliError(f"{path}: no sentences to tag")
    return blocks


def _text_blocks(lines: Iterator[str], path: Path) -> Iterator[Block]:
    for lineno, line in enumerate(lines, start=1):
        tokens = tuple(line.split())
        if not tokens:
            raise SeqcliError(f"{path}:{lineno}: a sentence with no tokens (a blank line in raw text)")
        yield Block(tokens)


def _column_blocks(lines: Iterator[str], path: Path, kind: str) -> Iterator[Block]:
    block: list[str] = []
    start = 0
    for lineno, line in enumerate(lines, start=1):
        if line.strip():
            start = start or lineno
            if kind == "conll" and line.split()[0] == DOCSTART:
                yield from _finish(block, path, kind, start)
                yield Block((), (line,))
                block, start = [], 0
            else:
                block.append(line)
            continue
        yield from _finish(block, path, kind, start)
        block, start = [], 0
    yield from _finish(block, path, kind, start)


def _finish(lines: list[str], path: Path, kind: str, start: int) -> Iterator[Block]:
    if not lines:
        return
    tokens, positions, width = [], [], None
    for offset, line in enumerate(lines):
        where = f"{path}:{start + offset}"
        if kind == "conllu":
            fields = line.split("\t")
            if line.startswith("#"):
                continue
            if len(fields) != len(CONLLU_FIELDS):
                raise SeqcliError(
                    f"{where}: expected {len(CONLLU_FIELDS)} tab-separated fields, found {len(fields)}"
                )
            if not _WORD_ID.fullmatch(fields[0]):
                continue  # multiword ranges and empty nodes keep their line, untagged
            tokens.append(fields[1])
        else:
            fields = _COLUMNS.split(line.strip())
            width = width or len(fields)
            if len(fields) != width:
                raise SeqcliError(
                    f"{where}: {len(fields)} columns, but line {start} has {width} (ragged rows)"
                )
            tokens.append(fields[0])
        positions.append(offset)
    if not tokens:
        raise SeqcliError(f"{path}:{start}: a sentence with no words")
    yield Block(tuple(tokens), tuple(lines), tuple(positions))


def tag_lines(tagger: LoadedTagger, blocks: list[Block], output: str, kind: str) -> Iterator[str]:
    """The output lines for ``blocks`` read as ``kind``, in format ``output`` (see the module
    docstring): the input's own lines are kept only when ``output`` is its layout."""
    sentences = [block.tokens for block in blocks if block.tokens]
    results = iter(tagger.tag(sentences))
    for block in blocks:
        if not block.tokens:  # -DOCSTART-
            if output == kind:
                yield from (*block.lines, "")
            continue
        tags, scores = next(results)
        yield from _format(tagger, block if output == kind else Block(block.tokens), tags, scores, output)


def _format(
    tagger: LoadedTagger, block: Block, tags: list[str], scores: list[float], output: str
) -> Iterator[str]:
    if output == "text":
        yield " ".join(f"{token}/{tag}" for token, tag in zip(block.tokens, tags, strict=True))
    elif output == "jsonl":
        record: dict[str, Any] = {
            "tokens": list(block.tokens),
            "tags": tags,
            "scores": [round(s, 4) for s in scores],
        }
        if tagger.scheme is not None:
            record["spans"] = [list(span) for span in to_spans(tags, tagger.scheme)]
        yield json.dumps(record, ensure_ascii=False)
    elif output == "conll":
        if not block.lines:
            yield from (f"{token}\t{tag}" for token, tag in zip(block.tokens, tags, strict=True))
        else:
            lines = list(block.lines)
            for position, tag in zip(block.token_lines, tags, strict=True):
                separator = "\t" if "\t" in lines[position] else " "
                lines[position] = lines[position].rstrip() + separator + tag
            yield from lines
        yield ""
    else:
        yield from _conllu(tagger, block, tags)


def _conllu(tagger: LoadedTagger, block: Block, tags: list[str]) -> Iterator[str]:
    field = CONLLU_FIELDS.index(tagger.column.field or "upos")
    if not block.lines:  # raw text in, CoNLL-U out: a minimal sentence
        lines = ["\t".join([str(i), token, *["_"] * 8]) for i, token in enumerate(block.tokens, start=1)]
        block = Block(block.tokens, tuple(lines), tuple(range(len(lines))))
    lines = list(block.lines)
    for position, tag in zip(block.token_lines, tags, strict=True):
        fields = lines[position].split("\t")
        fields[field] = tag
        lines[position] = "\t".join(fields)
    yield from (*lines, "")


def _stderr_warning(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")


def evaluate(
    run_dir: Path, request: EvalRequest, *, warn: Callable[[str], None] = _stderr_warning
) -> Evaluation:
    """Score the tagger on one gold file read with its training column: entity F1 first for
    a chunk scheme, accuracy first for plain tags; per-type counts as details."""
    if len(request.data) != 1:
        raise SeqcliError(
            f"a tagger evaluates on one tagged file (CoNLL or CoNLL-U), got {len(request.data)}"
        )
    path = request.data[0]
    tagger = load_tagger(run_dir, request.device)
    gold_sentences = read_tagged(path, tagger.column, encoding_errors=request.encoding_errors)
    _, gold_sentences = check_scheme(gold_sentences, tagger.scheme or "none", path=path, warn=warn)
    known = {tag for tag in _data_tags(tagger)}
    unseen = Counter(tag for s in gold_sentences for tag in s.tags if tag not in known)
    if unseen:
        listed = ", ".join(f"{tag} ({n})" for tag, n in unseen.most_common())
        warn(f"{path}: tags never seen in training, counted as wrong: {listed}")
    gold = [s.tags for s in gold_sentences]
    predicted = [tags for tags, _ in tagger.tag([s.tokens for s in gold_sentences])]
    figures = tag_scores(gold, predicted, tagger.scheme)
    return Evaluation(figures, _details(gold, predicted, tagger.scheme))


def _data_tags(tagger: LoadedTagger) -> set[str]:
    """The tags the model can output, in the data's scheme."""
    if tagger.scheme is None:
        return set(tagger.tags.labels)
    kinds = {tag.partition("-")[2] for tag in tagger.tags.labels if tag != "O"}
    prefixes = {"iob1": "BI", "iob2": "BI", "bioes": "BIES"}[tagger.scheme]
    return {"O"} | {f"{p}-{kind}" for kind in kinds for p in prefixes}


def _details(gold: list, predicted: list, scheme: str | None) -> list[str]:
    if scheme is None:
        return []
    from seqcli.metrics.spans import span_scores

    scores = span_scores(gold, predicted, scheme)
    lines = [f"{'type':<12} {'precision':>9} {'recall':>9} {'f1':>9} {'gold':>7} {'found':>7}"]
    for kind, counts in scores.per_type.items():
        lines.append(
            f"{kind:<12} {100 * counts.precision:9.2f} {100 * counts.recall:9.2f} {100 * counts.f1:9.2f} "
            f"{counts.gold:7d} {counts.predicted:7d}"
        )
    return lines


def info_sections(run_dir: Path, config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    data = config.get("data", {})
    model = config.get("model", {})
    column = data.get("column", {})
    return {
        "tagger": {
            "tags": model.get("num_tags"),
            "scheme": data.get("scheme") or "none (plain tags)",
            "column": column.get("field") or column.get("index"),
            "output": "CRF" if model.get("crf") else "softmax",
            "char features": model.get("char_encoder") if model.get("char_vocab_size") else "no",
            "words": model.get("vocab_size"),
        }
    }
