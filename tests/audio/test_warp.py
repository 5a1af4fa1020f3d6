"""Vocal tract length perturbation: the warp's shape, and what it does to a tone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqcli.audio import FeatureConfig, VocalTractWarp, log_mel
from seqcli.audio.warp import BEND, vtlp_map
from tests.audio.test_features import tone

CONFIG = FeatureConfig(sample_rate=8000, n_mels=40)


@pytest.mark.parametrize("alpha", [0.85, 0.9, 1.0, 1.1, 1.2])
def test_the_warp_scales_low_frequencies_and_keeps_the_top_in_place(alpha: float) -> None:
    top = 4000.0
    hz = torch.linspace(0.0, top, 4001, dtype=torch.float64)
    warped = vtlp_map(hz, alpha, top)
    knee = BEND * top * min(alpha, 1.0) / alpha
    below = hz <= knee
    torch.testing.assert_close(warped[below], alpha * hz[below])
    assert float(warped[-1]) == pytest.approx(top)
    assert bool((warped.diff() > 0).all())  # monotone: no two frequencies land on one
    around = vtlp_map(torch.tensor([knee - 1e-6, knee + 1e-6], dtype=torch.float64), alpha, top)
    assert float(around[1] - around[0]) < 1e-5  # continuous at the knee


@pytest.mark.parametrize("alpha", [0.9, 1.1])
@pytest.mark.parametrize("frequency", [400.0, 900.0, 1600.0])
def test_warping_a_tone_moves_it_where_a_tone_of_another_pitch_lies(alpha: float, frequency: float) -> None:
    """Band i takes the energy at w(c_i): a tone at f, warped by α, peaks where a tone at f/α does."""
    warp = VocalTractWarp(CONFIG, 0.2)
    features = log_mel(torch.from_numpy(tone(frequency, 8000)), CONFIG)
    expected = log_mel(torch.from_numpy(tone(frequency / alpha, 8000)), CONFIG)
    peak = int(warp.apply(features, alpha).mean(0).argmax())
    assert peak == int(expected.mean(0).argmax())
    assert peak != int(features.mean(0).argmax())  # the tone did move


def test_a_warp_interpolates_between_neighbouring_bands_and_draws_from_the_generator() -> None:
    warp = VocalTractWarp(CONFIG, 0.1)
    features = torch.randn(30, 40)
    assert torch.equal(warp.apply(features, 1.0), features)
    warped = warp.apply(features, 1.07)
    assert warped.shape == features.shape
    # each band is a convex mix of two neighbours: never beyond the frame's own range
    assert bool((warped <= features.max(dim=1, keepdim=True).values + 1e-6).all())
    assert bool((warped >= features.min(dim=1, keepdim=True).values - 1e-6).all())
    first = warp(features, torch.Generator().manual_seed(3))
    assert torch.equal(first, warp(features, torch.Generator().manual_seed(3)))
    assert not torch.equal(first, warp(features, torch.Generator().manual_seed(4)))
    with pytest.raises(ValueError, match="warp"):
        VocalTractWarp(CONFIG, 0.0)
    assert np.isfinite(warped.numpy()).all()
