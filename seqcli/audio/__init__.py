"""Audio in: files to waveforms (soundfile + soxr), waveforms to log-mel features (torch)."""

from __future__ import annotations

from seqcli.audio.features import FeatureConfig, log_mel, mel_filterbank, normalise, utterance_features
from seqcli.audio.load import (
    add_noise,
    add_reverb,
    audio_duration,
    change_speed,
    iter_audio_blocks,
    load_audio,
)
from seqcli.audio.specaugment import SpecAugment
from seqcli.audio.warp import VocalTractWarp

__all__ = [
    "FeatureConfig",
    "SpecAugment",
    "VocalTractWarp",
    "add_noise",
    "add_reverb",
    "audio_duration",
    "change_speed",
    "iter_audio_blocks",
    "load_audio",
    "log_mel",
    "mel_filterbank",
    "normalise",
    "utterance_features",
]
