"""Checkpoints are data: atomic writes, validated config, no code execution on load."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest
import torch

from seqcli.atomic import atomic_path, atomic_write_text
from seqcli.errors import SeqcliError
from seqcli.train import checkpoint


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch /tmp/seqcli-pwned",))


def test_a_planted_pickle_that_would_run_code_is_refused(tmp_path: Path) -> None:
    marker = Path("/tmp/seqcli-pwned")
    marker.unlink(missing_ok=True)
    (tmp_path / "state").mkdir()
    (tmp_path / checkpoint.STATE_FILE).write_bytes(pickle.dumps({"model": _RunsCode()}))
    with pytest.raises(SeqcliError, match="cannot be loaded safely"):
        checkpoint.load_state(tmp_path)
    assert not marker.exists()


def test_state_round_trip_with_tensors(tmp_path: Path) -> None:
    state = {"model": {"w": torch.arange(3.0)}, "position": {"step": 3}, "hidden": (torch.ones(1, 2, 3),)}
    checkpoint.save_state(tmp_path, state)
    loaded = checkpoint.load_state(tmp_path)
    assert torch.equal(loaded["model"]["w"], state["model"]["w"]) and loaded["position"]["step"] == 3


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"format_version": 1, "task": "lm"}, "missing keys: model"),
        ({"format_version": 7, "task": "lm", "model": {}}, "newer than this seqcli"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_config_is_validated(tmp_path: Path, config: object, message: str) -> None:
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(SeqcliError, match=message):
        checkpoint.read_config(tmp_path)


def test_failed_atomic_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_metrics_ignore_a_torn_last_line_and_truncate_on_resume(tmp_path: Path) -> None:
    for step in (1, 2, 3):
        checkpoint.append_metrics(tmp_path, {"step": step})
    with open(tmp_path / checkpoint.METRICS_FILE, "a") as handle:
        handle.write('{"step": 4, "tr')
    assert [r["step"] for r in checkpoint.read_metrics(tmp_path)] == [1, 2, 3]
    checkpoint.truncate_metrics(tmp_path, 2)
    assert [r["step"] for r in checkpoint.read_metrics(tmp_path)] == [1, 2]
