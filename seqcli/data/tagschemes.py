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

__all__ = [
    "TAG_SCHEMES",
    "Span",
    "allowed_transitions",
    "convert",
    "detect_scheme",
    "is_chunk_tag",
    "to_spans",
]

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


def is_chunk_tag(tag: str) -> bool:
    """Whether ``tag`` looks like a chunk tag of some scheme: ``O`` or ``B-/I-/E-/S-TYPE``.

    >>> [is_chunk_tag(t) for t in ("O", "B-PER", "S-LOC", "NOUN", "-LRB-", "B-")]
    [True, True, True, False, False, False]
    """
    if tag == _OUTSIDE:
        return True
    prefix, _, kind = tag.partition("-")
    return prefix in _PREFIXES["bioes"] and bool(kind)


def _breaks(tags: Sequence[str], scheme: str) -> int:
    """How many tags of ``tags`` a repair into ``scheme`` rewrites (0: well formed)."""
    return sum(a != b for a, b in zip(tags, convert(tags, scheme, scheme), strict=True))


def detect_scheme(sentences: Sequence[Sequence[str]]) -> str | None:
    """The chunk scheme the tag sequences are written in, or None for plain tags (POS).

    Chunk-shaped tags with an ``E-`` or ``S-`` are BIOES; otherwise IOB1 or IOB2, whichever
    reads the data with fewer ill-formed tags (IOB2 on a tie): IOB2 data is full of ``B-``
    after ``O``, which IOB1 forbids, and IOB1 data of ``I-`` after ``O``, which IOB2 forbids.

    >>> detect_scheme([["B-PER", "I-PER", "O"], ["B-LOC"]]), detect_scheme([["I-PER", "O"]])
    ('iob2', 'iob1')
    >>> detect_scheme([["S-PER", "O"]]), detect_scheme([["NOUN", "VERB"]]), detect_scheme([["O"]])
    ('bioes', None, None)
    """
    flat = [tag for tags in sentences for tag in tags]
    if not all(is_chunk_tag(tag) for tag in flat) or all(tag == _OUTSIDE for tag in flat):
        return None
    if any(tag[0] in "ES" for tag in flat if tag != _OUTSIDE):
        return "bioes"
    iob1 = sum(_breaks(tags, "iob1") for tags in sentences)
    iob2 = sum(_breaks(tags, "iob2") for tags in sentences)
    return "iob1" if iob1 < iob2 else "iob2"


def _may_follow(previous: str, tag: str, scheme: str) -> bool:
    """Whether ``tag`` may directly follow ``previous`` (``""`` = sentence start) in ``scheme``."""
    prev_prefix, prev_kind = ("O", "") if previous in ("", _OUTSIDE) else previous.split("-", 1)
    prefix, kind = ("O", "") if tag == _OUTSIDE else tag.split("-", 1)
    inside = prev_prefix in ("B", "I") and prev_kind == kind  # an open chunk of this type
    if scheme == "iob1":
        return prefix != "B" or inside
    if scheme == "iob2":
        return prefix != "I" or inside
    if prev_prefix in ("B", "I"):  # bioes: an open chunk must go on or end with its type
        return prefix in ("I", "E") and kind == prev_kind
    return prefix in ("O", "B", "S")


def allowed_transitions(
    tags: Sequence[str], scheme: str | None
) -> tuple[list[bool], list[list[bool]], list[bool]]:
    """Which tags may start a sentence, follow each tag, and end a sentence in ``scheme``.

    Returns ``(start, transitions, end)`` with ``transitions[i][j]`` true when ``tags[j]``
    may follow ``tags[i]``; everything is allowed for plain tags (``scheme`` None). A
    decoder that never takes a forbidden step only produces well-formed sequences.

    >>> start, follow, end = allowed_transitions(["O", "B-PER", "I-PER"], "iob2")
    >>> start, follow[0], end
    ([True, True, False], [True, True, False], [True, True, True])
    >>> allowed_transitions(["O", "B-PER", "I-PER", "E-PER", "S-PER"], "bioes")[2]
    [True, False, False, True, True]
    """
    size = len(tags)
    if scheme is None:
        return [True] * size, [[True] * size for _ in range(size)], [True] * size
    _check_scheme(scheme)
    for position, tag in enumerate(tags):
        _parse(tag, scheme, position)
    start = [_may_follow("", tag, scheme) for tag in tags]
    follow = [[_may_follow(previous, tag, scheme) for tag in tags] for previous in tags]
    # Only BIOES forbids an end: a B- or I- must be closed by its E-.
    end = [scheme != "bioes" or tag == _OUTSIDE or tag[0] in "ES" for tag in tags]
    return start, follow, end
