"""Specification of seqcli.models.seq2seq and seqcli.models.attention."""

from __future__ import annotations

import math

import pytest
import torch

from seqcli.models.attention import Attention
from seqcli.models.seq2seq import Seq2Seq, Seq2SeqConfig, sequence_loss

ATTENTIONS = ["bahdanau", "luong-dot", "luong-general", "none"]
PAD, BOS, EOS = 0, 2, 3


@pytest.fixture(autouse=True)
def one_thread():
    """Tensors this small run faster on one thread than handed between two."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_model(attention="bahdanau", cell="gru", **sizes) -> Seq2Seq:
    torch.manual_seed(0)
    config = dict(source_vocab_size=15, target_vocab_size=12, embedding_dim=8, hidden_size=10, dropout=0.0)
    config.update(sizes)
    return Seq2Seq(Seq2SeqConfig(attention=attention, cell=cell, **config)).eval()


def batch():
    source = torch.tensor([[5, 6, 7, 8, EOS], [9, 10, EOS, PAD, PAD]])
    source_lengths = torch.tensor([5, 3])
    target_inputs = torch.tensor([[BOS, 4, 5, 6], [BOS, 7, PAD, PAD]])
    targets = torch.tensor([[4, 5, 6, EOS], [7, EOS, PAD, PAD]])
    return source, source_lengths, target_inputs, targets


@pytest.mark.parametrize("attention", ATTENTIONS)
@pytest.mark.parametrize("cell", ["gru", "lstm", "gru-textbook"])
def test_padding_never_changes_a_sentences_logits(attention, cell):
    model = make_model(attention, cell, num_layers=2)
    source, source_lengths, target_inputs, _ = batch()
    with torch.no_grad():
        together = model(source, source_lengths, target_inputs)
        alone = model(source[1:, :3], source_lengths[1:], target_inputs[1:, :2])
    assert torch.allclose(together[1, :2], alone[0], atol=1e-5)


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_stepwise_decoding_equals_teacher_forcing(attention):
    model = make_model(attention, "lstm")
    source, source_lengths, target_inputs, _ = batch()
    with torch.no_grad():
        logits = model(source, source_lengths, target_inputs)
        encoded, state = model.encode(source, source_lengths)
        steps = []
        for t in range(target_inputs.size(1)):
            log_probs, state = model.step(target_inputs[:, t], state, encoded)
            steps.append(log_probs)
    assert torch.allclose(torch.stack(steps, dim=1), logits.log_softmax(dim=-1), atol=1e-5)


def test_attention_weights_are_a_distribution_over_real_source_positions():
    model = make_model("luong-general")
    source, source_lengths, _, _ = batch()
    encoded, state = model.encode(source, source_lengths)
    _, state = model.step(torch.tensor([BOS, BOS]), state, encoded)
    assert torch.allclose(state.weights.sum(dim=1), torch.ones(2))
    assert state.weights[1, 3:].tolist() == [0.0, 0.0]
    assert bool((state.weights[0] > 0).all())


def test_bahdanau_scores_follow_the_additive_formula():
    torch.manual_seed(1)
    attention = Attention("bahdanau", query_size=3, memory_size=4)
    memory, query = torch.randn(1, 2, 4), torch.randn(1, 3)
    context, weights = attention(query, attention.keys(memory), memory, torch.ones(1, 2, dtype=torch.bool))
    w_k, w_q = attention.key_projection.weight, attention.query_projection.weight
    b_q = attention.query_projection.bias
    v = attention.energy.weight[0]
    scores = torch.stack([v @ torch.tanh(w_q @ query[0] + b_q + w_k @ memory[0, j]) for j in range(2)])
    assert torch.allclose(weights[0], scores.softmax(dim=0), atol=1e-6)
    assert torch.allclose(context[0], weights[0] @ memory[0], atol=1e-6)


def test_bahdanau_in_blocks_of_rows_during_search_equals_the_whole_computation(monkeypatch):
    torch.manual_seed(2)
    attention = Attention("bahdanau", query_size=6, memory_size=4)
    lengths = torch.tensor([2, 2, 3, 5, 5, 7, 1])  # blocks end at different lengths
    memory = torch.randn(7, 7, 4)
    mask = torch.arange(7) < lengths[:, None]
    memory = memory * mask[:, :, None]
    query = torch.randn(7, 6)
    whole = attention(query, attention.keys(memory), memory, mask)  # autograd on: one tensor
    monkeypatch.setattr("seqcli.models.attention._BLOCK_ELEMENTS", 2 * 7 * 6)  # two rows a block
    blocked_calls = []
    monkeypatch.setattr(torch, "add", lambda *a, **k: blocked_calls.append(1) or torch.Tensor.add(*a, **k))
    with torch.inference_mode():
        blocked = attention(query, attention.keys(memory), memory, mask)
    assert len(blocked_calls) == 4  # the blocked path ran, in ceil(7 / 2) blocks
    for ours, reference in zip(blocked, whole, strict=True):
        assert torch.allclose(ours, reference, atol=1e-6)
    assert blocked[1][0, 2:].tolist() == [0.0] * 5  # padding still gets no weight


def test_luong_dot_needs_equal_widths_and_tied_embeddings_share_weights():
    with pytest.raises(ValueError, match="query_size == memory_size"):
        Attention("luong-dot", query_size=4, memory_size=6)
    with pytest.raises(ValueError, match="embedding_dim == hidden_size"):
        Seq2SeqConfig(
            source_vocab_size=5, target_vocab_size=5, embedding_dim=8, hidden_size=10, tie_embeddings=True
        )
    model = make_model(embedding_dim=10, tie_embeddings=True)
    assert model.projection.weight is model.target_embedding.weight


def test_label_smoothed_loss_on_a_hand_case():
    logits = torch.tensor([[[2.0, 0.0, 1.0], [0.5, 0.5, 0.0]]])  # (B=1, T=2, V=3)
    targets = torch.tensor([[2, 0]])  # the second position is padding (pad_id 0)
    loss, count = sequence_loss(logits, targets, pad_id=0, label_smoothing=0.3)
    normaliser = math.log(math.exp(2.0) + math.exp(0.0) + math.exp(1.0))
    log_p = [2.0 - normaliser, 0.0 - normaliser, 1.0 - normaliser]
    expected = 0.7 * -log_p[2] + 0.3 * -sum(log_p) / 3
    assert float(loss) == pytest.approx(expected, abs=1e-6)
    assert int(count) == 1
    plain, _ = sequence_loss(logits, targets, pad_id=0)
    assert float(plain) == pytest.approx(-log_p[2], abs=1e-6)


@pytest.mark.parametrize("attention", ["bahdanau", "none"])
def test_overfits_a_tiny_reversal_task(attention):
    torch.manual_seed(0)
    model = Seq2Seq(
        Seq2SeqConfig(
            source_vocab_size=10,
            target_vocab_size=10,
            embedding_dim=16,
            hidden_size=32,
            dropout=0.0,
            attention=attention,
        )
    )
    source = torch.randint(4, 10, (8, 4))
    source_lengths = torch.full((8,), 4)
    targets = torch.cat([source.flip(1), torch.full((8, 1), EOS)], dim=1)
    inputs = torch.cat([torch.full((8, 1), BOS), source.flip(1)], dim=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(120):
        optimizer.zero_grad()
        loss, count = sequence_loss(model(source, source_lengths, inputs), targets, pad_id=PAD)
        (loss / count).backward()
        optimizer.step()
    assert float(loss.detach() / count) < 0.05
