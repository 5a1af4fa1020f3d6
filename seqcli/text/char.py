"""Character tokenizer: one token per Unicode code point, for running text.

The newline is an ordinary character, so a char language model learns line structure
itself. Counting and encoding go through numpy arrays of code points, because a character
stream is as long as the corpus (a gigabyte of text is a billion ids).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from seqcli.data.corpus import iter_text_chunks
from seqcli.text.tokenizer import SPECIAL_TOKENS, UNK_ID
from seqcli.text.vocabulary import VocabularyTokenizer

__all__ = ["SPACE_MARK", "CharTokenizer", "code_points"]

_CODE_POINTS = 0x110000
# How format_pieces shows a space: sentencepiece's visible space, so char and subword pieces
# read alike. Every real piece is one character, so a longer field is always an escape.
SPACE_MARK = "\u2581"
_ESCAPE = re.compile(r"<U\+([0-9A-F]{4,6})>")


def code_points(text: str) -> np.ndarray:
    """Code points of ``text``: uint32, shape (len(text),).

    >>> code_points("a\\né").tolist()
    [97, 10, 233]
    """
    # UTF-32 is one fixed-width unit per character, so the bytes are the code points;
    # surrogatepass lets a lone surrogate through instead of failing the whole chunk.
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


class CharTokenizer(VocabularyTokenizer):
    """Characters seen in training get ids; any other character is ``<unk>``."""

    kind = "char"
    line_based = False

    def __init__(self, vocab: Sequence[str], *, min_count: int = 1, max_vocab: int | None = None) -> None:
        super().__init__(vocab, min_count=min_count, max_vocab=max_vocab)
        characters = self._pieces[len(SPECIAL_TOKENS) :]
        if any(len(piece) != 1 for piece in characters):
            raise ValueError("every piece of a char vocabulary must be a single character")
        known = np.array([ord(piece) for piece in characters], dtype=np.int64)
        # Lookup table indexed by code point. It stops one past the largest known code
        # point; encode clips larger code points onto that last entry, which is <unk>.
        self._table = np.full(int(known.max(initial=0)) + 2, UNK_ID, dtype=np.int64)
        self._table[known] = np.arange(len(SPECIAL_TOKENS), len(self._pieces))

    @classmethod
    def train(
        cls,
        files: Sequence[Path],
        *,
        min_count: int = 1,
        max_vocab: int | None = None,
        encoding_errors: str = "strict",
    ) -> CharTokenizer:
        counts = _count_characters(files, encoding_errors)
        return cls.from_counts(counts, files, min_count=min_count, max_vocab=max_vocab)

    def encode(self, text: str) -> list[int]:
        return self.encode_stream(text).tolist()

    def encode_stream(self, text: str) -> np.ndarray:
        """Every character of ``text``, newlines included: int64, shape (len(text),)."""
        codes = code_points(text)
        return self._table[np.minimum(codes, len(self._table) - 1)]

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.decoded_pieces(ids))

    def format_pieces(self, text: str) -> str:
        """Pieces separated by spaces; a space shows as ``▁``, other whitespace, invisible
        characters and a literal ``▁`` as ``<U+XXXX>``, so :meth:`parse_pieces` is exact.

        >>> CharTokenizer(["<pad>", "<unk>", "<bos>", "<eos>", "a", " ", "\\t"]).format_pieces(" a\\tb")
        '▁ a <U+0009> <unk>'
        """
        return " ".join(map(_show_piece, self.pieces(text)))

    def parse_pieces(self, line: str) -> list[int]:
        return [self.piece_to_id(_read_piece(field)) for field in line.split()]


def _show_piece(piece: str) -> str:
    if piece == " ":
        return SPACE_MARK
    if len(piece) == 1 and (piece.isspace() or piece == SPACE_MARK or not piece.isprintable()):
        return f"<U+{ord(piece):04X}>"
    return piece


def _read_piece(field: str) -> str:
    if field == SPACE_MARK:
        return " "
    match = _ESCAPE.fullmatch(field)
    return chr(int(match.group(1), 16)) if match and int(match.group(1), 16) < _CODE_POINTS else field


def _count_characters(files: Sequence[Path], encoding_errors: str) -> dict[str, int]:
    """How often each character occurs in ``files``, read chunk by chunk."""
    counts = np.zeros(_CODE_POINTS, dtype=np.int64)
    for path in files:
        for chunk in iter_text_chunks(path, encoding_errors=encoding_errors):
            counts += np.bincount(code_points(chunk), minlength=_CODE_POINTS)
    return {chr(code): int(counts[code]) for code in np.flatnonzero(counts)}
