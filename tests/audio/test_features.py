"""Log-mel features: the right band lights up, and the numbers match independent references."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import torch

from seqcli.audio import FeatureConfig, SpecAugment, load_audio, log_mel, mel_filterbank, normalise
from seqcli.audio.features import hz_to_mel


def tone(frequency: float, sample_rate: int, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(round(sample_rate * seconds)) / sample_rate
    return (0.5 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


@pytest.mark.parametrize("scale", ["htk", "slaney"])
@pytest.mark.parametrize("frequency", [300.0, 1000.0, 3500.0])
def test_a_pure_tone_lands_in_its_mel_band(scale: str, frequency: float) -> None:
    config = FeatureConfig(mel_scale=scale)
    features = log_mel(torch.from_numpy(tone(frequency, config.sample_rate)), config)
    loudest = int(features[5:-5].mean(dim=0).argmax())
    mels = torch.linspace(0, float(hz_to_mel(torch.tensor(8000.0), scale)), config.n_mels + 2)
    centre_band = int((mels[1:-1] - hz_to_mel(torch.tensor(frequency), scale)).abs().argmin())
    assert abs(loudest - centre_band) <= 1


def numpy_log_mel(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """The module docstring's formulas, written again in numpy from scratch (HTK scale)."""
    n_fft, hop, win = config.n_fft, config.hop_length, config.win_length
    window = np.zeros(n_fft)
    start = (n_fft - win) // 2
    window[start : start + win] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)
    padded = np.pad(samples.astype(np.float64), n_fft // 2)
    frames = np.stack([padded[t * hop : t * hop + n_fft] for t in range(1 + len(samples) // hop)])
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    mel = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
    edges = 700 * (10 ** (np.linspace(mel(0), mel(config.sample_rate / 2), config.n_mels + 2) / 2595) - 1)
    freqs = np.arange(n_fft // 2 + 1) * config.sample_rate / n_fft
    filters = np.zeros((config.n_mels, len(freqs)))
    for m in range(config.n_mels):
        left, centre, right = edges[m : m + 3]
        rising, falling = (freqs - left) / (centre - left), (right - freqs) / (right - centre)
        filters[m] = np.maximum(0, np.minimum(rising, falling))
    return np.log(np.maximum(power @ filters.T, 1e-10))


def test_matches_a_numpy_reference_of_the_same_formulas() -> None:
    config = FeatureConfig(n_mels=40)
    samples = np.random.default_rng(0).normal(0, 0.1, 8000).astype(np.float32)
    ours = log_mel(torch.from_numpy(samples), config).numpy()
    reference = numpy_log_mel(samples, config)
    assert ours.shape == reference.shape == (51, 40)
    np.testing.assert_allclose(ours, reference, atol=2e-3)


@pytest.mark.parametrize("scale", ["htk", "slaney"])
def test_matches_librosa(scale: str) -> None:
    librosa = pytest.importorskip("librosa")
    config = FeatureConfig(mel_scale=scale, sample_rate=8000, n_mels=40)
    samples = np.random.default_rng(1).normal(0, 0.1, 6000).astype(np.float32)
    power = librosa.feature.melspectrogram(
        y=samples, sr=8000, n_fft=config.n_fft, hop_length=config.hop_length, win_length=config.win_length,
        window="hann", center=True, pad_mode="constant", power=2.0, n_mels=40, htk=scale == "htk",
        norm=None if scale == "htk" else "slaney",
    )  # fmt: skip
    ours = log_mel(torch.from_numpy(samples), config).numpy()
    np.testing.assert_allclose(ours, np.log(np.maximum(power, 1e-10)).T, atol=2e-3)


def test_dynamic_range_floors_quiet_frames_at_the_peak_minus_the_range() -> None:
    """A tone then near-silence: with a 40 dB range, every energy is the plain one plus the
    peak energy 40 dB down, so the silent frames sit at that floor and the tone is unchanged."""
    plain = FeatureConfig(n_mels=40)
    floored = FeatureConfig(n_mels=40, dynamic_range=40.0)
    rng = np.random.default_rng(0)
    samples = np.concatenate([tone(1000.0, 16000), rng.normal(0, 1e-5, 8000)]).astype(np.float32)
    before = log_mel(torch.from_numpy(samples), plain)
    after = log_mel(torch.from_numpy(samples), floored)
    peak = float(before.max())
    floor = peak - 40.0 * np.log(10) / 10  # 40 dB below the peak, in natural-log units
    expected = np.log(np.exp(before.double().numpy()) + np.exp(floor))
    np.testing.assert_allclose(after.double().numpy(), expected, atol=1e-4)
    silence = after[-20:]  # the last 20 frames (0.2 s) hear only the 1e-5 noise
    assert float(before[-20:].max()) < floor - 10  # the noise itself is far below the floor
    np.testing.assert_allclose(silence.numpy(), floor, atol=1e-3)
    assert abs(float(after.max()) - peak) < 1e-3  # 40 dB down adds 0.01% to the peak


def test_dynamic_range_must_be_positive() -> None:
    with pytest.raises(ValueError, match="dynamic_range"):
        FeatureConfig(dynamic_range=0.0)


def test_filterbank_covers_the_spectrum_once() -> None:
    filters = mel_filterbank(FeatureConfig(n_mels=20))
    # Adjacent HTK triangles overlap so that, between the first and last centres, they sum to 1.
    inner = filters.sum(dim=1)[40:200]
    torch.testing.assert_close(inner, torch.ones_like(inner), atol=1e-4, rtol=0)


def test_stereo_44k_and_its_mono_16k_version_give_the_same_features(tmp_path) -> None:
    rng = np.random.default_rng(2)
    t = np.arange(44100) / 44100
    left = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.normal(size=t.size)
    right = 0.3 * np.sin(2 * np.pi * 1250 * t)
    soundfile.write(tmp_path / "stereo.wav", np.stack([left, right], axis=1).astype(np.float32), 44100)
    import soxr

    mono16 = soxr.resample(((left + right) / 2).astype(np.float32), 44100, 16000)
    soundfile.write(tmp_path / "mono.flac", mono16, 16000)
    config = FeatureConfig()
    stereo = normalise(log_mel(torch.from_numpy(load_audio(tmp_path / "stereo.wav", 16000)), config))
    mono = normalise(log_mel(torch.from_numpy(load_audio(tmp_path / "mono.flac", 16000)), config))
    assert stereo.shape == mono.shape
    assert (stereo - mono).abs().mean() < 0.05


def test_normalised_features_have_zero_mean_and_unit_variance() -> None:
    features = normalise(torch.randn(300, 8) * 4 + 3)
    torch.testing.assert_close(features.mean(dim=0), torch.zeros(8), atol=1e-5, rtol=0)
    torch.testing.assert_close(features.std(dim=0, unbiased=False), torch.ones(8), atol=1e-4, rtol=0)


def test_specaugment_masks_at_most_the_allowed_widths() -> None:
    augment = SpecAugment(freq_masks=1, freq_width=10, time_masks=1, time_width=30, max_time_fraction=0.1)
    generator = torch.Generator().manual_seed(3)
    for _ in range(20):
        masked = augment(torch.ones(100, 80), generator)
        assert int((masked == 0).all(dim=0).sum()) <= 10
        assert int((masked == 0).all(dim=1).sum()) <= 10  # 10% of 100 frames
    masks = [augment(torch.ones(100, 80), torch.Generator().manual_seed(4)) for _ in range(2)]
    assert torch.equal(*masks)  # the generator alone decides
