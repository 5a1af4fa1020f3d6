"""The recurrent stack every task uses: deep, optionally bidirectional, batch-first.

``--cell`` picks the cell (:data:`CELL_TYPES`). The native cells wrap ``nn.RNN``/``nn.GRU``/
``nn.LSTM`` (cuDNN on GPU); the textbook cells of :mod:`seqcli.models.cells` run in a Python
loop over layers and time, so any formula of the course can be inspected and changed.

State format, for both kinds, is PyTorch's: ``h: (L*D, B, H)`` or, for cells with a cell
state, ``(h, c)`` of that shape; row ``l*D + d`` is layer l, direction d (0 forward,
1 backward). ``state=None`` means ``a<0> = 0``.

>>> stack = RecurrentStack(RecurrentConfig(input_size=3, hidden_size=4, num_layers=2,
...                                        bidirectional=True))
>>> outputs, (h, c) = stack(torch.zeros(5, 7, 3))
>>> tuple(outputs.shape), tuple(h.shape), stack.output_size
((5, 7, 8), (4, 5, 4), 8)
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqcli.models import packed
from seqcli.models.cells import (
    GRUCell,
    LSTMCell,
    PeepholeLSTMCell,
    SimplifiedGRUCell,
    State,
    VanillaRNNCell,
)

__all__ = [
    "CELL_TYPES",
    "RecurrentConfig",
    "RecurrentStack",
    "detach_state",
    "select_state",
]

CELL_TYPES: dict[str, str] = {
    "rnn": "vanilla RNN, tanh (nn.RNN)",
    "rnn-relu": "vanilla RNN, relu (nn.RNN)",
    "gru": "GRU, cuDNN variant: reset gate after the matrix product (nn.GRU)",
    "lstm": "LSTM (nn.LSTM)",
    "rnn-textbook": "vanilla RNN a<t> = tanh(W_a [a<t-1>, x<t>] + b_a), Python loop",
    "gru-simple": "simplified GRU, update gate only, Python loop",
    "gru-textbook": "full GRU, relevance gate before the matrix product, Python loop",
    "lstm-textbook": "LSTM with update/forget/output gates, Python loop",
    "lstm-peephole": "LSTM whose gates also see the cell state (Gers & Schmidhuber), Python loop",
}
"""The names accepted by ``--cell``, each with a one-line description for ``--help``."""

_NATIVE: dict[str, Callable[..., nn.RNNBase]] = {
    "rnn": functools.partial(nn.RNN, nonlinearity="tanh"),
    "rnn-relu": functools.partial(nn.RNN, nonlinearity="relu"),
    "gru": nn.GRU,
    "lstm": nn.LSTM,
}

_TEXTBOOK: dict[str, Callable[[int, int], nn.Module]] = {
    "rnn-textbook": VanillaRNNCell,
    "gru-simple": SimplifiedGRUCell,
    "gru-textbook": GRUCell,
    "lstm-textbook": LSTMCell,
    "lstm-peephole": PeepholeLSTMCell,
}


@dataclass(frozen=True)
class RecurrentConfig:
    """Shape of a :class:`RecurrentStack`; ``dropout`` applies between layers only."""

    input_size: int
    hidden_size: int
    cell: str = "lstm"
    num_layers: int = 1
    dropout: float = 0.0
    bidirectional: bool = False

    def __post_init__(self) -> None:
        if self.cell not in CELL_TYPES:
            raise ValueError(f"unknown cell {self.cell!r}; choose one of {', '.join(CELL_TYPES)}")
        for name in ("input_size", "hidden_size", "num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1


def _map_state(function: Callable[..., Tensor], *states: State) -> State:
    """Apply ``function`` to the tensor ``states``, or part-wise to ``(h, c)`` tuples."""
    if isinstance(states[0], tuple):
        return tuple(function(*parts) for parts in zip(*states, strict=True))
    return function(*states)


def detach_state(state: State) -> State:
    """Cut the graph behind ``state`` (truncated BPTT keeps the values, drops the history)."""
    return _map_state(Tensor.detach, state)


def select_state(state: State, index: Tensor) -> State:
    """Pick batch rows: ``(L*D, B, H)`` and ``index: (B',)`` -> ``(L*D, B', H)``.

    >>> select_state(torch.arange(6.0).view(1, 3, 2), torch.tensor([2, 2, 0])).tolist()
    [[[4.0, 5.0], [4.0, 5.0], [0.0, 1.0]]]
    """
    return _map_state(lambda part: part.index_select(1, index), state)


class RecurrentStack(nn.Module):
    """``num_layers`` recurrent layers, each optionally bidirectional; batch-first.

    Native cells live in ``self.native`` (an ``nn.RNN``/``nn.GRU``/``nn.LSTM``); textbook
    cells in ``self.cells[layer][direction]``, where direction 1 reads the sequence
    reversed. Exactly one of the two is set.
    """

    def __init__(self, config: RecurrentConfig) -> None:
        super().__init__()
        self.config = config
        self.native: nn.RNNBase | None = None
        self.cells: nn.ModuleList | None = None
        if config.cell in _NATIVE:
            self.native = _build_native(config)  # applies its own dropout between layers
        else:
            self.cells = _build_textbook(config)
            self.dropout = nn.Dropout(config.dropout)

    @property
    def output_size(self) -> int:
        """Width of the outputs, ``D*H``: directions are concatenated [forward, backward]."""
        return self.config.num_directions * self.config.hidden_size

    @property
    def has_cell_state(self) -> bool:
        """True when the state is ``(h, c)`` (LSTM-type cells), False when it is ``h``."""
        if self.native is not None:
            return self.native.mode == "LSTM"
        return self.cells[0][0].has_cell_state

    def forward(
        self, inputs: Tensor, state: State | None = None, lengths: Tensor | None = None
    ) -> tuple[Tensor, State]:
        """Run the stack over a batch.

        ``inputs: (B, T, I)``; ``state``: ``(L*D, B, H)`` or a pair of them, None for zeros;
        ``lengths: (B,)`` real lengths (>= 1, any device) of right-padded sequences, None if
        unpadded.
        Returns ``outputs: (B, T, D*H)``, zero at padded steps, and the state after each
        sequence's last real step (the backward direction starts at each real end).
        """
        if self.native is not None:
            return self._native_forward(inputs, state, lengths)
        return self._textbook_forward(inputs, state, lengths)

    def step(self, inputs: Tensor, state: State) -> tuple[Tensor, State]:
        """One time step of a unidirectional stack, as searches take them: ``inputs: (B, I)``
        and ``state`` as for :meth:`forward` (not None) -> ``outputs: (B, H)``, the new state.

        Searching on a CPU (no autograd, eval mode), native cells run their equations here,
        through :func:`~seqcli.models.packed.linear` (see there why); everywhere else this
        is :meth:`forward` on a one-step sequence.
        """
        if self.native is None or self.config.bidirectional or self.training or not packed.applies(inputs):
            outputs, state = self(inputs[:, None], state)
            return outputs[:, 0], state
        return _native_step(self.native, inputs, state)

    def _native_forward(
        self, inputs: Tensor, state: State | None, lengths: Tensor | None
    ) -> tuple[Tensor, State]:
        if lengths is None:
            return self.native(inputs, state)
        # Packing makes cuDNN stop each sequence at its end, both directions included.
        packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
        packed_outputs, state = self.native(packed, state)
        outputs, _ = pad_packed_sequence(packed_outputs, batch_first=True, total_length=inputs.size(1))
        return outputs, state

    def _textbook_forward(
        self, inputs: Tensor, state: State | None, lengths: Tensor | None
    ) -> tuple[Tensor, State]:
        state = self._zero_state(inputs) if state is None else state
        mask = _valid_steps(lengths, inputs)
        final_states: list[State] = []
        outputs = inputs
        for layer in range(self.config.num_layers):
            if layer > 0:
                outputs = self.dropout(outputs)
            outputs = self._textbook_layer(layer, outputs, state, mask, final_states)
        return outputs, _map_state(lambda *parts: torch.stack(parts), *final_states)

    def _textbook_layer(
        self, layer: int, inputs: Tensor, state: State, mask: Tensor, final_states: list[State]
    ) -> Tensor:
        """Both directions of one layer: ``(B, T, I) -> (B, T, D*H)``; appends final states."""
        directions = []
        for direction, cell in enumerate(self.cells[layer]):
            row = layer * self.config.num_directions + direction
            initial = _map_state(operator.itemgetter(row), state)  # (B, H)
            output, final = _run_cell(cell, inputs, initial, mask, reverse=direction == 1)
            directions.append(output)
            final_states.append(final)
        return torch.cat(directions, dim=2)

    def _zero_state(self, inputs: Tensor) -> State:
        """``a<0> = 0`` (and ``c<0> = 0``): ``(L*D, B, H)`` like ``inputs``."""
        config = self.config
        size = (config.num_layers * config.num_directions, inputs.size(0), config.hidden_size)
        hidden = inputs.new_zeros(size)
        return (hidden, hidden) if self.has_cell_state else hidden


def _native_step(native: nn.RNNBase, inputs: Tensor, state: State) -> tuple[Tensor, State]:
    """One step of ``nn.RNN``/``nn.GRU``/``nn.LSTM`` by their documented equations, layer by
    layer, with their weights (gates stacked as they store them: r z n; i f g o)."""
    lstm = native.mode == "LSTM"
    hidden, cell = state if lstm else (state, None)
    new_hidden, new_cell = [], []
    outputs = inputs
    for layer, (w_ih, w_hh, b_ih, b_hh) in enumerate(native.all_weights):
        h = hidden[layer]
        from_input, from_hidden = packed.linear(outputs, w_ih, b_ih), packed.linear(h, w_hh, b_hh)
        if native.mode == "GRU":
            input_r, input_z, input_n = from_input.chunk(3, 1)
            hidden_r, hidden_z, hidden_n = from_hidden.chunk(3, 1)
            reset, update = torch.sigmoid(input_r + hidden_r), torch.sigmoid(input_z + hidden_z)
            new = torch.tanh(input_n + reset * hidden_n)
            outputs = (h - new) * update + new  # (1 - z) n + z h, as ATen computes it
        elif lstm:
            i, f, g, o = (from_input + from_hidden).chunk(4, 1)
            c = torch.sigmoid(f) * cell[layer] + torch.sigmoid(i) * torch.tanh(g)
            outputs = torch.sigmoid(o) * torch.tanh(c)
            new_cell.append(c)
        else:
            total = from_input + from_hidden
            outputs = torch.tanh(total) if native.mode == "RNN_TANH" else torch.relu(total)
        new_hidden.append(outputs)
    hidden = torch.stack(new_hidden)
    return outputs, ((hidden, torch.stack(new_cell)) if lstm else hidden)


def _build_native(config: RecurrentConfig) -> nn.RNNBase:
    return _NATIVE[config.cell](
        config.input_size,
        config.hidden_size,
        num_layers=config.num_layers,
        batch_first=True,
        # nn.RNNBase warns about dropout with one layer, where "between layers" is empty.
        dropout=config.dropout if config.num_layers > 1 else 0.0,
        bidirectional=config.bidirectional,
    )


def _build_textbook(config: RecurrentConfig) -> nn.ModuleList:
    """``cells[layer][direction]``; layers above the first read ``D*H`` wide inputs."""
    make_cell = _TEXTBOOK[config.cell]
    below = config.num_directions * config.hidden_size
    widths = [config.input_size] + [below] * (config.num_layers - 1)
    return nn.ModuleList(
        nn.ModuleList(make_cell(width, config.hidden_size) for _ in range(config.num_directions))
        for width in widths
    )


def _valid_steps(lengths: Tensor | None, inputs: Tensor) -> Tensor:
    """``(B, T)`` bool, True at real steps; all True without ``lengths``."""
    batch, steps = inputs.shape[:2]
    if lengths is None:
        return torch.ones(batch, steps, dtype=torch.bool, device=inputs.device)
    positions = torch.arange(steps, device=inputs.device)
    return positions < lengths.to(inputs.device)[:, None]


def _run_cell(
    cell: nn.Module, inputs: Tensor, state: State, mask: Tensor, reverse: bool
) -> tuple[Tensor, State]:
    """One layer, one direction: ``inputs: (B, T, I)`` -> ``outputs: (B, T, H)``, final state.

    At padded steps the state is carried unchanged, so the forward pass ends at each
    sequence's last real step and the reversed pass starts from ``state`` at its real end.
    """
    steps = range(inputs.size(1))
    outputs = []
    for t in reversed(steps) if reverse else steps:
        valid = mask[:, t, None]  # (B, 1)
        state = _map_state(functools.partial(torch.where, valid), cell(inputs[:, t], state), state)
        hidden = state[0] if cell.has_cell_state else state
        outputs.append(hidden * valid)
    if reverse:
        outputs.reverse()
    return torch.stack(outputs, dim=1), state
