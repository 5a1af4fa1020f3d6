"""A corpus with known structure: two topics whose words only meet their own topic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

TOPIC_A = [f"a{i}" for i in range(8)]
TOPIC_B = [f"b{i}" for i in range(8)]


def topic_corpus(path: Path, sentences: int = 1500, seed: int = 0) -> Path:
    """Sentences of 6–10 words drawn from one topic each; a few frequent glue words."""
    rng = np.random.default_rng(seed)
    lines = []
    for index in range(sentences):
        topic = TOPIC_A if index % 2 else TOPIC_B
        words = list(rng.choice(topic, rng.integers(6, 11)))
        words.insert(int(rng.integers(0, len(words))), "the")
        lines.append(" ".join(words))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def topics(tmp_path: Path) -> Path:
    return topic_corpus(tmp_path / "topics.txt")
