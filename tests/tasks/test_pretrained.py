"""--embeddings: word2vec text and binary files read the same; vectors land on their words."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from seqcli.errors import SeqcliError
from seqcli.tasks.pretrained import initial_embeddings, read_vectors, with_embedding_size

WORDS = ["john", "paris", "lives"]
VECTORS = np.array([[0.5, -1.0, 0.25], [1.5, 0.0, -0.5], [0.0, 2.0, 1.0]], dtype=np.float32)
TAGGING = Path(__file__).parents[1] / "data" / "tagging"


def write_word2vec(path: Path, binary: bool) -> Path:
    with open(path, "wb") as out:
        out.write(f"{len(WORDS)} {VECTORS.shape[1]}\n".encode())
        for word, row in zip(WORDS, VECTORS, strict=True):
            if binary:
                out.write(word.encode() + b" " + row.astype("<f4").tobytes() + b"\n")
            else:
                out.write((word + " " + " ".join(f"{v:f}" for v in row) + "\n").encode())
    return path


@pytest.mark.parametrize("binary", [False, True])
def test_text_and_binary_word2vec_read_the_same(tmp_path: Path, binary: bool) -> None:
    words, vectors = read_vectors(write_word2vec(tmp_path / "v", binary))
    assert words == WORDS
    np.testing.assert_allclose(vectors, VECTORS)


def test_a_word_takes_its_own_vector_or_its_lower_cased_one(tmp_path: Path) -> None:
    matrix, found = initial_embeddings(["John", "berlin", "paris"], 2, WORDS, VECTORS, seed=0)
    assert found == 2 and matrix.shape == (5, 3)
    np.testing.assert_allclose(matrix[2].numpy(), VECTORS[0])  # John -> john
    np.testing.assert_allclose(matrix[4].numpy(), VECTORS[1])
    assert matrix[0].abs().sum() == 0  # <pad>


def test_embedding_size_follows_the_vectors_or_must_match_them() -> None:
    assert with_embedding_size({"embedding_dim": None}, (WORDS, VECTORS), default=100)["embedding_dim"] == 3
    assert with_embedding_size({"embedding_dim": None}, None, default=100)["embedding_dim"] == 100
    with pytest.raises(SeqcliError, match="--embedding 8 differs"):
        with_embedding_size({"embedding_dim": 8}, (WORDS, VECTORS), default=100)


def test_frozen_pretrained_embeddings_are_kept_through_training(run_cli, tmp_path: Path) -> None:
    vectors = write_word2vec(tmp_path / "v.txt", binary=False)
    run_dir = tmp_path / "run"
    result = run_cli(
        "train-tagger", TAGGING / "tiny.conll", "--valid", TAGGING / "tiny.conll", "-o", run_dir,
        "--embeddings", vectors, "--freeze-embeddings", "--epochs", "2", "--hidden", "8", "--quiet",
    )  # fmt: skip
    assert result.status == 0, result.stderr
    # John, Paris (lower-cased), lives, and the vectors' own john and paris, which join the vocabulary
    assert "5 of 28 words have a pre-trained vector" in result.stderr
    words = json.loads((run_dir / "words.json").read_text())["labels"]
    weights = load_file(run_dir / "model.safetensors")["embedding.weight"]
    assert weights.shape[1] == 3
    np.testing.assert_allclose(weights[2 + words.index("lives")], VECTORS[2])
    assert "john" in words  # the vectors' words join the vocabulary
