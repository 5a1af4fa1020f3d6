"""How many CPU threads torch's kernels use: what was asked, or the CPUs free right now.

torch (through OpenMP) defaults to one thread per core and assumes the cores are its own.
On a shared machine they are not: when another job holds a core, every parallel region
waits at its barrier for the thread that lost its core, and a small recurrent model, which
runs thousands of tiny parallel regions per step, slows down many times over (two 2-thread
trainings on 2 cores ran 1.8× slower than with one thread each, 56× under a heavier load).
So, unless ``--threads`` says otherwise, seqcli counts the CPUs this process may use that
other processes are not keeping busy, and takes that many (at least one). On an idle
machine that is every core, as before.

Busy CPUs are measured from ``/proc/stat`` (Linux): the non-idle share of each CPU this
process may run on, over a short interval. :class:`ThreadGovernor` repeats the measurement
during a long run, with this process's own CPU time taken out, so a training that started
alone gives cores back when another job starts, and takes them again when it ends.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from seqcli.errors import SeqcliError

__all__ = ["ThreadGovernor", "busy_cpus", "configure_threads", "usable_cpus"]

_SAMPLE_SECONDS = 0.1  # long enough for 10 scheduler ticks at 100 Hz
_IDLE_FIELDS = (3, 4)  # idle, iowait in a /proc/stat cpuN line (after the name)


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity, capped by a cgroup CPU quota if any."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(cpus, quota)) if quota else cpus


def _cgroup_quota() -> int | None:
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else max(1, int(int(quota) / int(period) + 0.5))


@dataclass(frozen=True)
class _Snapshot:
    """Non-idle and total CPU seconds of the CPUs we may use, and ours, at one moment."""

    wall: float
    busy: float
    own: float


def _snapshot() -> _Snapshot | None:
    try:
        allowed = {f"cpu{n}" for n in os.sched_getaffinity(0)}
        lines = Path("/proc/stat").read_text().splitlines()
    except (OSError, AttributeError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    busy = 0
    for line in lines:
        name, *fields = line.split()
        if name in allowed:
            values = [int(v) for v in fields[:8]]
            busy += sum(values) - sum(values[i] for i in _IDLE_FIELDS)
    return _Snapshot(time.monotonic(), busy / tick, time.process_time())


def _others_busy(before: _Snapshot, after: _Snapshot) -> float:
    """CPUs kept busy by other processes between two snapshots (ours taken out)."""
    wall = after.wall - before.wall
    if wall <= 0:
        return 0.0
    return max(0.0, (after.busy - before.busy) - (after.own - before.own)) / wall


def busy_cpus(seconds: float = _SAMPLE_SECONDS) -> float:
    """How many of our CPUs other processes keep busy, measured over ``seconds``; 0 if unknown.

    >>> 0.0 <= busy_cpus(0.02) <= usable_cpus()
    True
    """
    before = _snapshot()
    if before is None:
        return 0.0
    time.sleep(seconds)
    after = _snapshot()
    return 0.0 if after is None else min(float(usable_cpus()), _others_busy(before, after))


def _free_threads(others: float, processes: int, usable: int) -> int:
    """Threads for one of ``processes`` local processes when ``others`` of ``usable`` CPUs
    are taken.

    >>> _free_threads(0.1, 1, 2), _free_threads(1.2, 1, 2), _free_threads(5.0, 1, 2)
    (2, 1, 1)
    >>> _free_threads(0.0, 2, 16), _free_threads(3.4, 1, 16)
    (8, 13)
    """
    share = max(1, usable // max(1, processes))
    return max(1, min(share, usable - round(others)))


class ThreadGovernor:
    """Sets torch's thread count now and, on :meth:`rebalance`, again from the current load.

    ``requested`` (``--threads``) fixes the count for good; so does ``OMP_NUM_THREADS`` in
    the environment. Otherwise the count follows the CPUs free (module docstring).
    ``processes`` is the number of seqcli processes sharing this machine's CPUs (torchrun's
    ``LOCAL_WORLD_SIZE``, read from the environment when not given).
    """

    def __init__(self, requested: int | None, *, processes: int | None = None) -> None:
        if requested is not None and requested < 1:
            raise SeqcliError(f"--threads must be at least 1, got {requested}")
        self.fixed = requested is not None or "OMP_NUM_THREADS" in os.environ
        self.processes = processes or int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        if requested is not None:
            torch.set_num_threads(requested)
        elif not self.fixed:
            torch.set_num_threads(_free_threads(busy_cpus(), self.processes, usable_cpus()))
        self.threads = torch.get_num_threads()
        self._last = _snapshot()

    def rebalance(self) -> int:
        """Measure the load since the last call and adjust the thread count; returns it.

        Cheap (one read of /proc/stat): call it every half minute or so of a long run.
        """
        now = _snapshot()
        if self.fixed or now is None or self._last is None:
            return self.threads
        threads = _free_threads(_others_busy(self._last, now), self.processes, usable_cpus())
        self._last = now
        if threads != self.threads:
            torch.set_num_threads(threads)
            self.threads = threads
        return threads


def configure_threads(requested: int | None) -> int:
    """Set torch's CPU threads: ``requested`` (>= 1), else the CPUs free now; returns the count."""
    return ThreadGovernor(requested).threads
