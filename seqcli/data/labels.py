"""Label vocabularies: the tags of a tagger, the classes of a classifier.

Unlike a tokenizer's vocabulary there are no special tokens: label ``i`` is output ``i``.
Labels keep the order they were given in (sorted, for a vocabulary built from data), and the
vocabulary is saved in the run directory as ``NAME.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from seqcli.atomic import atomic_write_text
from seqcli.errors import SeqcliError

__all__ = ["LabelVocabulary"]


class LabelVocabulary:
    """A fixed list of labels and their indices.

    >>> labels = LabelVocabulary.from_labels(["pos", "neg", "pos"])
    >>> labels.labels, labels.encode(["pos", "neg"]), labels.decode([1])
    (('neg', 'pos'), [1, 0], ['pos'])
    """

    def __init__(self, labels: Sequence[str]) -> None:
        if len(set(labels)) != len(labels):
            raise ValueError("labels must be unique")
        self.labels = tuple(labels)
        self._index = {label: i for i, label in enumerate(self.labels)}

    @classmethod
    def from_labels(cls, labels: Iterable[str]) -> LabelVocabulary:
        """Every distinct label seen, sorted (so the same data gives the same indices)."""
        return cls(sorted(set(labels)))

    def __len__(self) -> int:
        return len(self.labels)

    def __contains__(self, label: str) -> bool:
        return label in self._index

    def index(self, label: str) -> int:
        try:
            return self._index[label]
        except KeyError:
            raise SeqcliError(f"label {label!r} was not seen in training") from None

    def encode(self, labels: Iterable[str]) -> list[int]:
        return [self.index(label) for label in labels]

    def decode(self, indices: Iterable[int]) -> list[str]:
        return [self.labels[i] for i in indices]

    def save(self, run_dir: Path, name: str = "labels") -> None:
        atomic_write_text(
            run_dir / f"{name}.json", json.dumps({"labels": list(self.labels)}, indent=1) + "\n"
        )

    @classmethod
    def load(cls, run_dir: Path, name: str = "labels") -> LabelVocabulary:
        path = run_dir / f"{name}.json"
        try:
            labels = json.loads(path.read_text(encoding="utf-8"))["labels"]
            if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
                raise TypeError("labels must be a list of strings")
            return cls(labels)
        except FileNotFoundError:
            raise SeqcliError(f"{path}: missing; is {run_dir} a complete checkpoint?") from None
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
            raise SeqcliError(f"{path}: unreadable label vocabulary ({err})") from None
