"""The tagger's data: tagged files in, checked tag sequences and vocabularies out.

Training and evaluation read CoNLL (``--column`` an index, the last by default) or CoNLL-U
(``--column upos|xpos``; a ``.conllu`` file defaults to ``upos``). The tag scheme is
declared (``--scheme iob1|iob2|bioes|none``) or detected (``auto``): chunk-shaped tags are
IOB1, IOB2 or BIOES (:func:`seqcli.data.tagschemes.detect_scheme`), anything else (part of
speech) is plain. Chunk tags that break the scheme are repaired as conlleval reads them,
with a warning saying how many, or refused with ``strict``.

Chunk tags are learned in BIOES whatever the file's scheme (Ratinov & Roth 2009; Lample
et al. 2016 found it slightly better than IOB), and written back in the file's scheme.

The word vocabulary comes from the training tokens' counts (the tokens are given; nothing
is re-tokenised; :class:`~seqcli.data.words.WordVocabulary`); the characters likewise.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqcli.data.conll import TaggedSentence, read_conll
from seqcli.data.conllu import TAG_FIELDS, read_conllu
from seqcli.data.tagschemes import TAG_SCHEMES, convert, detect_scheme
from seqcli.data.words import WordVocabulary
from seqcli.errors import SeqcliError

__all__ = [
    "LEARNED_SCHEME",
    "SCHEME_CHOICES",
    "EncodedSentences",
    "TagColumn",
    "check_scheme",
    "hold_out",
    "hold_out_for_selection",
    "read_tagged",
]

SCHEME_CHOICES = ("auto", *TAG_SCHEMES, "none")
LEARNED_SCHEME = "bioes"
MAX_WORD_CHARS = 40  # characters spelled per word; longer tokens (URLs) are cut
HELD_OUT = 0.1  # share of the training file held out for selection without --valid


@dataclass(frozen=True)
class TagColumn:
    """Where the tags are: a CoNLL column index, or a CoNLL-U field (``upos``, ``xpos``)."""

    index: int = -1
    field: str | None = None

    @classmethod
    def parse(cls, spec: str | None, path: Path) -> TagColumn:
        """``--column`` as typed (None: the default for ``path``'s format)."""
        if spec is None:
            return cls(field="upos") if path.suffix == ".conllu" else cls()
        if spec.lower() in TAG_FIELDS:
            return cls(field=spec.lower())
        try:
            return cls(index=int(spec))
        except ValueError:
            raise SeqcliError(
                f"--column {spec!r}: expected a CoNLL column index or a CoNLL-U field "
                f"({', '.join(TAG_FIELDS)})"
            ) from None

    @property
    def conllu(self) -> bool:
        return self.field is not None

    def describe(self) -> str:
        return self.field if self.field is not None else str(self.index)


def read_tagged(path: Path, column: TagColumn, *, encoding_errors: str = "strict") -> list[TaggedSentence]:
    """Every sentence of a CoNLL or CoNLL-U file; SeqcliError (file:line) for bad input."""
    if column.conllu:
        sentences = list(read_conllu(path, field=column.field, encoding_errors=encoding_errors))
    else:
        sentences = list(read_conll(path, column=column.index, encoding_errors=encoding_errors))
    if not sentences:
        raise SeqcliError(f"{path}: no sentences (an empty file, or only blank lines)")
    return sentences


def _resolve_scheme(declared: str, sentences: Sequence[TaggedSentence]) -> str | None:
    if declared not in SCHEME_CHOICES:
        raise SeqcliError(f"--scheme must be one of {', '.join(SCHEME_CHOICES)}, got {declared!r}")
    if declared == "none":
        return None
    if declared == "auto":
        return detect_scheme([s.tags for s in sentences])
    return declared


def check_scheme(
    sentences: Sequence[TaggedSentence],
    declared: str | None,
    *,
    path: Path,
    strict: bool = False,
    warn: Callable[[str], None],
) -> tuple[str | None, list[TaggedSentence]]:
    """The scheme (None: plain tags) and the sentences with ill-formed chunks repaired.

    ``declared`` is a :data:`SCHEME_CHOICES` value, or an already-known scheme (None for
    plain tags) for data read after training. Tags not of the scheme's shape (``NOUN`` in
    IOB2) are a SeqcliError naming the sentence's line; ill-formed sequences are repaired
    with one warning, or refused with ``strict``.
    """
    scheme = _resolve_scheme(declared, sentences) if declared is not None else None
    if scheme is None:
        return None, list(sentences)
    repaired, changed, broken = [], 0, 0
    for sentence in sentences:
        try:
            fixed = tuple(convert(sentence.tags, scheme, scheme))
        except SeqcliError as err:
            raise SeqcliError(f"{path}:{sentence.line}: {err}") from None
        differences = sum(a != b for a, b in zip(fixed, sentence.tags, strict=True))
        if differences and strict:
            raise SeqcliError(
                f"{path}:{sentence.line}: tags {' '.join(sentence.tags)} break the {scheme} scheme "
                "(--strict refuses them; without it they are repaired as conlleval reads them)"
            )
        changed += differences
        broken += bool(differences)
        repaired.append(TaggedSentence(sentence.tokens, fixed, sentence.line))
    if changed:
        warn(
            f"{path}: repaired {changed} tags in {broken} sentences that break the {scheme} scheme "
            "(read as conlleval reads them)"
        )
    return scheme, repaired


def to_learned(tags: Sequence[str], scheme: str | None) -> list[str]:
    """Tags as the model learns them: BIOES for a chunk scheme, unchanged otherwise."""
    return list(tags) if scheme is None else convert(tags, scheme, LEARNED_SCHEME)


def from_learned(tags: Sequence[str], scheme: str | None) -> list[str]:
    """The model's tags back in the data's own scheme."""
    return list(tags) if scheme is None else convert(tags, LEARNED_SCHEME, scheme)


def hold_out(items: Sequence, seed: int) -> tuple[list, list]:
    """A fixed, seeded 10% of ``items`` for selection, and the rest for training (in order)."""
    if len(items) < 2:
        raise SeqcliError(
            f"need at least 2 examples to hold out 10% for validation, got {len(items)}; pass --valid"
        )
    count = max(1, round(HELD_OUT * len(items)))
    chosen = set(random.Random(seed).sample(range(len(items)), count))
    kept = [item for i, item in enumerate(items) if i not in chosen]
    return kept, [item for i, item in enumerate(items) if i in chosen]


def hold_out_for_selection(
    items: Sequence, seed: int, source: Path, noun: str, warn: Callable[[str], None]
) -> tuple[list, list]:
    """:func:`hold_out`, saying so: what a train command does without ``--valid``."""
    kept, held = hold_out(items, seed)
    warn(f"no --valid: holding out a fixed, seeded 10% of {source} ({len(held)} {noun}) for model selection")
    return kept, held


@dataclass(frozen=True)
class EncodedSentences:
    """Sentences as arrays: word ids, spelling ids (rows of ``spellings``) and tag ids.

    ``spellings[k]`` holds the character ids of the k-th distinct word form, so a batch
    spells each distinct form once. ``tags`` is empty for untagged input.
    """

    words: list[np.ndarray]
    forms: list[np.ndarray]
    spellings: list[np.ndarray]
    tags: list[np.ndarray]

    @classmethod
    def build(
        cls,
        sentences: Sequence[Sequence[str]],
        words: WordVocabulary,
        chars: WordVocabulary | None,
        tags: Sequence[Sequence[int]] = (),
    ) -> EncodedSentences:
        form_ids: dict[str, int] = {}
        forms = [
            np.array([form_ids.setdefault(t, len(form_ids)) for t in s], dtype=np.int64) for s in sentences
        ]
        spellings = []
        if chars is not None:
            spellings = [
                np.array(chars.encode(list(form[:MAX_WORD_CHARS])), dtype=np.int64) for form in form_ids
            ]
        return cls(
            words=[np.array(words.encode(s), dtype=np.int64) for s in sentences],
            forms=forms,
            spellings=spellings,
            tags=[np.array(t, dtype=np.int64) for t in tags],
        )

    def __len__(self) -> int:
        return len(self.words)

    def lengths(self) -> np.ndarray:
        return np.array([len(w) for w in self.words], dtype=np.int64)
