"""Vocal tract length perturbation (VTLP) of cached log-mel features, for training.

A longer or shorter vocal tract scales every formant by about the same factor, which is
much of what tells one speaker from another. Jaitly & Hinton (2013, "Vocal Tract Length
Perturbation (VTLP) improves speech recognition") draw a factor ``α`` per utterance and
warp the frequency axis by the piecewise-linear map

    w(f) = α f                                          for f <= f_b
    w(f) = N - (N - α f_b) (N - f) / (N - f_b)          above,

with ``f_b = f_hi min(α, 1) / α``, so that ``w`` is continuous and maps the top
frequency ``N`` onto itself (nothing is read from beyond it). ``f_hi`` is 0.6 N here, as
the paper's 4.8 kHz at a 16 kHz sample rate.

The paper warps the filterbank's centre frequencies before the features are computed;
seqcli caches features once, so the warp is applied to them instead: band ``i``, centred
on ``c_i``, takes the value found at ``w(c_i)``, read by linear interpolation between the
two bands whose centres surround it on the mel scale. This is exact at the centres and a
linear interpolation of the log energy between them; it costs a gather per batch, and a
run trained with it keeps one cached copy of its features (speed perturbation, which
changes the audio, needs one copy per factor).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from seqcli.audio.features import FeatureConfig, hz_to_mel, mel_to_hz

__all__ = ["VocalTractWarp", "vtlp_map"]

BEND = 0.6  # f_hi as a fraction of the top frequency (Jaitly & Hinton's 4.8 kHz of 8 kHz)


def vtlp_map(hz: Tensor, alpha: float, top: float, bend: float = BEND) -> Tensor:
    """Jaitly & Hinton's piecewise-linear warp ``w(f)`` (module docstring) of frequencies ``hz``.

    >>> vtlp_map(torch.tensor([0.0, 1000.0, 8000.0]), 1.1, 8000.0).tolist()
    [0.0, 1100.0, 8000.0]
    """
    knee = bend * top * min(alpha, 1.0) / alpha
    upper = top - (top - alpha * knee) * (top - hz) / (top - knee)
    return torch.where(hz <= knee, alpha * hz, upper)


@dataclass(frozen=True)
class VocalTractWarp:
    """Warps ``(T, n_mels)`` features by a factor drawn uniformly from ``[1 - w, 1 + w]``."""

    config: FeatureConfig
    max_warp: float = 0.1

    def __post_init__(self) -> None:
        if not 0.0 < self.max_warp < 0.5:
            raise ValueError(f"the warp must be in (0, 0.5), got {self.max_warp}")

    def __call__(self, features: Tensor, generator: torch.Generator) -> Tensor:
        """A warped copy of ``features``, its factor drawn from ``generator``.

        >>> warp = VocalTractWarp(FeatureConfig(sample_rate=8000, n_mels=40), 0.1)
        >>> features = torch.randn(5, 40)
        >>> torch.equal(warp.apply(features, 1.0), features)
        True
        """
        alpha = 1.0 + self.max_warp * (2.0 * float(torch.rand((), generator=generator)) - 1.0)
        return self.apply(features, alpha)

    def apply(self, features: Tensor, alpha: float) -> Tensor:
        """``features`` warped by the factor ``alpha``: band i takes the value at ``w(c_i)``."""
        position = self._positions(alpha).to(features.device)
        below = position.floor().long().clamp(max=features.size(-1) - 2)
        frac = (position - below).to(features.dtype)
        return features[..., below] * (1.0 - frac) + features[..., below + 1] * frac

    def _positions(self, alpha: float) -> Tensor:
        """Where each band's warped centre lies, in (fractional) band indices."""
        config = self.config
        scale, dtype = config.mel_scale, torch.float64
        low, high = hz_to_mel(torch.tensor([config.f_min, config.top_frequency], dtype=dtype), scale)
        step = (high - low) / (config.n_mels + 1)
        centres = mel_to_hz(low + step * torch.arange(1, config.n_mels + 1, dtype=dtype), scale)
        warped = vtlp_map(centres, alpha, config.top_frequency)
        return ((hz_to_mel(warped, scale) - low) / step - 1.0).clamp(0.0, config.n_mels - 1.0)
