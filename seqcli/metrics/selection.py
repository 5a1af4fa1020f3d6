"""Selection metrics: the validation figure that picks the best checkpoint, and its direction.

Language models select on validation loss (lower is better), taggers on F1 and
classifiers on accuracy (higher), translators on BLEU (higher), speech on WER (lower).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["MODES", "Metric"]

MODES = ("min", "max")


@dataclass(frozen=True)
class Metric:
    """A validation figure that selects the best checkpoint, and which way is better.

    >>> Metric("f1", "max").better(0.9, 0.8), Metric("wer", "min").better(0.2, 0.1)
    (True, False)
    >>> Metric("loss", "min").better(3.0, None)
    True
    """

    name: str
    mode: str = "min"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"metric mode must be 'min' or 'max', got {self.mode!r}")

    def better(self, new: float, best: float | None) -> bool:
        """Whether ``new`` improves on ``best`` (None: nothing yet). NaN never improves."""
        if math.isnan(new):
            return False
        if best is None:
            return True
        return new < best if self.mode == "min" else new > best

    @property
    def worst(self) -> float:
        """The value every real score improves on."""
        return math.inf if self.mode == "min" else -math.inf
