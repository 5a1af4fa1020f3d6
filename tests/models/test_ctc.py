"""The CTC acoustic model: shapes, padding-independence, and that it can learn."""

from __future__ import annotations

import pytest
import torch

from seqcli.decode.ctc import ctc_greedy
from seqcli.models.ctc import AcousticModel, AcousticModelConfig, ctc_loss_sum, min_ctc_frames


def small(**changes) -> AcousticModel:
    torch.manual_seed(0)
    settings = dict(vocab_size=6, n_mels=16, conv_channels=4, hidden_size=16, num_layers=2, dropout=0.0)
    return AcousticModel(AcousticModelConfig(**(settings | changes))).eval()


@pytest.mark.parametrize(("subsampling", "expected"), [(1, [9, 4, 1]), (2, [5, 2, 1]), (4, [3, 1, 1])])
def test_output_lengths_follow_the_subsampling(subsampling: int, expected: list[int]) -> None:
    model = small(subsampling=subsampling)
    lengths = torch.tensor([9, 4, 1])
    log_probs, frames = model(torch.randn(3, 9, 16), lengths)
    assert frames.tolist() == expected == model.output_lengths(lengths).tolist()
    assert log_probs.shape == (3, expected[0], 6)
    torch.testing.assert_close(log_probs[0].exp().sum(-1), torch.ones(expected[0]))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_a_padded_batch_equals_its_utterances_one_by_one(cell: str) -> None:
    model = small(cell=cell)
    first, second = torch.randn(23, 16), torch.randn(10, 16)
    batch = torch.zeros(2, 23, 16)
    batch[0], batch[1, :10] = first, second
    log_probs, frames = model(batch, torch.tensor([23, 10]))
    alone, alone_frames = model(second[None], torch.tensor([10]))
    assert frames[1] == alone_frames[0]
    torch.testing.assert_close(log_probs[1, : frames[1]], alone[0], atol=1e-5, rtol=1e-5)
    assert log_probs[1, frames[1] :].abs().sum() == 0


def test_overfits_two_utterances() -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: extra threads only contend
    try:
        _overfit()
    finally:
        torch.set_num_threads(threads)


def _overfit() -> None:
    model = small(subsampling=2).train()
    features = torch.randn(2, 40, 16, generator=torch.Generator().manual_seed(1))
    lengths, targets = torch.tensor([40, 30]), [[1, 2, 2, 3], [4, 5]]
    flat, target_lengths = torch.tensor([1, 2, 2, 3, 4, 5]), torch.tensor([4, 2])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    for _ in range(70):
        log_probs, frames = model(features, lengths)
        loss = ctc_loss_sum(log_probs, frames, flat, target_lengths) / 2
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    log_probs, frames = model(features, lengths)
    assert [h.tokens for h in ctc_greedy(log_probs, frames)] == targets
    assert loss.item() < 0.5


def test_min_ctc_frames_counts_blanks_between_repeats() -> None:
    assert min_ctc_frames([1, 1, 1]) == 5
    assert min_ctc_frames([1, 2, 1]) == 3
