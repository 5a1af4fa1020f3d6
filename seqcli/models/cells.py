"""The textbook recurrent cells, one time step each, written as the course writes them.

Every cell reads the concatenation ``[a<t-1>, x<t>]`` (hidden first, input second) through
one ``nn.Linear`` per gate, named after the gate: ``update`` (Γu), ``forget`` (Γf),
``output`` (Γo), ``relevance`` (Γr) and ``candidate`` (c̃). So ``cell.update.weight`` is the
course's ``W_u = [W_ua | W_ux]`` of shape ``(H, H + I)``. The formulas are in
docs/maths.md ("Recurrent cells"); these modules are slower than cuDNN's fused kernels and exist to be
read, compared and experimented with.

API shared by all cells: ``forward(x: (B, I), state) -> state`` where ``state`` is the hidden
``h: (B, H)`` or, for cells whose ``has_cell_state`` is True, the pair ``(h, c)``.

Copying from PyTorch: ``load_native_weights(weight_ih, weight_hh, bias_ih, bias_hh)`` takes
one layer and direction of ``nn.RNN``/``nn.GRU``/``nn.LSTM`` (e.g. ``weight_ih_l0``). The
native gate order maps to these names as

- ``nn.LSTM`` rows ``(i, f, g, o)`` → ``(update, forget, candidate, output)``;
- ``nn.GRU`` rows ``(r, z, n)`` → ``(relevance, 1 − update, candidate)``;
- ``nn.RNN`` → ``linear``;

with ``W = [weight_hh | weight_ih]`` and ``b = bias_ih + bias_hh`` for each gate.

>>> cell = LSTMCell(input_size=3, hidden_size=4)
>>> h, c = cell(torch.zeros(2, 3), (torch.zeros(2, 4), torch.zeros(2, 4)))
>>> tuple(h.shape), tuple(c.shape), cell.has_cell_state
((2, 4), (2, 4), True)
"""

from __future__ import annotations

import math
from typing import TypeAlias

import torch
from torch import Tensor, nn

__all__ = [
    "GRUCell",
    "LSTMCell",
    "PeepholeLSTMCell",
    "SimplifiedGRUCell",
    "State",
    "VanillaRNNCell",
]

State: TypeAlias = Tensor | tuple[Tensor, Tensor]
"""A recurrent state: the hidden ``h``, or ``(h, c)`` for cells that carry a cell state."""


class _Cell(nn.Module):
    """What the cells share: sizes, the ``has_cell_state`` flag and PyTorch's initialisation."""

    has_cell_state = False

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size

    def _gate(self) -> nn.Linear:
        """One gate's affine map ``W [a<t-1>, x<t>] + b``: ``(B, H + I) -> (B, H)``."""
        return nn.Linear(self.hidden_size + self.input_size, self.hidden_size)

    def reset_parameters(self) -> None:
        # Same scheme as nn.RNN/GRU/LSTM, so native and textbook cells start out comparable.
        bound = 1.0 / math.sqrt(self.hidden_size)
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"


def _concat_weight(weight_ih: Tensor, weight_hh: Tensor) -> Tensor:
    """``[W_hh | W_ih]``: ``(G, H), (G, I) -> (G, H + I)``, matching ``[a<t-1>, x<t>]``."""
    return torch.cat([weight_hh, weight_ih], dim=1)


@torch.no_grad()
def _copy_gates(
    gates: list[nn.Linear], weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor, bias_hh: Tensor
) -> None:
    """Split native stacked rows ``(len(gates) * H, ·)`` into ``gates``, in order."""
    weights = _concat_weight(weight_ih, weight_hh).chunk(len(gates))
    biases = (bias_ih + bias_hh).chunk(len(gates))
    for gate, weight, bias in zip(gates, weights, biases, strict=True):
        gate.weight.copy_(weight)
        gate.bias.copy_(bias)


class VanillaRNNCell(_Cell):
    """``a<t> = g(W_a [a<t-1>, x<t>] + b_a)`` with g = tanh or relu; ``W_a = [W_aa | W_ax]``.

    ``forward(x: (B, I), h: (B, H)) -> h: (B, H)``.
    """

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh") -> None:
        super().__init__(input_size, hidden_size)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self.linear = self._gate()
        self.reset_parameters()

    def forward(self, x: Tensor, state: Tensor) -> Tensor:
        pre_activation = self.linear(torch.cat([state, x], dim=1))
        return torch.tanh(pre_activation) if self.nonlinearity == "tanh" else pre_activation.relu()

    def load_native_weights(
        self, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor, bias_hh: Tensor
    ) -> None:
        """Copy one layer/direction of ``nn.RNN`` (same nonlinearity) into this cell."""
        _copy_gates([self.linear], weight_ih, weight_hh, bias_ih, bias_hh)


class SimplifiedGRUCell(_Cell):
    """The GRU with the update gate only (``a<t> = c<t>``)::

        c̃<t> = tanh(W_c [c<t-1>, x<t>] + b_c)
        Γu   = σ(W_u [c<t-1>, x<t>] + b_u)
        c<t> = Γu * c̃<t> + (1 − Γu) * c<t-1>

    ``forward(x: (B, I), c: (B, H)) -> c: (B, H)``. There is no native counterpart.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        self.update = self._gate()
        self.candidate = self._gate()
        self.reset_parameters()

    def forward(self, x: Tensor, state: Tensor) -> Tensor:
        joint = torch.cat([state, x], dim=1)  # (B, H + I)
        update = torch.sigmoid(self.update(joint))
        candidate = torch.tanh(self.candidate(joint))
        return update * candidate + (1 - update) * state


class GRUCell(_Cell):
    """The full GRU as the course writes it, with the relevance gate Γr::

        Γr   = σ(W_r [c<t-1>, x<t>] + b_r)
        Γu   = σ(W_u [c<t-1>, x<t>] + b_u)
        c̃<t> = tanh(W_c [Γr * c<t-1>, x<t>] + b_c)
        c<t> = Γu * c̃<t> + (1 − Γu) * c<t-1>

    Γr scales ``c<t-1>`` *before* the matrix product (Cho et al. 2014). ``nn.GRU`` follows
    the cuDNN variant, ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``: r scales the
    product. Both are valid GRUs; with the same weights they give different outputs unless
    Γr ≡ 1. nn.GRU's z also keeps the old state where Γu takes the new one: Γu = 1 − z.

    ``forward(x: (B, I), c: (B, H)) -> c: (B, H)``.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        self.relevance = self._gate()
        self.update = self._gate()
        self.candidate = self._gate()
        self.reset_parameters()

    def forward(self, x: Tensor, state: Tensor) -> Tensor:
        joint = torch.cat([state, x], dim=1)  # (B, H + I)
        relevance = torch.sigmoid(self.relevance(joint))
        update = torch.sigmoid(self.update(joint))
        candidate = torch.tanh(self.candidate(torch.cat([relevance * state, x], dim=1)))
        return update * candidate + (1 - update) * state

    def load_native_weights(
        self, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor, bias_hh: Tensor
    ) -> None:
        """Copy one layer/direction of ``nn.GRU``; equal to it exactly when Γr ≡ 1.

        The update rows are negated because ``σ(−v) = 1 − σ(v)`` turns nn.GRU's keep gate
        z into Γu.
        """
        _copy_gates([self.relevance, self.update, self.candidate], weight_ih, weight_hh, bias_ih, bias_hh)
        with torch.no_grad():
            self.update.weight.neg_()
            self.update.bias.neg_()


class LSTMCell(_Cell):
    """The LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000)::

        Γu, Γf, Γo = σ(W_{u,f,o} [a<t-1>, x<t>] + b_{u,f,o})
        c̃<t> = tanh(W_c [a<t-1>, x<t>] + b_c)
        c<t> = Γu * c̃<t> + Γf * c<t-1>
        a<t> = Γo * tanh(c<t>)

    ``forward(x: (B, I), (h, c): ((B, H), (B, H))) -> (h, c)``.
    """

    has_cell_state = True

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        self.update = self._gate()
        self.forget = self._gate()
        self.candidate = self._gate()
        self.output = self._gate()
        self.reset_parameters()

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        hidden, cell_state = state
        joint = torch.cat([hidden, x], dim=1)  # (B, H + I)
        update = torch.sigmoid(self.update(joint))
        forget = torch.sigmoid(self.forget(joint))
        output = torch.sigmoid(self.output(joint))
        cell_state = update * torch.tanh(self.candidate(joint)) + forget * cell_state
        return output * torch.tanh(cell_state), cell_state

    def load_native_weights(
        self, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor, bias_hh: Tensor
    ) -> None:
        """Copy one layer/direction of ``nn.LSTM``: rows (i, f, g, o) → (Γu, Γf, c̃, Γo)."""
        gates = [self.update, self.forget, self.candidate, self.output]
        _copy_gates(gates, weight_ih, weight_hh, bias_ih, bias_hh)


class PeepholeLSTMCell(LSTMCell):
    """The LSTM whose gates also look at the cell state ("peephole connections")::

        Γu = σ(W_u [a<t-1>, x<t>] + p_u * c<t-1> + b_u)
        Γf = σ(W_f [a<t-1>, x<t>] + p_f * c<t-1> + b_f)
        c<t> = Γu * c̃<t> + Γf * c<t-1>
        Γo = σ(W_o [a<t-1>, x<t>] + p_o * c<t> + b_o)
        a<t> = Γo * tanh(c<t>)

    The peephole weights ``p_u, p_f, p_o: (H,)`` are diagonal (each unit sees only its own
    cell), as in Gers & Schmidhuber 2000, "Recurrent nets that time and count", and Gers,
    Schraudolph & Schmidhuber 2002, JMLR 3. With zero peepholes this is :class:`LSTMCell`.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        self.peephole_update = nn.Parameter(torch.empty(hidden_size))
        self.peephole_forget = nn.Parameter(torch.empty(hidden_size))
        self.peephole_output = nn.Parameter(torch.empty(hidden_size))
        self.reset_parameters()

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        hidden, cell_state = state
        joint = torch.cat([hidden, x], dim=1)  # (B, H + I)
        update = torch.sigmoid(self.update(joint) + self.peephole_update * cell_state)
        forget = torch.sigmoid(self.forget(joint) + self.peephole_forget * cell_state)
        cell_state = update * torch.tanh(self.candidate(joint)) + forget * cell_state
        # Γo peeks at the new c<t>, which is why it is computed after the cell update.
        output = torch.sigmoid(self.output(joint) + self.peephole_output * cell_state)
        return output * torch.tanh(cell_state), cell_state

    def load_native_weights(
        self, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor, bias_hh: Tensor
    ) -> None:
        """Copy ``nn.LSTM`` weights and zero the peepholes, so the cell equals nn.LSTM."""
        super().load_native_weights(weight_ih, weight_hh, bias_ih, bias_hh)
        for peephole in (self.peephole_update, self.peephole_forget, self.peephole_output):
            nn.init.zeros_(peephole)
