"""word2vec: the Huffman tree, the compiled kernel and the torch update path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqcli.models import word2vec_kernels as kernels
from seqcli.models.word2vec import Word2Vec, Word2VecConfig, huffman_tree


def test_huffman_codes_are_prefix_free_and_frequent_words_are_near_the_root() -> None:
    counts = np.array([0, 0, 50, 3, 1, 20, 7, 7, 2])
    tree = huffman_tree(counts)
    codes = ["".join(map(str, tree.codes[w, : tree.lengths[w]])) for w in range(len(counts))]
    assert len(set(codes)) == len(codes)
    assert not any(a != b and b.startswith(a) for a in codes for b in codes)
    assert tree.lengths[2] == tree.lengths.min() and tree.lengths[4] >= tree.lengths[5]
    assert tree.points.max() < len(counts) - 1  # rows of an output layer of V-1 inner nodes
    # Kraft's equality holds for a full binary tree.
    assert sum(2.0**-length for length in tree.lengths) == pytest.approx(1.0)


def test_every_path_starts_at_the_root() -> None:
    tree = huffman_tree(np.array([5, 4, 3, 2, 1]))
    roots = {int(tree.points[w, 0]) for w in range(5)}
    assert roots == {3}  # the last inner node made is the root


def _stream(sentences: int = 600, seed: int = 0) -> np.ndarray:
    """Ids 4..11 in topic A, 12..19 in topic B; one topic per sentence, <eos> after each."""
    rng = np.random.default_rng(seed)
    parts = []
    for index in range(sentences):
        low = 4 if index % 2 else 12
        parts.append(np.r_[rng.integers(low, low + 8, 8), kernels.EOS])
    return np.concatenate(parts).astype(np.uint16)


def _train_kernel(model: str, loss: str, epochs: int = 3, threads: int = 1, seed: int = 7):
    from seqcli.tasks.embeddings_data import count_ids, keep_probabilities, noise_table

    ids = _stream()
    vocab = 20
    counts = count_ids(ids, vocab)
    tree = huffman_tree(counts)
    rng = np.random.default_rng(0)
    syn0 = ((rng.random((vocab, 16), dtype=np.float32) - 0.5) / 16).astype(np.float32)
    output = np.zeros((vocab if loss == "negative" else vocab - 1, 16), np.float32)
    kernels.set_threads(threads)
    losses = []
    for epoch in range(epochs):
        loss_sum, examples, words = kernels.run_block(
            ids,
            np.array([0, len(ids) // 2, len(ids)]),
            syn0,
            output,
            keep_probabilities(counts, 0),
            noise_table(counts),
            tree,
            skipgram=model == "skipgram",
            hierarchical=loss == "hierarchical",
            window=3,
            negative=5,
            lr=0.05,
            done_before=epoch * len(ids),
            total=epochs * len(ids),
            seed=seed + epoch,
        )
        losses.append(loss_sum / examples)
        assert words == 600 * 8
    return syn0, losses


def _cosine(matrix: np.ndarray, a: int, b: int) -> float:
    return float(matrix[a] @ matrix[b] / np.linalg.norm(matrix[a]) / np.linalg.norm(matrix[b]))


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
@pytest.mark.parametrize("loss", ["negative", "hierarchical"])
def test_kernel_learns_which_words_share_contexts(model: str, loss: str) -> None:
    syn0, losses = _train_kernel(model, loss)
    assert losses[-1] < losses[0]
    same = np.mean([_cosine(syn0, 4, w) for w in range(5, 12)])
    other = np.mean([_cosine(syn0, 4, w) for w in range(12, 20)])
    assert same > other + 0.3


def test_kernel_is_deterministic_on_one_thread() -> None:
    first, _ = _train_kernel("skipgram", "negative", epochs=1)
    second, _ = _train_kernel("skipgram", "negative", epochs=1)
    third, _ = _train_kernel("skipgram", "negative", epochs=1, seed=8)
    assert np.array_equal(first, second) and not np.array_equal(first, third)


@pytest.mark.parametrize("label", [0.0, 1.0])
def test_a_score_beyond_the_sigmoid_table_updates_nothing(label: float) -> None:
    """gensim's rule, for negative sampling too: |u·h| >= 6 leaves both vectors alone."""
    hidden = np.full(4, 2.0, np.float32)
    for row, moves in ((1.0, False), (0.25, True)):  # u·h = 8 (beyond the table), then 2
        output = np.full((1, 4), row, np.float32)
        work = np.zeros(4, np.float32)
        kernels._score(hidden, 0, np.float32(label), output, work, np.float32(0.1),
                       kernels.SIGMOID_TABLE, kernels.LOGSIG_TABLE)  # fmt: skip
        assert bool(np.any(output != row)) == moves and bool(np.any(work != 0)) == moves


def test_input_vectors_start_uniform_in_one_over_the_dimension() -> None:
    weights = Word2Vec(Word2VecConfig(vocab_size=2000, dim=50)).input.detach()
    assert float(weights.abs().max()) <= 1 / 50 and float(weights.abs().max()) > 0.9 / 50
    assert abs(float(weights.mean())) < 1e-3


def test_learning_rate_decays_linearly_to_almost_zero() -> None:
    assert kernels.learning_rate(0.025, 0.0) == 0.025
    assert kernels.learning_rate(0.025, 0.5) == pytest.approx(0.0125)
    assert kernels.learning_rate(0.025, 1.0) == pytest.approx(0.025 * 1e-4)


def test_torch_step_applies_the_negative_sampling_gradient() -> None:
    torch.manual_seed(0)
    model = Word2Vec(Word2VecConfig(vocab_size=6, dim=3))
    model.output.data.normal_()
    before_in, before_out = model.input.data.clone(), model.output.data.clone()
    inputs, targets = torch.tensor([[2]]), torch.tensor([[4, 5]])
    labels, valid = torch.tensor([[1, 0]]), torch.tensor([[True, True]])
    loss = model.sgd_step(inputs, None, targets, labels, valid, lr=0.1)
    h, u = before_in[2], before_out[[4, 5]]
    scores = u @ h
    expected_loss = -(torch.nn.functional.logsigmoid(scores[0]) + torch.nn.functional.logsigmoid(-scores[1]))
    assert float(loss) == pytest.approx(float(expected_loss), rel=1e-5)
    grad = (torch.tensor([1.0, 0.0]) - torch.sigmoid(scores)) * 0.1
    assert torch.allclose(model.input.data[2], h + grad @ u, atol=1e-6)
    assert torch.allclose(model.output.data[[4, 5]], u + grad[:, None] * h, atol=1e-6)
    assert torch.equal(model.input.data[3], before_in[3])


def test_torch_cbow_step_averages_the_context_and_spreads_the_error() -> None:
    torch.manual_seed(0)
    model = Word2Vec(Word2VecConfig(vocab_size=6, dim=3, model="cbow"))
    model.output.data.normal_()
    before = model.input.data.clone()
    inputs, mask = torch.tensor([[1, 2, 0]]), torch.tensor([[True, True, False]])
    model.sgd_step(inputs, mask, torch.tensor([[4]]), torch.tensor([[1]]), torch.tensor([[True]]), lr=0.5)
    change = model.input.data - before
    assert torch.allclose(change[1], change[2]) and change[1].abs().sum() > 0
    assert torch.equal(change[0], torch.zeros(3))


def test_config_refuses_unknown_models_and_losses() -> None:
    with pytest.raises(ValueError, match="model must be one of"):
        Word2VecConfig(vocab_size=5, model="glove")
    with pytest.raises(ValueError, match="loss must be one of"):
        Word2VecConfig(vocab_size=5, loss="softmax")
    assert Word2VecConfig(vocab_size=5, loss="hierarchical").output_rows == 4
