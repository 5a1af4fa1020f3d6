"""Log-mel filterbank features in plain torch, normalised per utterance.

For a waveform ``x`` at rate ``sr``: frames of 25 ms (``win`` samples, a periodic Hann
window, zero-padded to ``n_fft``, the next power of two) every 10 ms (``hop``), centred
(the signal is padded with ``n_fft/2`` zeros on each side, so frame t is centred on sample
``t*hop``; a signal of N samples gives ``1 + N // hop`` frames). The power spectrum
``|STFT|²`` is mapped onto ``n_mels`` triangular filters equally spaced on the mel scale
between ``f_min`` and ``f_max``, and the log taken: ``log(max(mel, 1e-10))``. With a
``dynamic_range`` of R dB, the utterance's peak band energy lowered by R dB is added to every
energy before the log (``log(mel + max(mel)·10^(-R/10))``): what lies more than R dB below the
loudest sound sinks into one floor, whatever the microphone's own noise was.

Mel scales (``mel_scale``):

- ``"htk"`` (default): ``m = 2595 log10(1 + f/700)``, triangles of peak 1 (HTK, Kaldi);
- ``"slaney"``: linear below 1 kHz (``m = 3f/200``) and logarithmic above, each triangle
  scaled to unit area (``2/(f_right - f_left)``), as in Slaney's Auditory Toolbox and
  librosa's default.

The numbers equal ``librosa.feature.melspectrogram(..., center=True, pad_mode="constant",
htk=...)`` followed by a natural log (the tests check this). Per-utterance normalisation
then gives every band zero mean and unit variance over the utterance, which removes the
channel's and the loudness's constant offsets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "MEL_SCALES",
    "FeatureConfig",
    "hz_to_mel",
    "log_mel",
    "mel_filterbank",
    "mel_to_hz",
    "normalise",
    "utterance_features",
]

MEL_SCALES = ("htk", "slaney")
LOG_FLOOR = 1e-10


@dataclass(frozen=True)
class FeatureConfig:
    """How audio becomes features; saved with the model so decoding computes the same ones."""

    sample_rate: int = 16000
    n_mels: int = 80
    window_ms: float = 25.0
    hop_ms: float = 10.0
    f_min: float = 0.0
    f_max: float | None = None  # None: sample_rate / 2
    mel_scale: str = "htk"
    dynamic_range: float | None = None  # dB below the utterance's peak where the floor sits

    def __post_init__(self) -> None:
        if self.dynamic_range is not None and not 0 < self.dynamic_range < 200:
            raise ValueError(f"dynamic_range must be between 0 and 200 dB, got {self.dynamic_range}")
        if self.mel_scale not in MEL_SCALES:
            raise ValueError(f"mel_scale must be one of {', '.join(MEL_SCALES)}, got {self.mel_scale!r}")
        if self.sample_rate < 1000 or self.n_mels < 1 or self.hop_ms <= 0 or self.window_ms < self.hop_ms:
            raise ValueError(f"invalid feature settings {self}")
        if not 0 <= self.f_min < self.top_frequency <= self.sample_rate / 2:
            raise ValueError(f"need 0 <= f_min < f_max <= sample_rate/2, got {self.f_min}, {self.f_max}")

    @property
    def win_length(self) -> int:
        return round(self.sample_rate * self.window_ms / 1000)

    @property
    def hop_length(self) -> int:
        return round(self.sample_rate * self.hop_ms / 1000)

    @property
    def n_fft(self) -> int:
        return 1 << (self.win_length - 1).bit_length()

    @property
    def top_frequency(self) -> float:
        return self.sample_rate / 2 if self.f_max is None else self.f_max

    def num_frames(self, num_samples: int) -> int:
        """Frames of a waveform of ``num_samples`` samples (centred frames)."""
        return 1 + num_samples // self.hop_length


def hz_to_mel(hz: Tensor, scale: str = "htk") -> Tensor:
    """Frequencies in Hz to mels on ``scale``.

    >>> hz_to_mel(torch.tensor([0.0, 700.0]), "htk").round().tolist()
    [0.0, 781.0]
    >>> hz_to_mel(torch.tensor([1000.0]), "slaney")
    tensor([15.])
    """
    if scale == "htk":
        return 2595.0 * torch.log10(1.0 + hz / 700.0)
    linear = hz * 3.0 / 200.0
    log_part = 15.0 + torch.log(hz.clamp_min(1e-10) / 1000.0) / (math.log(6.4) / 27.0)
    return torch.where(hz >= 1000.0, log_part, linear)


def mel_to_hz(mel: Tensor, scale: str = "htk") -> Tensor:
    """The inverse of :func:`hz_to_mel`."""
    if scale == "htk":
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    linear = mel * 200.0 / 3.0
    log_part = 1000.0 * torch.exp((math.log(6.4) / 27.0) * (mel - 15.0))
    return torch.where(mel >= 15.0, log_part, linear)


def mel_filterbank(config: FeatureConfig) -> Tensor:
    """Triangular filters ``(n_fft/2 + 1, n_mels)``: power spectrum @ filters = mel energies."""
    scale = config.mel_scale
    dtype = torch.float64  # the edges are differences of close numbers
    fft_freqs = torch.linspace(0, config.sample_rate / 2, config.n_fft // 2 + 1, dtype=dtype)
    low, high = hz_to_mel(torch.tensor([config.f_min, config.top_frequency], dtype=dtype), scale)
    edges = mel_to_hz(torch.linspace(float(low), float(high), config.n_mels + 2, dtype=dtype), scale)
    widths = edges.diff()  # (M+1,)
    ramps = edges[:, None] - fft_freqs[None, :]  # (M+2, F)
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)  # (M, F)
    if scale == "slaney":
        weights = weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.T.contiguous().float()


def log_mel(waveform: Tensor, config: FeatureConfig, filters: Tensor | None = None) -> Tensor:
    """Log-mel energies of one waveform: ``(N,)`` samples -> ``(1 + N // hop, n_mels)``.

    ``filters`` is :func:`mel_filterbank`'s result, passed in to avoid rebuilding it for
    every utterance.
    """
    filters = mel_filterbank(config) if filters is None else filters
    window = torch.hann_window(config.win_length, periodic=True, dtype=torch.float32, device=waveform.device)
    spectrum = torch.stft(
        waveform.float(),
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        win_length=config.win_length,
        window=window,
        center=True,
        pad_mode="constant",
        return_complex=True,
    )  # (F, T)
    power = spectrum.real.square() + spectrum.imag.square()
    mel = power.T @ filters.to(power.device)  # (T, M)
    if config.dynamic_range is not None:
        # Added rather than clamped: a smooth floor, as if every recording had the same noise
        # floor relative to its loudest sound.
        mel = mel + mel.max() * 10.0 ** (-config.dynamic_range / 10.0)
    return mel.clamp_min(LOG_FLOOR).log()


def normalise(features: Tensor, eps: float = 1e-5) -> Tensor:
    """Per-utterance mean/variance normalisation of ``(T, M)`` features over time.

    >>> normalise(torch.tensor([[1.0, 5.0], [3.0, 5.0]])).round(decimals=3).tolist()
    [[-1.0, 0.0], [1.0, 0.0]]
    """
    mean = features.mean(dim=0, keepdim=True)
    std = features.std(dim=0, unbiased=False, keepdim=True)
    return (features - mean) / (std + eps)


def utterance_features(samples: np.ndarray, config: FeatureConfig, filters: Tensor | None = None) -> Tensor:
    """What the acoustic model reads: normalised log-mel ``(T, n_mels)`` of ``(N,)`` samples."""
    return normalise(log_mel(torch.from_numpy(samples), config, filters))
