"""Thread count: what --threads asks, else the CPUs other processes leave free."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from seqcli.errors import SeqcliError
from seqcli.train import threads
from seqcli.train.threads import ThreadGovernor, _Snapshot, busy_cpus, configure_threads, usable_cpus


@pytest.fixture(autouse=True)
def restore_threads(monkeypatch: pytest.MonkeyPatch):
    before = torch.get_num_threads()
    for name in ("OMP_NUM_THREADS", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def four_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "usable_cpus", lambda: 4)


def test_requested_threads_are_used_as_given() -> None:
    assert configure_threads(1) == 1 and torch.get_num_threads() == 1


@pytest.mark.parametrize("bad", [0, -2])
def test_fewer_than_one_thread_is_refused(bad: int) -> None:
    with pytest.raises(SeqcliError, match=f"--threads must be at least 1, got {bad}"):
        configure_threads(bad)


@pytest.mark.parametrize(("others", "expected"), [(0.0, 4), (0.3, 4), (1.4, 3), (2.6, 1), (9.0, 1)])
def test_default_takes_the_cpus_other_processes_leave_free(
    monkeypatch: pytest.MonkeyPatch, four_cpus: None, others: float, expected: int
) -> None:
    monkeypatch.setattr(threads, "busy_cpus", lambda: others)
    assert configure_threads(None) == expected == torch.get_num_threads()


def test_local_processes_share_the_cpus(monkeypatch: pytest.MonkeyPatch, four_cpus: None) -> None:
    monkeypatch.setattr(threads, "busy_cpus", lambda: 0.0)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert configure_threads(None) == 2


def test_omp_num_threads_in_the_environment_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.set_num_threads(1)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(threads, "busy_cpus", lambda: pytest.fail("measured despite OMP_NUM_THREADS"))
    governor = ThreadGovernor(None)
    assert governor.threads == 1 and governor.rebalance() == 1


def test_rebalance_follows_the_load_of_other_processes(
    monkeypatch: pytest.MonkeyPatch, four_cpus: None
) -> None:
    monkeypatch.setattr(threads, "busy_cpus", lambda: 0.0)
    # (wall, busy CPU-seconds of our CPUs, our own CPU-seconds) at successive calls
    snapshots = iter([(0, 0, 0), (10, 40, 10), (20, 60, 20), (30, 70, 30)])
    monkeypatch.setattr(threads, "_snapshot", lambda: _Snapshot(*next(snapshots)))
    governor = ThreadGovernor(None)
    assert governor.threads == 4
    assert governor.rebalance() == 1  # others kept 3 CPUs busy: 40 - 10 over 10 s
    assert governor.rebalance() == 3  # others: (20 - 10) / 10 = 1 CPU
    assert governor.rebalance() == 4 == torch.get_num_threads()  # others gone


def test_requested_threads_never_rebalance(monkeypatch: pytest.MonkeyPatch) -> None:
    governor = ThreadGovernor(1)
    monkeypatch.setattr(threads, "_free_threads", lambda *a: pytest.fail("rebalanced a fixed count"))
    assert governor.rebalance() == 1


def test_a_spinning_process_is_measured_as_busy() -> None:
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        assert busy_cpus(0.3) >= 0.5
    finally:
        spinner.kill()
        spinner.wait()
    assert usable_cpus() >= 1
