"""Entity (chunk) precision, recall and F1 with conlleval's counting, and tag accuracy.

A predicted chunk counts as correct only when a gold chunk has the same type, start and
end. Chunks are read from the tags as the CoNLL shared-task scorer ``conlleval`` reads them
(:func:`seqcli.data.tagschemes.to_spans`, ill-formed sequences included), so the figures
match conlleval's: ``precision = correct / predicted``, ``recall = correct / gold``,
``F1 = 2PR / (P + R)`` (0 when there is nothing to divide), and ``accuracy`` = the share of
words whose tag is right, ``O`` included.

>>> scores = span_scores([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-ORG"]], "iob2")
>>> round(scores.precision, 3), round(scores.recall, 3), round(scores.f1, 3), scores.accuracy
(0.5, 0.5, 0.5, 0.75)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from seqcli.data.tagschemes import to_spans

__all__ = ["SpanScores", "TypeScores", "span_scores"]


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


@dataclass(frozen=True)
class TypeScores:
    """Counts of one chunk type (or of all): correct, predicted and gold chunks."""

    correct: int
    predicted: int
    gold: int

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        return _f1(self.precision, self.recall)


@dataclass(frozen=True)
class SpanScores(TypeScores):
    """Overall counts, word accuracy, and the counts per chunk type (sorted by type)."""

    correct_tags: int = 0
    tags: int = 0
    per_type: dict[str, TypeScores] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return self.correct_tags / self.tags if self.tags else 0.0


def span_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], scheme: str) -> SpanScores:
    """Chunk scores of ``predicted`` against ``gold`` tag sequences (sentence by sentence).

    Raises ValueError when the two disagree on the number of sentences or a sentence's length.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted")
    correct: Counter[str] = Counter()
    found: Counter[str] = Counter()
    expected: Counter[str] = Counter()
    correct_tags = total_tags = 0
    for index, (gold_tags, predicted_tags) in enumerate(zip(gold, predicted, strict=True)):
        if len(gold_tags) != len(predicted_tags):
            raise ValueError(
                f"sentence {index}: {len(gold_tags)} gold tags but {len(predicted_tags)} predicted"
            )
        gold_spans = set(to_spans(gold_tags, scheme))
        predicted_spans = set(to_spans(predicted_tags, scheme))
        expected.update(kind for kind, _, _ in gold_spans)
        found.update(kind for kind, _, _ in predicted_spans)
        correct.update(kind for kind, _, _ in gold_spans & predicted_spans)
        correct_tags += sum(g == p for g, p in zip(gold_tags, predicted_tags, strict=True))
        total_tags += len(gold_tags)
    per_type = {
        kind: TypeScores(correct[kind], found[kind], expected[kind]) for kind in sorted(found | expected)
    }
    return SpanScores(
        sum(correct.values()),
        sum(found.values()),
        sum(expected.values()),
        correct_tags=correct_tags,
        tags=total_tags,
        per_type=per_type,
    )
