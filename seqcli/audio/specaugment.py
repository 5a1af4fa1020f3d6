"""SpecAugment's masks for training (Park et al. 2019, "SpecAugment: A Simple Data
Augmentation Method for Automatic Speech Recognition", section 2).

Frequency masking zeroes ``f`` consecutive bands ``[f0, f0 + f)`` with ``f`` uniform in
``[0, F]``; time masking zeroes ``t`` consecutive frames with ``t`` uniform in ``[0, T]``
and at most ``p`` of the utterance. Applied to normalised features, zero is the mean, so a
mask removes information without adding a loud artefact. Time warping (the paper's third
policy) is left out: the paper found it the least useful and the most costly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["SpecAugment"]


@dataclass(frozen=True)
class SpecAugment:
    """Mask counts and widths; ``SpecAugment()`` is a mild policy suited to small data."""

    freq_masks: int = 2
    freq_width: int = 15
    time_masks: int = 2
    time_width: int = 40
    max_time_fraction: float = 0.2

    def __call__(self, features: Tensor, generator: torch.Generator) -> Tensor:
        """``(T, M)`` features -> a masked copy, drawn from ``generator`` (on the CPU).

        >>> masked = SpecAugment(time_masks=0)(torch.ones(50, 80), torch.Generator().manual_seed(0))
        >>> bool((masked == 0).all(dim=0).any()), bool((masked == 0).all(dim=1).any())
        (True, False)
        """
        steps, bands = features.shape
        masked = features.clone()
        for _ in range(self.freq_masks):
            start, width = _span(bands, self.freq_width, generator)
            masked[:, start : start + width] = 0.0
        longest = min(self.time_width, int(self.max_time_fraction * steps))
        for _ in range(self.time_masks):
            start, width = _span(steps, longest, generator)
            masked[start : start + width] = 0.0
        return masked


def _span(size: int, max_width: int, generator: torch.Generator) -> tuple[int, int]:
    """A random ``(start, width)`` with ``width <= min(max_width, size)``."""
    width = int(torch.randint(0, min(max_width, size) + 1, (), generator=generator))
    start = int(torch.randint(0, size - width + 1, (), generator=generator))
    return start, width
