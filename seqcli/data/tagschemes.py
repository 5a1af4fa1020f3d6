"""Chunk tag schemes IOB1, IOB2 and BIOES: tags to spans and back.

A chunk (a named entity, a phrase) is a span ``(type, start, end)`` with ``end`` exclusive.
IOB1 (Ramshaw & Marcus 1995) marks a chunk's first token ``B-`` only when it directly
follows a chunk of the same type; IOB2 (Tjong Kim Sang & Veenstra 1999) marks every first
token ``B-``; BIOES adds ``E-`` for the last token and ``S-`` for a single-token chunk.

Ill-formed sequences are read as conlleval (the CoNLL shared-task scorer) reads them, so
the spans here are the ones entity F1 is computed on: an ``I-`` after ``O`` or after a
chunk of another type starts a new chunk, and an ``E-`` or ``I-`` after a closed chunk
(``E-``/``S-``) starts one too.
"""

from __future__ import annotations

from collections.abc import Sequence

from seqcli.errors import SeqcliError

__all__ = ["TAG_SCHEMES", "Span", "convert", "to_spans"]

TAG_SCHEMES = ("iob1", "iob2", "bioes")
_PREFIXES = {"iob1": ("B", "I"), "iob2": ("B", "I"), "bioes": ("B", "I", "E", "S")}
_OUTSIDE = "O"

Span = tuple[str, int, int]


def _check_scheme(scheme: str) -> None:
    if scheme not in TAG_SCHEMES:
        raise SeqcliError(f"unknown tag scheme {scheme!r}; expected one of {', '.join(TAG_SCHEMES)}")


def _parse(tag: str, scheme: str, position: int) -> tuple[str, str]:
    """``(prefix, type)`` of one tag; ``("O", "")`` outside any chunk."""
    if tag == _OUTSIDE:
        return _OUTSIDE, ""
    prefix, _, kind = tag.partition("-")
    if prefix not in _PREFIXES[scheme] or not kind:
        allowed = ", ".join(f"{p}-TYPE" for p in _PREFIXES[scheme])
        raise SeqcliError(
            f"tag {tag!r} at position {position} is not valid in {scheme}: expected O, {allowed}"
        )
    return prefix, kind


def to_spans(tags: Sequence[str], scheme: str) -> list[Span]:
    """The chunks in ``tags`` as ``(type, start, end)`` with ``end`` exclusive, in order.

    >>> to_spans(["B-PER", "I-PER", "O", "B-LOC"], "iob2")
    [('PER', 0, 2), ('LOC', 3, 4)]
    >>> to_spans(["I-PER", "B-PER", "O", "I-LOC"], "iob1")
    [('PER', 0, 1), ('PER', 1, 2), ('LOC', 3, 4)]
    >>> to_spans(["O", "I-PER", "I-PER"], "iob2")  # ill-formed: conlleval starts a chunk
    [('PER', 1, 3)]
    >>> to_spans(["B-ORG", "E-ORG", "S-LOC", "E-LOC"], "bioes")
    [('ORG', 0, 2), ('LOC', 2, 3), ('LOC', 3, 4)]
    """
    _check_scheme(scheme)
    spans: list[Span] = []
    open_start: int | None = None
    open_type = ""
    for position, tag in enumerate(tags):
        prefix, kind = _parse(tag, scheme, position)
        continues = open_start is not None and prefix in ("I", "E") and kind == open_type
        if not continues:
            if open_start is not None:
                spans.append((open_type, open_start, position))
            open_start, open_type = (None, "") if prefix == _OUTSIDE else (position, kind)
        if prefix in ("E", "S"):
            spans.append((open_type, open_start, position + 1))
            open_start = None
    if open_start is not None:
        spans.append((open_type, open_start, len(tags)))
    return spans


def _render(spans: list[Span], length: int, scheme: str) -> list[str]:
    """Tags in ``scheme`` for well-ordered, non-overlapping ``spans`` over ``length`` tokens."""
    tags = [_OUTSIDE] * length
    previous_end, previous_type = -1, ""
    for kind, start, end in spans:
        tags[start:end] = [f"I-{kind}"] * (end - start)
        if scheme == "bioes":
            if end - start == 1:
                tags[start] = f"S-{kind}"
            else:
                tags[start], tags[end - 1] = f"B-{kind}", f"E-{kind}"
        elif scheme == "iob2" or (start == previous_end and kind == previous_type):
            tags[start] = f"B-{kind}"
        previous_end, previous_type = end, kind
    return tags


def convert(tags: Sequence[str], source: str, target: str) -> list[str]:
    """``tags`` rewritten from the ``source`` scheme into the ``target`` scheme.

    The chunks are kept, so ill-formed input comes out well formed (as conlleval reads it).

    >>> convert(["I-PER", "B-PER", "O", "I-LOC"], "iob1", "bioes")
    ['S-PER', 'S-PER', 'O', 'S-LOC']
    >>> convert(["B-ORG", "I-ORG", "E-ORG", "S-ORG"], "bioes", "iob1")
    ['I-ORG', 'I-ORG', 'I-ORG', 'B-ORG']
    >>> convert(["O", "I-MISC", "I-MISC"], "iob2", "iob2")
    ['O', 'B-MISC', 'I-MISC']
    """
    _check_scheme(target)
    return _render(to_spans(tags, source), len(tags), target)
