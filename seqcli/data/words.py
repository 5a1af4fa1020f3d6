"""Word (or character) vocabularies counted from given tokens, with padding and unknown ids.

The tagger and classifier take their tokens as given (CoNLL columns, whitespace-split
text), so their vocabulary is counted from those tokens rather than trained as a
tokenizer: ``<pad>`` = 0, ``<unk>`` = 1, then the items, most frequent first. It is saved
as a :class:`~seqcli.data.labels.LabelVocabulary` of the items (the specials are implied).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

__all__ = ["PAD_ID", "SPECIALS", "UNK_ID", "WordVocabulary"]

PAD_ID, UNK_ID = 0, 1
SPECIALS = ("<pad>", "<unk>")


class WordVocabulary:
    """Strings to ids with ``<pad>`` = 0 and ``<unk>`` = 1; the rest in the given order.

    >>> words = WordVocabulary.from_counts(Counter("the cat the dog".split()), min_count=1)
    >>> words.items, words.encode(["the", "dog", "emu"])
    (('the', 'cat', 'dog'), [2, 4, 1])
    """

    def __init__(self, items: Sequence[str]) -> None:
        self.items = tuple(items)
        self._ids = {item: i + len(SPECIALS) for i, item in enumerate(self.items)}

    @classmethod
    def from_counts(
        cls, counts: Counter[str], *, min_count: int = 1, extra: Sequence[str] = ()
    ) -> WordVocabulary:
        """Items seen ``min_count`` times, most frequent first (ties in code-point order),
        then ``extra`` ones not already in (e.g. the words of pre-trained vectors)."""
        kept = sorted((item for item, n in counts.items() if n >= min_count), key=lambda i: (-counts[i], i))
        seen = set(kept)
        return cls(kept + [item for item in extra if item not in seen and not seen.add(item)])

    def __len__(self) -> int:
        """Number of ids, the two specials included."""
        return len(self.items) + len(SPECIALS)

    def __contains__(self, item: str) -> bool:
        return item in self._ids

    def id(self, item: str) -> int:
        return self._ids.get(item, UNK_ID)

    def encode(self, items: Sequence[str]) -> list[int]:
        return [self._ids.get(item, UNK_ID) for item in items]
