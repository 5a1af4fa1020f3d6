"""Reading audio: any file libsndfile knows (WAV, FLAC, OGG/Vorbis, …), any rate, any channels.

Every file becomes one float32 mono waveform at the model's sample rate: channels are
averaged (a stereo mix-down), and the rate is converted with soxr (high quality, linear
phase). The container is recognised from the bytes, not the name, so a FLAC file named
``.wav`` reads fine. Anything that is not audio, is empty or is cut short raises a
:class:`~seqcli.errors.SeqcliError` naming the file.

Long recordings are read in blocks (:func:`iter_audio_blocks`) through soxr's streaming
resampler, so memory stays bounded whatever the file's length.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile
import soxr

from seqcli.errors import SeqcliError

__all__ = ["add_noise", "add_reverb", "audio_duration", "change_speed", "iter_audio_blocks", "load_audio"]

# Placeholder sizes that streaming writers put in a RIFF header (they cannot seek back).
_UNKNOWN_RIFF_SIZES = (0, 0xFFFFFFFF, 0xFFFFFFFF - 8)


def load_audio(path: Path, sample_rate: int) -> np.ndarray:
    """The whole file as ``(N,)`` float32 mono samples in [-1, 1] at ``sample_rate``.

    >>> import tempfile, soundfile
    >>> path = Path(tempfile.mkdtemp()) / "a.wav"
    >>> soundfile.write(path, np.zeros((800, 2), dtype=np.float32), 8000)
    >>> load_audio(path, 16000).shape
    (1600,)
    """
    with _open(path) as handle:
        source_rate = handle.samplerate
        samples = _read(handle, path, frames=-1)
    if samples.shape[0] == 0:
        raise SeqcliError(f"{path}: no audio samples (an empty recording)")
    return _resample(_mono(samples), source_rate, sample_rate)


def change_speed(samples: np.ndarray, factor: float) -> np.ndarray:
    """The waveform played ``factor`` times as fast, tempo and pitch together, as ``sox speed``
    does: speed perturbation (Ko et al. 2015, "Audio Augmentation for Speech Recognition").

    Reading samples taken at a rate ``r`` as if at ``r·factor`` and resampling them to ``r``
    gives ``N / factor`` samples whose frequencies are all scaled by ``factor``, which moves
    formants as a shorter or longer vocal tract would.

    >>> change_speed(np.zeros(1100, dtype=np.float32), 1.1).shape
    (1000,)
    """
    if factor == 1.0:
        return samples
    return soxr.resample(samples, 1000.0 * factor, 1000.0, quality="HQ").astype(np.float32, copy=False)


def add_noise(samples: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """The waveform with white Gaussian noise at ``snr_db`` decibels below its mean power:
    noise perturbation, a stand-in for the microphones, rooms and noise floors that a few
    training speakers do not cover.

    >>> noisy = add_noise(np.ones(10_000, dtype=np.float32), 20.0, np.random.default_rng(0))
    >>> round(10 * np.log10(1.0 / np.mean((noisy - 1.0) ** 2)))
    20
    """
    power = float(np.mean(np.square(samples, dtype=np.float64)))
    noise = rng.normal(0.0, np.sqrt(power / 10.0 ** (snr_db / 10.0)), samples.shape)
    return (samples + noise).astype(np.float32)


def add_reverb(samples: np.ndarray, rt60: float, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """The waveform as heard in a room whose reverberation time is ``rt60`` seconds, at its
    original length and mean power: reverberation perturbation (Ko et al. 2017).

    The room's impulse response is synthetic: the direct sound (a unit impulse), then white
    Gaussian noise under an envelope whose energy falls by 60 dB in ``rt60`` seconds, the
    statistical model of late reverberation. The tail holds as much energy as the direct
    sound (a direct-to-reverberant ratio of 0 dB). Per-utterance mean normalisation removes
    a microphone's fixed colouring, but not this smearing in time.

    >>> dry = np.zeros(8000, dtype=np.float32); dry[0] = 1.0
    >>> wet = add_reverb(dry, 0.3, np.random.default_rng(0), 8000)
    >>> wet.shape, round(float(np.mean(wet**2) / np.mean(dry**2)), 3)
    ((8000,), 1.0)
    """
    length = max(2, round(rt60 * sample_rate))
    seconds = np.arange(1, length) / sample_rate
    tail = rng.standard_normal(length - 1) * np.exp(-3.0 * np.log(10.0) * seconds / rt60)
    response = np.concatenate([[1.0], tail / np.sqrt(np.sum(tail**2))])
    # The FFT's circular convolution, padded past both lengths so that it is a linear one;
    # numpy's FFT rather than a new dependency (scipy) for one call.
    size = 1 << (len(samples) + length - 2).bit_length()
    signal = samples.astype(np.float64)
    wet = np.fft.irfft(np.fft.rfft(signal, size) * np.fft.rfft(response, size), size)[: len(samples)]
    power, wet_power = float(np.mean(signal**2)), float(np.mean(wet**2))
    return (wet * np.sqrt(power / wet_power) if wet_power > 0 else wet).astype(np.float32)


def iter_audio_blocks(path: Path, sample_rate: int, *, block_seconds: float) -> Iterator[np.ndarray]:
    """The file in consecutive ``(n,)`` float32 mono blocks at ``sample_rate``.

    Each block holds about ``block_seconds`` of audio (the last may be shorter); joined,
    they equal :func:`load_audio` up to the resampler's streaming edges.
    """
    with _open(path) as handle:
        source_rate = handle.samplerate
        frames = max(1, round(block_seconds * source_rate))
        stream = (
            None
            if source_rate == sample_rate
            else soxr.ResampleStream(source_rate, sample_rate, 1, dtype="float32", quality="HQ")
        )
        produced = False
        while True:
            block = _read(handle, path, frames=frames)
            last = block.shape[0] < frames
            if block.shape[0] == 0 and not produced:
                raise SeqcliError(f"{path}: no audio samples (an empty recording)")
            mono = _mono(block)
            out = mono if stream is None else stream.resample_chunk(mono, last=last)
            produced = True
            if out.size:
                yield np.ascontiguousarray(out, dtype=np.float32)
            if last:
                return


def audio_duration(path: Path) -> float:
    """Length of the recording in seconds, from its header."""
    with _open(path) as handle:
        return handle.frames / handle.samplerate


def _open(path: Path) -> soundfile.SoundFile:
    if not path.is_file():
        raise SeqcliError(f"{path}: audio file not found" if not path.exists() else f"{path}: not a file")
    _check_riff_size(path)
    try:
        return soundfile.SoundFile(path)
    except (soundfile.LibsndfileError, RuntimeError) as err:
        raise SeqcliError(f"{path}: not a readable audio file ({_reason(err)})") from None
    except OSError as err:
        raise SeqcliError(f"{path}: cannot read ({err.strerror})") from None


def _read(handle: soundfile.SoundFile, path: Path, *, frames: int) -> np.ndarray:
    """``(n, channels)`` float32; decoding errors (a FLAC cut short) name the file."""
    try:
        return handle.read(frames, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError) as err:
        raise SeqcliError(f"{path}: audio data is damaged or cut short ({_reason(err)})") from None


def _check_riff_size(path: Path) -> None:
    """Refuse a WAV file shorter than its header says: libsndfile would read it silently."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(12)
            size = handle.seek(0, 2)
    except OSError as err:
        raise SeqcliError(f"{path}: cannot read ({err.strerror})") from None
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        return
    declared = struct.unpack("<I", header[4:8])[0]
    if declared not in _UNKNOWN_RIFF_SIZES and declared + 8 > size:
        raise SeqcliError(f"{path}: truncated WAV file (header promises {declared + 8} bytes, found {size})")


def _mono(samples: np.ndarray) -> np.ndarray:
    """``(n, channels)`` -> ``(n,)``: the average of the channels."""
    return samples.mean(axis=1, dtype=np.float32) if samples.shape[1] > 1 else samples[:, 0]


def _resample(samples: np.ndarray, source_rate: int, sample_rate: int) -> np.ndarray:
    if source_rate == sample_rate:
        return np.ascontiguousarray(samples, dtype=np.float32)
    return soxr.resample(samples, source_rate, sample_rate, quality="HQ").astype(np.float32, copy=False)


def _reason(err: Exception) -> str:
    """libsndfile's message on one line, without the repeated file name."""
    message = getattr(err, "error_string", None) or str(err)
    return " ".join(message.split())[:120]
