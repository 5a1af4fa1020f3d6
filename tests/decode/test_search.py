"""reorder_state selects beams in any nested state; sampling shares the search contract."""

from __future__ import annotations

import torch

from seqcli.decode import sampling, search
from seqcli.decode.search import reorder_state
from seqcli.models.rnn import RecurrentConfig, RecurrentStack


def test_sampling_uses_the_search_contract() -> None:
    assert sampling.StepFn is search.StepFn and sampling.State is search.State


def test_reordered_lstm_state_continues_like_the_selected_rows() -> None:
    torch.manual_seed(0)
    stack = RecurrentStack(RecurrentConfig(input_size=3, hidden_size=5, num_layers=2))
    inputs = torch.randn(4, 6, 3)
    _, state = stack(inputs)
    index = torch.tensor([3, 3, 0])
    continued, _ = stack(inputs[index, :2], reorder_state(state, index))
    for row, source in enumerate(index.tolist()):
        alone, _ = stack(inputs[source : source + 1, :2], reorder_state(state, torch.tensor([source])))
        torch.testing.assert_close(continued[row], alone[0])


def test_batch_first_parts_and_passengers() -> None:
    state = {"h": torch.arange(6.0).view(1, 3, 2), "step": 7}
    out = reorder_state(state, torch.tensor([2, 1]))
    assert out["h"].tolist() == [[[4.0, 5.0], [2.0, 3.0]]]
    assert out["step"] == 7
    out = reorder_state([torch.arange(3.0)[:, None], None], torch.tensor([2, 1]), dim=0)
    assert out[0].tolist() == [[2.0], [1.0]] and out[1] is None
