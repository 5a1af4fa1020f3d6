"""Word tokenizer: whitespace-separated words, one sentence per line.

The classic closed-vocabulary setup of word language models (Penn Treebank, WikiText):
rare words fold into ``<unk>``. A literal ``<unk>`` in the text, as Penn Treebank writes
its rare words, is the special token itself, not a word of its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from seqcli.data.corpus import iter_text_chunks
from seqcli.text.tokenizer import CONFIG_FILE, UNK_ID
from seqcli.text.vocabulary import VocabularyTokenizer

__all__ = ["WordTokenizer"]


class WordTokenizer(VocabularyTokenizer):
    """Words kept in training get ids; any other word is ``<unk>``."""

    kind = "word"
    line_based = True
    # Word vectors are usually trained on lowercased text; set by train_embeddings, saved
    # in tokenizer.json only when on, so existing tokenizers keep their fingerprints.
    lowercase = False

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

    @classmethod
    def from_saved(cls, config: dict[str, Any], directory: Path) -> WordTokenizer:
        tokenizer = super().from_saved(config, directory)
        tokenizer.lowercase = config.get("lowercase") is True
        return tokenizer

    def encode(self, text: str) -> list[int]:
        if self.lowercase:
            text = text.lower()
        return [self._ids.get(word, UNK_ID) for word in text.split()]

    def serialize(self) -> dict[str, bytes]:
        if not self.lowercase:
            return super().serialize()
        settings = {"min_count": self.min_count, "max_vocab": self.max_vocab, "lowercase": True}
        return {CONFIG_FILE: self.config_bytes({**settings, "vocab": self._pieces})}

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join(self.decoded_pieces(ids))
