"""RecurrentStack: textbook and native cells agree, padding is invisible, state is PyTorch's."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import torch
from torch import nn

from seqcli.models.rnn import (
    CELL_TYPES,
    RecurrentConfig,
    RecurrentStack,
    detach_state,
    select_state,
)

BATCH, STEPS, INPUT, HIDDEN = 3, 6, 5, 4
LENGTHS = torch.tensor([6, 2, 4])


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def make_stack(cell: str, num_layers: int = 2, bidirectional: bool = False) -> RecurrentStack:
    return RecurrentStack(
        RecurrentConfig(INPUT, HIDDEN, cell, num_layers=num_layers, bidirectional=bidirectional)
    )


def copy_native_into_textbook(native: RecurrentStack, textbook: RecurrentStack) -> None:
    """Layer l, direction d of nn.LSTM/GRU/RNN is ``weight_ih_l{l}[_reverse]`` and so on."""
    for layer, cells in enumerate(textbook.cells):
        for direction, cell in enumerate(cells):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            cell.load_native_weights(*(getattr(native.native, n + suffix) for n in names))


def random_state(stack: RecurrentStack) -> torch.Tensor | tuple:
    config = stack.config
    size = (config.num_layers * config.num_directions, BATCH, HIDDEN)
    return (torch.randn(size), torch.randn(size)) if stack.has_cell_state else torch.randn(size)


def assert_close(actual: Any, expected: Any) -> None:
    """Tensors, or ``(h, c)`` pairs (a tuple never equals a tensor), to 1e-5."""
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_textbook_lstm_matches_nn_lstm(bidirectional: bool) -> None:
    native = make_stack("lstm", num_layers=2, bidirectional=bidirectional)
    textbook = make_stack("lstm-textbook", num_layers=2, bidirectional=bidirectional)
    copy_native_into_textbook(native, textbook)
    inputs, state = torch.randn(BATCH, STEPS, INPUT), random_state(native)
    expected_outputs, expected_state = native(inputs, state)
    outputs, final_state = textbook(inputs, state)
    assert_close(outputs, expected_outputs)
    assert_close(final_state, expected_state)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_textbook_rnn_matches_nn_rnn(bidirectional: bool) -> None:
    native = make_stack("rnn", bidirectional=bidirectional)
    textbook = make_stack("rnn-textbook", bidirectional=bidirectional)
    copy_native_into_textbook(native, textbook)
    inputs = torch.randn(BATCH, STEPS, INPUT)
    expected_outputs, expected_state = native(inputs)
    outputs, final_state = textbook(inputs)
    assert_close(outputs, expected_outputs)
    assert_close(final_state, expected_state)


def test_textbook_gru_differs_from_nn_gru() -> None:
    """The course's GRU scales c<t-1> by Γr *before* W_c: tanh(W_c [Γr * c<t-1>, x<t>] + b_c).

    nn.GRU uses the cuDNN variant, tanh(W_in x + b_in + r * (W_hn h + b_hn)), scaling the
    product instead. Same weights, different functions: the outputs must differ, agree
    again once Γr is forced to 1, and the textbook step must be the course formula.
    """
    native = make_stack("gru", num_layers=1)
    textbook = make_stack("gru-textbook", num_layers=1)
    copy_native_into_textbook(native, textbook)
    inputs, state = torch.randn(BATCH, STEPS, INPUT), random_state(native)
    assert (textbook(inputs, state)[0] - native(inputs, state)[0]).abs().max() > 1e-3

    with torch.no_grad():
        native.native.bias_ih_l0[:HIDDEN].fill_(50.0)  # r = 1 in nn.GRU ...
        textbook.cells[0][0].relevance.bias.fill_(50.0)  # ... and Γr = 1 here
    assert_close(textbook(inputs, state)[0], native(inputs, state)[0])

    cell, x, c = textbook.cells[0][0], torch.randn(BATCH, INPUT), torch.randn(BATCH, HIDDEN)
    torch.nn.init.normal_(cell.relevance.bias)  # Γr away from 1 again
    outputs, final = textbook(x[:, None], c[None])  # one step
    torch.testing.assert_close(final[0], course_gru_step(cell, x, c), atol=1e-6, rtol=0)
    torch.testing.assert_close(outputs[:, 0], final[0], atol=0, rtol=0)


def course_gru_step(cell: nn.Module, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """The full GRU of docs/maths.md written out; a column of ones carries each bias."""
    W_r, W_u, W_c = (
        torch.cat([gate.weight, gate.bias[:, None]], 1)
        for gate in (cell.relevance, cell.update, cell.candidate)
    )
    one = torch.ones(len(x), 1)
    relevance = torch.sigmoid(torch.cat([c, x, one], 1) @ W_r.T)
    update = torch.sigmoid(torch.cat([c, x, one], 1) @ W_u.T)
    candidate = torch.tanh(torch.cat([relevance * c, x, one], 1) @ W_c.T)
    return update * candidate + (1 - update) * c


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", list(CELL_TYPES))
def test_padded_batch_equals_each_sequence_alone(cell: str, bidirectional: bool) -> None:
    stack = make_stack(cell, bidirectional=bidirectional).eval()
    inputs, state = torch.randn(BATCH, STEPS, INPUT), random_state(stack)
    outputs, final_state = stack(inputs, state, lengths=LENGTHS)
    for row, length in enumerate(LENGTHS.tolist()):
        index = torch.tensor([row])
        alone, alone_state = stack(inputs[row : row + 1, :length], select_state(state, index))
        assert_close(outputs[row, :length], alone[0])
        assert not outputs[row, length:].any(), "padded steps must give zero outputs"
        assert_close(select_state(final_state, index), alone_state)


@pytest.mark.parametrize("cell", list(CELL_TYPES))
def test_every_cell_gives_shapes_and_gradients(cell: str) -> None:
    stack = make_stack(cell, num_layers=2, bidirectional=True)
    inputs = torch.randn(BATCH, STEPS, INPUT, requires_grad=True)
    outputs, state = stack(inputs)
    assert outputs.shape == (BATCH, STEPS, 2 * HIDDEN) and stack.output_size == 2 * HIDDEN
    parts = state if stack.has_cell_state else (state,)
    assert isinstance(state, tuple) is stack.has_cell_state
    assert all(part.shape == (2 * 2, BATCH, HIDDEN) for part in parts)
    (outputs.sum() + sum(part.sum() for part in parts)).backward()
    assert inputs.grad.abs().sum() > 0
    for name, parameter in stack.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize("cell", list(CELL_TYPES))
def test_carrying_the_state_across_windows_equals_one_pass(cell: str) -> None:
    stack = make_stack(cell)
    inputs = torch.randn(BATCH, STEPS, INPUT)
    whole, whole_state = stack(inputs)
    first, state = stack(inputs[:, :2])
    second, state = stack(inputs[:, 2:], detach_state(state))
    assert_close(torch.cat([first, second], 1), whole)
    assert_close(state, whole_state)


@pytest.mark.parametrize("cell", ["lstm", "gru-textbook"])
def test_no_state_means_zero_state(cell: str) -> None:
    stack = make_stack(cell, bidirectional=True)
    inputs, zeros = torch.randn(BATCH, STEPS, INPUT), random_state(stack)
    zeros = tuple(z.zero_() for z in zeros) if stack.has_cell_state else zeros.zero_()
    torch.testing.assert_close(stack(inputs)[0], stack(inputs, zeros)[0], atol=0, rtol=0)


@pytest.mark.parametrize("cell", ["lstm", "lstm-textbook"])
def test_dropout_acts_between_layers_only(cell: str) -> None:
    config = RecurrentConfig(INPUT, HIDDEN, cell, num_layers=1, dropout=0.5)
    one_layer, inputs = RecurrentStack(config), torch.randn(BATCH, STEPS, INPUT)
    torch.testing.assert_close(one_layer.train()(inputs)[0], one_layer.eval()(inputs)[0])
    two_layers = RecurrentStack(dataclasses.replace(config, num_layers=2))
    assert not torch.equal(two_layers.train()(inputs)[0], two_layers.eval()(inputs)[0])


def test_detach_state_keeps_values_and_cuts_the_graph() -> None:
    h = torch.randn(2, BATCH, HIDDEN, requires_grad=True)
    state = (h * 2, h * 3)
    detached = detach_state(state)
    assert isinstance(detached, tuple) and not any(part.requires_grad for part in detached)
    assert all(torch.equal(a, b) for a, b in zip(detached, state, strict=True))
    assert not detach_state(h * 2).requires_grad


def test_select_state_picks_batch_rows_of_both_parts() -> None:
    h, c = torch.randn(2, BATCH, HIDDEN), torch.randn(2, BATCH, HIDDEN)
    index = torch.tensor([2, 0, 0, 1])
    picked_h, picked_c = select_state((h, c), index)
    assert torch.equal(picked_h, h[:, index]) and torch.equal(picked_c, c[:, index])
    assert torch.equal(select_state(h, index), h[:, index])


def test_unknown_cell_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown cell 'lstn'.*lstm-peephole"):
        RecurrentConfig(input_size=INPUT, hidden_size=HIDDEN, cell="lstn")


@pytest.mark.parametrize(
    ("field", "value"),
    [("input_size", 0), ("hidden_size", 0), ("num_layers", 0), ("dropout", 1.0), ("dropout", -0.1)],
)
def test_config_rejects_out_of_range_values(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        RecurrentConfig(**{"input_size": INPUT, "hidden_size": HIDDEN, field: value})


def test_every_cell_type_has_a_description() -> None:
    assert set(CELL_TYPES) == {
        "rnn", "rnn-relu", "gru", "lstm",
        "rnn-textbook", "gru-simple", "gru-textbook", "lstm-textbook", "lstm-peephole",
    }  # fmt: skip
    assert all(description.strip() for description in CELL_TYPES.values())


def test_native_stack_is_the_pytorch_module_with_its_options() -> None:
    config = RecurrentConfig(
        input_size=INPUT, hidden_size=HIDDEN, cell="rnn-relu", num_layers=3, dropout=0.3,
        bidirectional=True,
    )  # fmt: skip
    native = RecurrentStack(config).native
    assert isinstance(native, nn.RNN) and native.nonlinearity == "relu"
    assert (native.num_layers, native.dropout, native.bidirectional) == (3, 0.3, True)
    assert native.batch_first
