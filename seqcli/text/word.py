"""Word tokenizer: whitespace-separated words, one sentence per line.

The classic closed-vocabulary setup of word language models (Penn Treebank, WikiText):
rare words fold into ``<unk>``. A literal ``<unk>`` in the text, as Penn Treebank writes
its rare words, is the special token itself, not a word of its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from seqcli.data.corpus import iter_text_chunks
from seqcli.text.tokenizer import UNK_ID
from seqcli.text.vocabulary import VocabularyTokenizer

__all__ = ["WordTokenizer"]


class WordTokenizer(VocabularyTokenizer):
    """Words kept in training get ids; any other word is ``<unk>``."""

    kind = "word"
    line_based = True

    @classmethod
    def train(
        cls,
        files: Sequence[Path],
        *,
        min_count: int = 1,
        max_vocab: int | None = None,
        encoding_errors: str = "strict",
    ) -> WordTokenizer:
        counts: Counter[str] = Counter()
        for path in files:
            for chunk in iter_text_chunks(path, encoding_errors=encoding_errors):
                # Chunks end on line boundaries, so no word is split between two of them.
                counts.update(chunk.split())
        return cls.from_counts(counts, files, min_count=min_count, max_vocab=max_vocab)

    def encode(self, text: str) -> list[int]:
        return [self._ids.get(word, UNK_ID) for word in text.split()]

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join(self.decoded_pieces(ids))
