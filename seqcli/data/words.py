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

    With ``case_fallback`` an item not in the vocabulary takes the id of the first item
    (the most frequent, in a vocabulary from counts) that equals it when both are
    lower-cased, before falling back to ``<unk>``: a test-time ``GRANOLLERS`` or ``Thanks``
    reads as the ``Granollers`` or ``thanks`` seen in training. Items that are in the
    vocabulary keep their own id, so a training set whose every word is in the vocabulary
    is encoded the same either way.

    >>> words = WordVocabulary.from_counts(Counter("the cat the dog".split()), min_count=1)
    >>> words.items, words.encode(["the", "dog", "emu", "Dog"])
    (('the', 'cat', 'dog'), [2, 4, 1, 1])
    >>> WordVocabulary(words.items, case_fallback=True).encode(["Dog", "DOG", "emu"])
    [4, 4, 1]
    """

    def __init__(self, items: Sequence[str], *, case_fallback: bool = False) -> None:
        self.items = tuple(items)
        self.case_fallback = case_fallback
        self._ids = {item: i + len(SPECIALS) for i, item in enumerate(self.items)}
        self._folded: dict[str, int] = {}
        if case_fallback:
            for item, id_ in self._ids.items():
                self._folded.setdefault(item.lower(), id_)

    @classmethod
    def from_counts(
        cls,
        counts: Counter[str],
        *,
        min_count: int = 1,
        extra: Sequence[str] = (),
        case_fallback: bool = False,
    ) -> WordVocabulary:
        """Items seen ``min_count`` times, most frequent first (ties in code-point order),
        then ``extra`` ones not already in (e.g. the words of pre-trained vectors)."""
        kept = sorted((item for item, n in counts.items() if n >= min_count), key=lambda i: (-counts[i], i))
        seen = set(kept)
        extra = [item for item in extra if item not in seen and not seen.add(item)]
        return cls(kept + extra, case_fallback=case_fallback)

    def __len__(self) -> int:
        """Number of ids, the two specials included."""
        return len(self.items) + len(SPECIALS)

    def __contains__(self, item: str) -> bool:
        return item in self._ids

    def id(self, item: str) -> int:
        found = self._ids.get(item)
        if found is None:
            return self._folded.get(item.lower(), UNK_ID) if self._folded else UNK_ID
        return found

    def encode(self, items: Sequence[str]) -> list[int]:
        if not self._folded:
            return [self._ids.get(item, UNK_ID) for item in items]
        return [self.id(item) for item in items]
