from __future__ import annotations

import pytest

from seqcli.train.schedule import Schedule


def test_step_schedule_follows_zaremba() -> None:
    schedule = Schedule("step", 1.0, decay=0.5, decay_start=4)
    rates = [schedule.lr(step=0, epoch=epoch, progress=0.0) for epoch in range(7)]
    assert rates == [1.0, 1.0, 1.0, 1.0, 0.5, 0.25, 0.125]


def test_plateau_decays_only_without_improvement() -> None:
    schedule = Schedule("plateau", 20.0, decay=0.25)
    for improved in (True, True, False, True, False):
        schedule.observe(improved)
    assert schedule.lr(step=0, epoch=0, progress=0.0) == pytest.approx(20.0 * 0.25**2)


def test_cosine_anneals_to_zero_and_warmup_is_linear() -> None:
    schedule = Schedule("cosine", 1.0, warmup_steps=10)
    assert schedule.lr(step=4, epoch=0, progress=0.0) == pytest.approx(0.5)
    assert schedule.lr(step=100, epoch=0, progress=0.5) == pytest.approx(0.5)
    assert schedule.lr(step=100, epoch=0, progress=1.0) == pytest.approx(0.0, abs=1e-12)


def test_state_round_trip() -> None:
    schedule = Schedule("plateau", 1.0)
    schedule.observe(True)
    schedule.observe(False)
    restored = Schedule("plateau", 1.0)
    restored.load_state_dict(schedule.state_dict())
    assert restored.lr(step=0, epoch=0, progress=0) == schedule.lr(step=0, epoch=0, progress=0) == 0.25
