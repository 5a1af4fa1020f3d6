"""The textbook cells follow docs/maths.md, and agree with PyTorch where they should."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqcli.models.cells import (
    GRUCell,
    LSTMCell,
    PeepholeLSTMCell,
    SimplifiedGRUCell,
    VanillaRNNCell,
)

BATCH, INPUT, HIDDEN = 3, 5, 4


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def step_input() -> torch.Tensor:
    return torch.randn(BATCH, INPUT)  # x<t>: (B, I)


def hidden() -> torch.Tensor:
    return torch.randn(BATCH, HIDDEN)  # a<t-1> or c<t-1>: (B, H)


def native_weights(native: nn.RNNCellBase) -> tuple[torch.Tensor, ...]:
    return native.weight_ih, native.weight_hh, native.bias_ih, native.bias_hh


def split(gate: nn.Linear) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The course's ``W = [W_a | W_x]`` and ``b`` of one gate."""
    return gate.weight[:, :HIDDEN], gate.weight[:, HIDDEN:], gate.bias


def affine(gate: nn.Linear, hidden: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``W_a a + W_x x + b`` written out, independently of the cell's concatenation."""
    w_a, w_x, b = split(gate)
    return hidden @ w_a.T + x @ w_x.T + b


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_vanilla_rnn_cell_equals_nn_rnn_cell(nonlinearity: str) -> None:
    native = nn.RNNCell(INPUT, HIDDEN, nonlinearity=nonlinearity)
    cell = VanillaRNNCell(INPUT, HIDDEN, nonlinearity=nonlinearity)
    cell.load_native_weights(*native_weights(native))
    x, h = step_input(), hidden()
    torch.testing.assert_close(cell(x, h), native(x, h), atol=1e-6, rtol=0)


def test_vanilla_rnn_cell_rejects_unknown_nonlinearity() -> None:
    with pytest.raises(ValueError, match="'tanh' or 'relu'"):
        VanillaRNNCell(INPUT, HIDDEN, nonlinearity="sigmoid")


def test_lstm_cell_equals_nn_lstm_cell() -> None:
    native = nn.LSTMCell(INPUT, HIDDEN)
    cell = LSTMCell(INPUT, HIDDEN)
    cell.load_native_weights(*native_weights(native))
    x, state = step_input(), (hidden(), hidden())
    for mine, theirs in zip(cell(x, state), native(x, state), strict=True):
        torch.testing.assert_close(mine, theirs, atol=1e-6, rtol=0)


def test_gru_cell_is_the_course_formula() -> None:
    cell = GRUCell(INPUT, HIDDEN)
    x, c = step_input(), hidden()
    relevance = torch.sigmoid(affine(cell.relevance, c, x))
    update = torch.sigmoid(affine(cell.update, c, x))
    candidate = torch.tanh(affine(cell.candidate, relevance * c, x))
    expected = update * candidate + (1 - update) * c
    torch.testing.assert_close(cell(x, c), expected, atol=1e-6, rtol=0)


def test_gru_cell_equals_nn_gru_cell_when_relevance_gate_is_open() -> None:
    """With Γr ≡ 1 the placement of Γr no longer matters, so the GRUs must agree."""
    native = nn.GRUCell(INPUT, HIDDEN)
    with torch.no_grad():
        native.bias_ih[:HIDDEN].fill_(50.0)  # r = σ(≈50) = 1
    cell = GRUCell(INPUT, HIDDEN)
    cell.load_native_weights(*native_weights(native))
    x, c = step_input(), hidden()
    torch.testing.assert_close(cell(x, c), native(x, c), atol=1e-6, rtol=0)


def test_simplified_gru_with_update_gate_forced_open_takes_the_candidate() -> None:
    cell = SimplifiedGRUCell(INPUT, HIDDEN)
    with torch.no_grad():
        cell.update.bias.fill_(50.0)  # Γu = 1
    x, c = step_input(), hidden()
    candidate = torch.tanh(affine(cell.candidate, c, x))
    torch.testing.assert_close(cell(x, c), candidate, atol=1e-6, rtol=0)


def test_simplified_gru_with_update_gate_forced_shut_keeps_the_memory() -> None:
    cell = SimplifiedGRUCell(INPUT, HIDDEN)
    with torch.no_grad():
        cell.update.bias.fill_(-50.0)  # Γu = 0
    x, c = step_input(), hidden()
    torch.testing.assert_close(cell(x, c), c, atol=1e-6, rtol=0)


def test_peephole_lstm_with_zero_peepholes_equals_lstm() -> None:
    lstm, peephole = LSTMCell(INPUT, HIDDEN), PeepholeLSTMCell(INPUT, HIDDEN)
    peephole.load_state_dict(lstm.state_dict(), strict=False)
    for name in ("peephole_update", "peephole_forget", "peephole_output"):
        nn.init.zeros_(getattr(peephole, name))
    x, state = step_input(), (hidden(), hidden())
    for mine, theirs in zip(peephole(x, state), lstm(x, state), strict=True):
        torch.testing.assert_close(mine, theirs, atol=1e-6, rtol=0)


def test_peephole_lstm_is_the_gers_schmidhuber_formula() -> None:
    """Γu and Γf see c<t-1>; Γo sees the new c<t>."""
    cell = PeepholeLSTMCell(INPUT, HIDDEN)
    x, (a, c) = step_input(), (hidden(), hidden())
    update = torch.sigmoid(affine(cell.update, a, x) + cell.peephole_update * c)
    forget = torch.sigmoid(affine(cell.forget, a, x) + cell.peephole_forget * c)
    new_c = update * torch.tanh(affine(cell.candidate, a, x)) + forget * c
    output = torch.sigmoid(affine(cell.output, a, x) + cell.peephole_output * new_c)
    h, cell_state = cell(x, (a, c))
    torch.testing.assert_close(cell_state, new_c, atol=1e-6, rtol=0)
    torch.testing.assert_close(h, output * torch.tanh(new_c), atol=1e-6, rtol=0)


def test_peephole_load_native_weights_zeroes_the_peepholes() -> None:
    native, cell = nn.LSTMCell(INPUT, HIDDEN), PeepholeLSTMCell(INPUT, HIDDEN)
    cell.load_native_weights(*native_weights(native))
    x, state = step_input(), (hidden(), hidden())
    for mine, theirs in zip(cell(x, state), native(x, state), strict=True):
        torch.testing.assert_close(mine, theirs, atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    ("cell_class", "has_cell_state"),
    [
        (VanillaRNNCell, False),
        (SimplifiedGRUCell, False),
        (GRUCell, False),
        (LSTMCell, True),
        (PeepholeLSTMCell, True),
    ],
)
def test_cells_declare_whether_they_carry_a_cell_state(
    cell_class: type[nn.Module], has_cell_state: bool
) -> None:
    cell = cell_class(INPUT, HIDDEN)
    state = (hidden(), hidden()) if has_cell_state else hidden()
    new_state = cell(step_input(), state)
    assert cell.has_cell_state is has_cell_state
    assert isinstance(new_state, tuple) is has_cell_state


def test_cells_start_like_nn_lstm_uniform_within_one_over_sqrt_hidden() -> None:
    values = torch.cat([p.flatten() for p in PeepholeLSTMCell(INPUT, HIDDEN).parameters()])
    bound = 1 / HIDDEN**0.5
    # nn.Linear's own default (1/sqrt(HIDDEN + INPUT)) would stay below 0.9 * bound.
    assert 0.9 * bound < values.abs().max() <= bound
