"""A tiny "tone language" for speech tests: every letter is a tone, and so is a space.

Built with numpy and soundfile, so the tests need no recordings and no speech synthesiser.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import soundfile

RATE = 8000
TONES = {"a": 500.0, "b": 1500.0, "c": 2700.0, " ": 200.0}


def speak(text: str, rng: np.random.Generator) -> np.ndarray:
    """Each character a 120 ms tone and a 40 ms gap, faint noise over all."""
    pieces = [np.zeros(int(0.1 * RATE))]
    for letter in text:
        t = np.arange(int(0.12 * RATE)) / RATE
        pieces += [
            0.4 * np.sin(2 * np.pi * TONES[letter] * t) * np.hanning(t.size),
            np.zeros(int(0.04 * RATE)),
        ]
    pieces.append(np.zeros(int(0.1 * RATE)))
    samples = np.concatenate(pieces)
    return (samples + rng.normal(0, 0.003, samples.size)).astype(np.float32)


def random_text(rng: random.Random) -> str:
    words = ["".join(rng.choice("abc") for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(1, 3))]
    return " ".join(words)


def write_corpus(directory: Path, name: str, count: int, seed: int) -> Path:
    """``directory/name.tsv`` listing ``count`` utterances written beside it."""
    rng, noise = random.Random(seed), np.random.default_rng(seed)
    (directory / "audio").mkdir(parents=True, exist_ok=True)
    lines = []
    for index in range(count):
        text = random_text(rng)
        path = directory / "audio" / f"{name}-{index}.wav"
        soundfile.write(path, speak(text, noise), RATE)
        lines.append(f"audio/{path.name}\t{text}\n")
    manifest = directory / f"{name}.tsv"
    manifest.write_text("".join(lines))
    return manifest
