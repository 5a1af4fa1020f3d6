"""CoNLL-U treebank files (Universal Dependencies), streamed as tagged sentences.

Each word line has ten tab-separated fields — ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL
DEPS MISC — and a blank line ends a sentence (https://universaldependencies.org/format.html).
``#`` lines are comments. Multiword-token ranges (``1-2 don't``) and empty nodes (``8.1``)
are skipped: the syntactic words they stand for are on lines of their own, and those are
what UPOS and XPOS tag.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from seqcli.data.conll import TaggedSentence
from seqcli.data.corpus import iter_lines
from seqcli.errors import SeqcliError

__all__ = ["CONLLU_FIELDS", "TAG_FIELDS", "read_conllu"]

CONLLU_FIELDS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")
TAG_FIELDS = ("upos", "xpos")
_WORD_ID = re.compile(r"[0-9]+")
_SKIPPED_ID = re.compile(r"[0-9]+-[0-9]+|[0-9]+\.[0-9]+")


def read_conllu(
    path: Path, *, field: str = "upos", encoding_errors: str = "strict"
) -> Iterator[TaggedSentence]:
    """Sentences of a CoNLL-U file: word forms and their ``field`` (``upos`` or ``xpos``).

    A sentence's ``line`` is the first line of its block, comments included (where its
    ``# sent_id`` is).
    """
    if field not in TAG_FIELDS:
        raise SeqcliError(f"CoNLL-U tag field must be one of {', '.join(TAG_FIELDS)}, not {field!r}")
    return _sentences(path, CONLLU_FIELDS.index(field), encoding_errors)


def _is_word(fields: list[str], path: Path, lineno: int) -> bool:
    """Whether a line is a syntactic word (not a multiword range or an empty node)."""
    if len(fields) != len(CONLLU_FIELDS):
        raise SeqcliError(
            f"{path}:{lineno}: expected {len(CONLLU_FIELDS)} tab-separated fields, found {len(fields)}"
        )
    if _WORD_ID.fullmatch(fields[0]):
        return True
    if _SKIPPED_ID.fullmatch(fields[0]):
        return False
    raise SeqcliError(
        f"{path}:{lineno}: ID {fields[0]!r} is not an integer, a range like 1-2 or an empty node like 1.1"
    )


def _sentences(path: Path, index: int, encoding_errors: str) -> Iterator[TaggedSentence]:
    forms: list[str] = []
    tags: list[str] = []
    first_line = 0
    for lineno, line in enumerate(iter_lines(path, encoding_errors=encoding_errors), start=1):
        if not line.strip():
            if forms:
                yield TaggedSentence(tuple(forms), tuple(tags), first_line)
            elif first_line:
                raise SeqcliError(f"{path}:{first_line}: a sentence with no words (only comments or ranges)")
            forms, tags, first_line = [], [], 0
            continue
        first_line = first_line or lineno
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if _is_word(fields, path, lineno):
            forms.append(fields[1])
            tags.append(fields[index])
    if forms:
        yield TaggedSentence(tuple(forms), tuple(tags), first_line)
    elif first_line:
        raise SeqcliError(f"{path}:{first_line}: a sentence with no words (only comments or ranges)")
