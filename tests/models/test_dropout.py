"""Locked dropout: one mask per sequence, at dropout's rate and scale; nothing in eval."""

from __future__ import annotations

import pytest
import torch

from seqcli.models.dropout import LockedDropout


def test_each_sequence_drops_the_same_units_at_every_step() -> None:
    torch.manual_seed(0)
    out = LockedDropout(0.4).train()(torch.ones(8, 12, 50))
    torch.testing.assert_close(out, out[:, :1].expand_as(out))
    assert not torch.equal(out[0, 0], out[1, 0])  # but each sequence has its own mask


def test_rate_and_scale_keep_the_expectation() -> None:
    torch.manual_seed(1)
    p = 0.3
    out = LockedDropout(p).train()(torch.ones(400, 3, 100))
    kept = out[:, 0] != 0
    assert kept.float().mean().item() == pytest.approx(1 - p, abs=0.01)
    torch.testing.assert_close(out[:, 0][kept], torch.full_like(out[:, 0][kept], 1 / (1 - p)))


def test_evaluation_and_zero_rate_change_nothing() -> None:
    inputs = torch.randn(2, 5, 7)
    assert torch.equal(LockedDropout(0.5).eval()(inputs), inputs)
    assert torch.equal(LockedDropout(0.0).train()(inputs), inputs)


def test_rate_outside_zero_one_is_refused() -> None:
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 1.0"):
        LockedDropout(1.0)
