"""The audio loader under hostile bytes: decoded audio or one clear error, never a crash."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile
from hypothesis import given
from hypothesis import strategies as st

from seqcli.audio import load_audio
from tests.io.hostile import HOSTILE, hostile_bytes


def _valid(format_: str) -> bytes:
    buffer = io.BytesIO()
    samples = np.random.default_rng(0).normal(0, 0.2, 2000).astype(np.float32)
    soundfile.write(buffer, samples, 8000, format=format_)
    return buffer.getvalue()


VALID = {name: _valid(name) for name in ("WAV", "FLAC", "OGG")}


@HOSTILE
@given(data=hostile_bytes, suffix=st.sampled_from([".wav", ".flac", ".ogg", ".mp3"]))
def test_arbitrary_bytes(tmp_path: Path, hostile_outcome, data: bytes, suffix: str) -> None:
    path = tmp_path / f"clip{suffix}"
    path.write_bytes(data)
    hostile_outcome("audio", lambda: load_audio(path, 16000))


@HOSTILE
@given(
    format_=st.sampled_from(sorted(VALID)),
    cut=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=4),
)
def test_damaged_real_files(tmp_path: Path, hostile_outcome, format_: str, cut: float, flips) -> None:
    """Truncated files and flipped bytes inside real WAV/FLAC/OGG files (wrongly named too)."""
    data = bytearray(VALID[format_][: max(1, round(cut * len(VALID[format_])))])
    for where, value in flips:
        data[min(len(data) - 1, int(where * len(data)))] = value
    path = tmp_path / "clip.wav"
    path.write_bytes(bytes(data))
    hostile_outcome("audio", lambda: load_audio(path, 16000))
