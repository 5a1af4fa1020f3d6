"""The contract between a model and every search: a step function and a state it may reorder.

A decoder (sampling, greedy, beam search, CTC with LM fusion) sees a model only as
``step(tokens, state) -> (log_probs, state)``: ``tokens (B,)`` are the last tokens of B
sequences, ``log_probs (B, V)`` the natural-log distribution of the next token, and
``state`` whatever the model carries from step to step (opaque to search). Beam search
keeps, drops and duplicates rows between steps; :func:`reorder_state` does that to any
nested state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from seqcli.models.rnn import select_state

__all__ = ["State", "StepFn", "reorder_state"]

State = Any  # opaque to search: whatever the model's step returns, passed back unchanged
StepFn = Callable[[Tensor, State], tuple[Tensor, State]]
"""``(tokens (B,), state) -> (log_probs (B, V), state)``."""


def reorder_state(state: State, index: Tensor, *, dim: int = 1) -> State:
    """Keep rows ``index (B',)`` of every tensor in ``state`` along its batch dimension ``dim``.

    The default ``dim=1`` fits recurrent state in PyTorch's layout ``(L*D, B, H)`` (a tensor,
    or an ``(h, c)`` pair); use ``dim=0`` for batch-first tensors such as encoder outputs
    ``(B, T, H)`` carried in the state. Tuples (named ones keep their type), lists and dicts
    are walked recursively;
    ``None`` and non-tensors pass through unchanged.

    >>> import torch
    >>> h = torch.arange(6.0).view(1, 3, 2)
    >>> reorder_state((h, None), torch.tensor([2, 0]))[0].tolist()
    [[[4.0, 5.0], [0.0, 1.0]]]
    >>> reorder_state({"memory": torch.arange(3.0)[:, None]}, torch.tensor([1, 1]), dim=0)["memory"].tolist()
    [[1.0], [1.0]]
    """
    if isinstance(state, Tensor):
        if dim == 1 and state.dim() == 3:
            return select_state(state, index)  # the recurrent layout, one implementation
        return state.index_select(dim, index.to(state.device))
    if isinstance(state, tuple):
        parts = [reorder_state(part, index, dim=dim) for part in state]
        return type(state)(*parts) if hasattr(state, "_fields") else tuple(parts)  # named tuples stay named
    if isinstance(state, list):
        return [reorder_state(part, index, dim=dim) for part in state]
    if isinstance(state, dict):
        return {key: reorder_state(part, index, dim=dim) for key, part in state.items()}
    return state
