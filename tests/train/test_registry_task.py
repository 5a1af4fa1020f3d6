"""A second task plugs into the spine through the registry, the data layer and the Trainer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from seqcli.metrics.selection import Metric
from seqcli.tasks import TASKS, evaluate_checkpoint
from seqcli.tasks.registry import EvalRequest, TaskEntry
from seqcli.train import checkpoint

ROOT = Path(__file__).parents[2]
TOY = Path(__file__).with_name("toy_task.py")


@pytest.fixture
def toy_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = TaskEntry("toy", "toy classifier", Metric("accuracy", "max"), "tests.train.toy_task")
    monkeypatch.setitem(TASKS, "toy", entry)


def run_toy(run_dir: Path, max_tokens: int, processes: int = 1) -> None:
    launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(processes)]
    command = [sys.executable, *(launcher if processes > 1 else []), str(TOY), str(run_dir), str(max_tokens)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_a_registered_task_trains_selects_the_highest_accuracy_and_evaluates(
    tmp_path: Path, toy_registered: None
) -> None:
    from tests.train import toy_task

    toy_task.train(tmp_path, max_tokens=96, steps=40, lr=1.0)
    valid = [r["valid"]["accuracy"] for r in checkpoint.read_metrics(tmp_path) if "valid" in r]
    record = checkpoint.weights_record(tmp_path)
    assert record["metric"] == "accuracy" and record["score"] == max(valid)
    evaluation = evaluate_checkpoint(tmp_path, EvalRequest(data=()))
    assert evaluation.figures["accuracy"] == pytest.approx(max(valid))
    assert evaluation.details == ["toy details"]


@pytest.mark.slow
def test_two_ranks_with_half_batches_equal_one_process_on_padded_batches(tmp_path: Path) -> None:
    run_toy(tmp_path / "one", max_tokens=48)
    run_toy(tmp_path / "two", max_tokens=24, processes=2)
    one, two = (checkpoint.load_state(tmp_path / run) for run in ("one", "two"))
    assert two["position"]["step"] == one["position"]["step"] == 12
    for name, tensor in one["model"].items():
        torch.testing.assert_close(two["model"][name], tensor, rtol=0, atol=1e-5)
    assert (tmp_path / "two" / "labels.json").is_file()
