"""Reading audio: formats, rates, channels, blocks, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from seqcli.audio import add_noise, add_reverb, audio_duration, change_speed, iter_audio_blocks, load_audio
from seqcli.errors import SeqcliError


def sine(seconds: float, rate: int) -> np.ndarray:
    return (0.4 * np.sin(2 * np.pi * 300 * np.arange(round(seconds * rate)) / rate)).astype(np.float32)


@pytest.mark.parametrize(("name", "rate"), [("a.wav", 8000), ("a.flac", 22050), ("a.ogg", 48000)])
def test_formats_and_rates_become_mono_at_the_model_rate(tmp_path: Path, name: str, rate: int) -> None:
    soundfile.write(tmp_path / name, np.stack([sine(0.5, rate)] * 2, axis=1), rate)
    samples = load_audio(tmp_path / name, 16000)
    assert samples.dtype == np.float32 and samples.shape == (8000,)
    assert 0.2 < np.abs(samples).max() < 0.5
    assert audio_duration(tmp_path / name) == pytest.approx(0.5, abs=1e-3)


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_speed_perturbation_scales_duration_and_pitch_together(factor: float) -> None:
    rate = 16000
    faster = change_speed(sine(1.0, rate), factor)  # a 300 Hz tone, one second
    assert faster.dtype == np.float32 and len(faster) == pytest.approx(rate / factor, abs=2)
    spectrum = np.abs(np.fft.rfft(faster * np.hanning(len(faster))))
    peak = np.argmax(spectrum) * rate / len(faster)  # Hz of the strongest bin
    assert peak == pytest.approx(300 * factor, abs=2.0)


@pytest.mark.parametrize("snr", [20.0, 10.0, 0.0])
def test_noise_perturbation_adds_white_noise_at_the_asked_snr(snr: float) -> None:
    clean = sine(2.0, 16000)
    noisy = add_noise(clean, snr, np.random.default_rng(1))
    noise = noisy.astype(np.float64) - clean
    measured = 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean(noise**2))
    assert noisy.dtype == np.float32 and measured == pytest.approx(snr, abs=0.1)
    spectrum = np.abs(np.fft.rfft(noise)) ** 2  # white: as much power in the top half as the bottom
    low, high = spectrum[: len(spectrum) // 2].sum(), spectrum[len(spectrum) // 2 :].sum()
    assert high / low == pytest.approx(1.0, abs=0.05)
    assert np.array_equal(noisy, add_noise(clean, snr, np.random.default_rng(1)))


@pytest.mark.parametrize("rt60", [0.2, 0.5])
def test_reverberation_decays_by_60_db_in_rt60_with_as_much_energy_as_the_direct_sound(rt60: float) -> None:
    rate = 8000
    click = np.zeros(2 * rate, dtype=np.float32)
    click[100] = 1.0
    heard = add_reverb(click, rt60, np.random.default_rng(3), rate).astype(np.float64)
    assert np.mean(heard**2) == pytest.approx(np.mean(click.astype(np.float64) ** 2), rel=1e-5)
    assert np.abs(heard[:100]).max() < 1e-6  # nothing before the click
    response = heard[100:]
    direct, tail = response[0] ** 2, np.sum(response[1:] ** 2)
    assert tail / direct == pytest.approx(1.0, rel=1e-4)  # direct-to-reverberant ratio 0 dB
    # Schroeder's backward integral of the tail, in dB: the line fitted between -5 and -35 dB
    # (the T30 rule), extended to -60 dB, gives the reverberation time.
    decay = 10 * np.log10(np.cumsum(response[1:][::-1] ** 2)[::-1] / tail)
    fitted = (decay <= -5) & (decay >= -35)
    slope = np.polyfit(np.flatnonzero(fitted) / rate, decay[fitted], 1)[0]  # dB per second
    assert -60 / slope == pytest.approx(rt60, rel=0.1)
    assert np.array_equal(heard, add_reverb(click, rt60, np.random.default_rng(3), rate))


def test_reverberation_is_a_linear_convolution_that_keeps_the_length() -> None:
    rate = 8000
    late = np.zeros(rate, dtype=np.float32)
    late[-10] = 1.0  # a click 10 samples before the end: its tail is cut, never wrapped round
    heard = add_reverb(late, 0.3, np.random.default_rng(0), rate)
    assert heard.shape == (rate,) and heard.dtype == np.float32
    assert np.abs(heard[:-10]).max() < 1e-6 * np.abs(heard).max()  # FFT rounding, no echo


def test_the_container_is_recognised_from_its_bytes(tmp_path: Path) -> None:
    soundfile.write(tmp_path / "really-flac.wav", sine(0.1, 16000), 16000, format="FLAC")
    assert load_audio(tmp_path / "really-flac.wav", 16000).shape == (1600,)


def test_blocks_join_to_the_whole_file(tmp_path: Path) -> None:
    soundfile.write(tmp_path / "long.wav", sine(3.3, 8000), 8000)
    blocks = list(iter_audio_blocks(tmp_path / "long.wav", 16000, block_seconds=1.0))
    assert len(blocks) >= 3 and max(len(b) for b in blocks) <= 17000
    joined = np.concatenate(blocks)
    whole = load_audio(tmp_path / "long.wav", 16000)
    assert abs(len(joined) - len(whole)) <= 2
    n = min(len(joined), len(whole))
    assert np.abs(joined[100 : n - 100] - whole[100 : n - 100]).max() < 1e-3


def write_bad(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.wav"
    if kind == "empty-file":
        path.write_bytes(b"")
    elif kind == "no-samples":
        soundfile.write(path, np.zeros(0, dtype=np.float32), 16000)
    elif kind == "text":
        path.write_text("hello, I am not a recording\n")
    elif kind == "truncated-wav":
        soundfile.write(path, sine(1.0, 16000), 16000)
        path.write_bytes(path.read_bytes()[:5000])
    elif kind == "truncated-flac":
        soundfile.write(path, np.random.default_rng(0).normal(0, 0.3, 16000).astype(np.float32), 16000,
                        format="FLAC")  # fmt: skip
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


BAD_KINDS = ["missing", "empty-file", "no-samples", "text", "truncated-wav", "truncated-flac"]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_files_are_named_in_one_line(tmp_path: Path, kind: str) -> None:
    path = write_bad(tmp_path, kind)
    with pytest.raises(SeqcliError) as caught:
        load_audio(path, 16000)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
