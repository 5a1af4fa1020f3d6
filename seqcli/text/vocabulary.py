"""Counted vocabularies: the shared half of the char and word tokenizers.

Both keep an explicit list of pieces chosen from corpus counts: the specials first, then
every piece seen at least ``min_count`` times, most frequent first with ties in code-point
order, cut to ``max_vocab`` entries in all. Pieces outside the list become ``<unk>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from seqcli.errors import SeqcliError
from seqcli.text.tokenizer import (
    BOS_ID,
    CONFIG_FILE,
    EOS_ID,
    PAD_ID,
    SPECIAL_TOKENS,
    UNK_ID,
    Tokenizer,
    config_value,
    empty_corpus_error,
)

__all__ = ["VocabularyTokenizer", "select_vocabulary"]

_SKIPPED_IN_DECODE = frozenset((PAD_ID, BOS_ID, EOS_ID))


def select_vocabulary(
    counts: Mapping[str, int], *, min_count: int = 1, max_vocab: int | None = None
) -> list[str]:
    """Specials, then pieces by descending count and ascending code point.

    >>> select_vocabulary({"b": 2, "a": 2, "c": 5, "d": 1}, min_count=2, max_vocab=6)
    ['<pad>', '<unk>', '<bos>', '<eos>', 'c', 'a']
    """
    kept = sorted(
        (item for item in counts.items() if item[1] >= min_count and item[0] not in SPECIAL_TOKENS),
        key=lambda item: (-item[1], item[0]),
    )
    if max_vocab is not None:
        kept = kept[: max_vocab - len(SPECIAL_TOKENS)]
    return [*SPECIAL_TOKENS, *(piece for piece, _ in kept)]


class VocabularyTokenizer(Tokenizer):
    """A tokenizer over an explicit list of pieces; subclasses say what a piece is."""

    def __init__(self, vocab: Sequence[str], *, min_count: int = 1, max_vocab: int | None = None) -> None:
        if not all(isinstance(piece, str) for piece in vocab):
            raise TypeError("every piece of a vocabulary must be a string")
        if tuple(vocab[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError(f"a vocabulary must start with {SPECIAL_TOKENS}")
        if len(set(vocab)) != len(vocab):
            raise ValueError("a vocabulary must not repeat a piece")
        self.min_count = min_count
        self.max_vocab = max_vocab
        self._pieces = list(vocab)
        self._ids = {piece: token_id for token_id, piece in enumerate(self._pieces)}

    @classmethod
    def from_counts(
        cls,
        counts: Mapping[str, int],
        files: Sequence[Path],
        *,
        min_count: int,
        max_vocab: int | None,
    ) -> VocabularyTokenizer:
        """The tokenizer for corpus ``counts``; SeqcliError if nothing would be kept."""
        vocab = select_vocabulary(counts, min_count=min_count, max_vocab=max_vocab)
        if len(vocab) > len(SPECIAL_TOKENS):
            return cls(vocab, min_count=min_count, max_vocab=max_vocab)
        if any(piece not in SPECIAL_TOKENS for piece in counts):
            raise SeqcliError(
                f"no {cls.kind} occurs at least {min_count} times in the corpus; lower --min-count"
            )
        raise empty_corpus_error(files)

    @classmethod
    def from_saved(cls, config: dict[str, Any], directory: Path) -> VocabularyTokenizer:
        vocab = config_value(config, "vocab", list, directory)
        min_count = config_value(config, "min_count", int, directory)
        max_vocab = config.get("max_vocab")
        try:
            return cls(vocab, min_count=min_count, max_vocab=max_vocab)
        except (ValueError, TypeError) as err:
            raise SeqcliError(f"{directory / CONFIG_FILE}: bad vocabulary ({err})") from None

    @property
    def vocab_size(self) -> int:
        return len(self._pieces)

    def id_to_piece(self, token_id: int) -> str:
        # Checked, because a negative index would quietly wrap around the list.
        if not 0 <= token_id < len(self._pieces):
            raise IndexError(f"token id {token_id} is outside the vocabulary of {self.vocab_size}")
        return self._pieces[token_id]

    def piece_to_id(self, piece: str) -> int:
        return self._ids.get(piece, UNK_ID)

    def decoded_pieces(self, ids: Iterable[int]) -> Iterator[str]:
        """Pieces of ``ids`` without pad, bos and eos; the piece of UNK_ID is ``<unk>``."""
        return (self.id_to_piece(int(i)) for i in ids if i not in _SKIPPED_IN_DECODE)

    def serialize(self) -> dict[str, bytes]:
        settings = {"min_count": self.min_count, "max_vocab": self.max_vocab}
        return {CONFIG_FILE: self.config_bytes({**settings, "vocab": self._pieces})}
