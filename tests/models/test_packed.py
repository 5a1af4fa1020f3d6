"""Search's CPU path: oneDNN linear layers with packed weights, and the one-step recurrent
stack built on them, give the products and states of the ordinary layers."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seqcli.models import packed
from seqcli.models.packed import linear
from seqcli.models.rnn import RecurrentConfig, RecurrentStack
from seqcli.models.seq2seq import Seq2Seq, Seq2SeqConfig

needs_onednn = pytest.mark.skipif(not packed._usable, reason="this torch build has no oneDNN")


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@needs_onednn
@pytest.mark.parametrize("rows", [1, 5, 64])
def test_linear_is_the_layers_product_through_the_packed_weight(rows: int) -> None:
    layer = nn.Linear(48, 300)
    inputs = torch.randn(rows, 48)
    with torch.inference_mode():
        expected = layer(inputs)
        got = linear(inputs, layer.weight, layer.bias)
        assert packed._packed.get(layer.weight) is not None  # the oneDNN path, not the fallback
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


@needs_onednn
def test_linear_keeps_leading_dimensions_and_takes_no_bias() -> None:
    weight = torch.randn(7, 5)
    inputs = torch.randn(2, 3, 5)
    with torch.no_grad():
        got = linear(inputs, weight)
    assert got.shape == (2, 3, 7)
    torch.testing.assert_close(got, F.linear(inputs, weight), rtol=1e-5, atol=1e-5)


@needs_onednn
def test_a_weight_changed_in_place_is_packed_again() -> None:
    layer = nn.Linear(6, 4)
    inputs = torch.randn(3, 6)
    optimiser = torch.optim.SGD(layer.parameters(), lr=1.0)
    with torch.no_grad():
        before = linear(inputs, layer.weight, layer.bias)
    layer(inputs).sum().backward()
    optimiser.step()  # in place, as training between two validations does
    with torch.no_grad():
        after = linear(inputs, layer.weight, layer.bias)
        torch.testing.assert_close(after, layer(inputs), rtol=1e-5, atol=1e-5)
        layer.load_state_dict({"weight": torch.zeros(4, 6), "bias": torch.ones(4)})
        assert torch.equal(linear(inputs, layer.weight, layer.bias), torch.ones(3, 4))
    assert not torch.allclose(before, after)


def test_linear_under_autograd_is_the_ordinary_differentiable_product() -> None:
    layer = nn.Linear(6, 4)
    inputs = torch.randn(3, 6, requires_grad=True)
    outputs = linear(inputs, layer.weight, layer.bias)
    assert torch.equal(outputs, layer(inputs))
    outputs.sum().backward()
    assert inputs.grad is not None and layer.weight.grad is not None


def test_linear_falls_back_for_good_when_onednn_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(weight: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("no oneDNN here")

    monkeypatch.setattr(packed, "_usable", True)
    monkeypatch.setattr(packed, "_packed_weight", refuse)
    layer = nn.Linear(6, 4)
    inputs = torch.randn(3, 6)
    with torch.inference_mode():
        assert torch.equal(linear(inputs, layer.weight, layer.bias), layer(inputs))
    assert packed._usable is False


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn", "rnn-relu"])
def test_a_recurrent_step_in_search_equals_a_one_step_forward(cell: str) -> None:
    stack = RecurrentStack(RecurrentConfig(5, 8, cell, num_layers=2)).eval()
    inputs = torch.randn(4, 5)
    hidden = torch.randn(2, 4, 8)
    state = (hidden, torch.randn(2, 4, 8)) if cell == "lstm" else hidden
    with torch.inference_mode():
        expected_outputs, expected_state = stack(inputs[:, None], state)
        outputs, new_state = stack.step(inputs, state)
    torch.testing.assert_close(outputs, expected_outputs[:, 0], rtol=1e-5, atol=1e-6)
    for got, expected in zip(_parts(new_state), _parts(expected_state), strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_a_recurrent_step_while_training_is_the_stack_itself() -> None:
    stack = RecurrentStack(RecurrentConfig(5, 8, "gru", num_layers=2, dropout=0.5)).train()
    inputs, state = torch.randn(4, 5), torch.randn(2, 4, 8)
    torch.manual_seed(1)
    outputs, _ = stack.step(inputs, state)
    torch.manual_seed(1)
    expected, _ = stack(inputs[:, None], state)
    assert torch.equal(outputs, expected[:, 0])  # the same dropout masks: the same path
    assert outputs.grad_fn is not None


@pytest.mark.parametrize(
    ("attention", "cell"),
    [
        ("bahdanau", "gru"),
        ("luong-general", "gru"),
        ("none", "gru"),
        ("bahdanau", "lstm"),
        ("luong-dot", "gru-textbook"),
    ],
)
def test_a_translator_step_in_search_gives_the_ordinary_layers_log_probabilities(
    attention: str, cell: str
) -> None:
    config = Seq2SeqConfig(
        source_vocab_size=30,
        target_vocab_size=50,
        cell=cell,
        embedding_dim=8,
        hidden_size=12,
        num_layers=2,
        attention=attention,
    )
    model = Seq2Seq(config).eval()
    source, lengths = torch.tensor([[4, 5, 6, 3], [7, 3, 0, 0]]), torch.tensor([4, 2])
    tokens = torch.tensor([2, 9])
    encoded, state = model.encode(source, lengths)
    expected, expected_state = model.step(tokens, state, encoded)  # autograd on: nn.GRU, F.linear
    with torch.inference_mode():
        encoded, state = model.encode(source, lengths)
        log_probs, new_state = model.step(tokens, state, encoded)
    torch.testing.assert_close(log_probs, expected.detach(), rtol=1e-5, atol=1e-5)
    for got, expected in zip(_parts(new_state.hidden), _parts(expected_state.hidden), strict=True):
        torch.testing.assert_close(got, expected.detach(), rtol=1e-5, atol=1e-6)


def _parts(state: torch.Tensor | tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """A recurrent state's tensors: ``h``, or an LSTM's ``(h, c)``."""
    return state if isinstance(state, tuple) else (state,)
