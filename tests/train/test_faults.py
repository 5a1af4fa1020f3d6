"""Faults: signals, kill -9 at any moment, a full disk. Real processes where it matters."""

from __future__ import annotations

import errno
import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from seqcli.errors import SeqcliError
from seqcli.tasks.lm_use import load_language_model
from seqcli.text import load_tokenizer
from seqcli.train import checkpoint
from seqcli.train.trainer import TrainConfig, Trainer

# --schedule constant: resumed runs here end at another --max-steps than they started with,
# and the default cosine schedule anneals to whichever limit a run has.
MODEL = ["--hidden", "64", "--layers", "2", "--bptt", "16", "--batch-size", "4", "--threads", "1", "--quiet",
         "--schedule", "constant"]  # fmt: skip


def seqcli_process(*args: object) -> subprocess.Popen:
    command = [sys.executable, "-m", "seqcli", *map(str, args)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def read_stderr_until(process: subprocess.Popen, text: str, timeout: float = 60.0) -> None:
    seen, deadline = "", time.monotonic() + timeout
    while text not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"never saw {text!r} on stderr, only {seen!r}"
        if select.select([process.stderr], [], [], remaining)[0]:
            seen += process.stderr.readline()


def state_step(run_dir: Path) -> int:
    return checkpoint.load_state(run_dir)["position"]["step"]


def test_sigterm_saves_state_and_resume_matches_an_uninterrupted_run(
    toy_corpus: Path, tmp_path: Path
) -> None:
    interrupted = seqcli_process(
        "train-lm", toy_corpus, "-o", tmp_path / "split", "--max-steps", 100000, *MODEL
    )
    wait_for(tmp_path / "split" / checkpoint.METRICS_FILE)
    interrupted.send_signal(signal.SIGTERM)
    _, stderr = interrupted.communicate(timeout=60)
    assert interrupted.returncode == 143, stderr
    assert "--resume" in stderr
    stopped_at = state_step(tmp_path / "split")
    target = stopped_at + 5
    resumed = seqcli_process(
        "train-lm", toy_corpus, "-o", tmp_path / "split", "--max-steps", target, "--resume", *MODEL
    )
    whole = seqcli_process("train-lm", toy_corpus, "-o", tmp_path / "whole", "--max-steps", target, *MODEL)
    for process in (resumed, whole):
        assert process.wait(timeout=120) == 0, process.communicate()[1]
    split_state, whole_state = (checkpoint.load_state(tmp_path / n) for n in ("split", "whole"))
    assert split_state["position"]["step"] == whole_state["position"]["step"] == target
    for name, tensor in whole_state["model"].items():
        torch.testing.assert_close(split_state["model"][name], tensor, rtol=0, atol=1e-6)


def test_stop_request_records_the_first_signal_and_exits_at_the_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from seqcli.train import signals

    exits: list[int] = []
    monkeypatch.setattr(signals.os, "_exit", exits.append)
    with signals.StopRequest() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.signum == signal.SIGINT and exits == []
        os.kill(os.getpid(), signal.SIGINT)
        assert exits == [130]
    with signals.StopRequest() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
    assert stop.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is not stop._handle  # handlers restored


def test_a_second_interrupt_exits_at_once_leaving_a_loadable_checkpoint(
    toy_corpus: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    big = [
        "--hidden",
        "256",
        "--layers",
        "2",
        "--bptt",
        "64",
        "--batch-size",
        "4",
        "--threads",
        "1",
        "--quiet",
    ]
    assert (
        seqcli_process("train-lm", toy_corpus, "-o", run_dir, "--max-steps", 2, *big).wait(timeout=120) == 0
    )
    logged = (run_dir / checkpoint.METRICS_FILE).read_text().count("\n")
    # Resume with no saves until the end, so the second signal meets the final save, not a
    # periodic one that could finish first.
    process = seqcli_process(
        "train-lm", toy_corpus, "-o", run_dir, "--resume", "--max-steps", 10**6, "--eval-every", 10**6, *big
    )
    while (run_dir / checkpoint.METRICS_FILE).read_text().count("\n") == logged:
        assert process.poll() is None, process.communicate()[1]
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    # Two signals before Python's handler runs count as one, so wait for the first to land.
    read_stderr_until(process, "stopping after this step")
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    # 130 from our handler, or death by SIGINT if the second came as Python was already
    # exiting: either way interrupted, promptly, and the checkpoint intact.
    assert process.returncode in (130, -signal.SIGINT)
    load_language_model(run_dir, torch.device("cpu"))
    assert state_step(run_dir) >= 2
    # The write the second signal cut short may leave a temporary file; the next run sweeps it.
    assert seqcli_process("train-lm", toy_corpus, "-o", run_dir, "--resume", *big).wait(timeout=120) == 0
    assert not list(run_dir.rglob("*.tmp"))
    # One history: no step logged twice after the interrupted, resumed run.
    records = [(r["step"], "valid" in r) for r in checkpoint.read_metrics(run_dir)]
    assert len(records) == len(set(records))


def wait_for_new_save(run_dir: Path, after: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while (
        not (run_dir / checkpoint.STATE_FILE).exists()
        or (run_dir / checkpoint.STATE_FILE).stat().st_mtime_ns == after
    ):
        assert time.monotonic() < deadline, "the writer never saved"
        time.sleep(0.02)


def test_a_ctrl_c_while_seqcli_prints_its_last_line_exits_with_the_interrupt_status(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The second Ctrl-C of the test above, when it comes after the save, lands here: while
    # the message is written. It used to raise KeyboardInterrupt: a traceback and status 1.
    from seqcli.cli import app

    class InterruptedStderr:
        def write(self, text: str) -> None:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(sys, "stderr", InterruptedStderr())
    handler = signal.getsignal(signal.SIGINT)
    try:
        app._fail("interrupted; state saved", 130)
    except SystemExit as leaving:
        status: object = leaving.code
    except KeyboardInterrupt:
        status = "KeyboardInterrupt"
    finally:
        signal.signal(signal.SIGINT, handler)
    assert status == 130


def test_kill_9_at_random_moments_never_leaves_an_unloadable_checkpoint(
    toy_corpus: Path, tmp_path: Path
) -> None:
    rng = random.Random(0)
    run_dir = tmp_path / "run"
    args = [
        toy_corpus,
        "-o",
        run_dir,
        "--valid",
        toy_corpus,
        "--eval-every",
        1,
        "--max-steps",
        100000,
        *MODEL,
    ]
    process, last_save, loaded_steps = seqcli_process("train-lm", *args), 0, []
    for _ in range(8):
        wait_for_new_save(run_dir, after=last_save)  # the writer is in its save-every-step loop
        time.sleep(rng.uniform(0.0, 0.3))
        process.kill()  # SIGKILL: no handler runs, whatever was mid-write stays mid-write
        process.wait()
        loaded = load_language_model(run_dir, torch.device("cpu"))  # config, tokenizer, weights
        assert loaded.tokenizer.vocab_size == load_tokenizer(run_dir).vocab_size
        loaded_steps.append(state_step(run_dir))
        assert checkpoint.weights_record(run_dir)["step"] <= loaded_steps[-1] + 1
        last_save = (run_dir / checkpoint.STATE_FILE).stat().st_mtime_ns
        process = seqcli_process("train-lm", *args, "--resume")
    process.kill()
    process.wait()
    assert loaded_steps == sorted(loaded_steps) and loaded_steps[-1] > loaded_steps[0]


class Constant:
    unit = "ex"

    def steps_per_epoch(self) -> int:
        return 4

    def train_batches(self, epoch: int, start: int):
        for _ in range(start, 4):
            yield torch.ones(2, 1)

    def loss(self, model: nn.Module, batch):
        return model(batch).pow(2).mean(), 2

    def evaluate(self, model: nn.Module):
        return {"loss": 1.0}

    def describe(self, loss: float):
        return {}

    def state_dict(self):
        return {}

    def load_state_dict(self, state) -> None:
        pass


def test_a_full_disk_at_save_time_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(checkpoint, "atomic_write_bytes", no_space)
    trainer = Trainer(
        Constant(), nn.Linear(1, 1), TrainConfig(epochs=1), tmp_path, device=torch.device("cpu"), quiet=True
    )
    with pytest.raises(
        SeqcliError, match=r"trainer\.pt: cannot save the checkpoint \(No space left on device\)"
    ):
        trainer.fit()


def torchrun(*args: object) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "seqcli",
        *map(str, args),
    ]
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


# SGD, not Adam: Adam divides by sqrt(v), so a gradient that is zero in exact arithmetic but
# ±1e-12 after a differently ordered reduction becomes a full ±lr step. SGD keeps rounding
# noise at rounding size, so the comparison tests DDP's gradients, not Adam's sign of zero.
DDP = ["--hidden", "32", "--layers", "1", "--bptt", "8", "--dropout", "0", "--optimizer", "sgd", "--lr", ".5",
       "--schedule", "constant", "--threads", "1", "--quiet", "--device", "cpu"]  # fmt: skip


@pytest.mark.slow
def test_two_ranks_with_half_batches_equal_one_process_and_resume_under_torchrun(
    toy_corpus: Path, tmp_path: Path
) -> None:
    command = ["train-lm", toy_corpus, "-o", tmp_path / "one", "--batch-size", 4, "--max-steps", 8, *DDP]
    single = subprocess.run(
        [sys.executable, "-m", "seqcli", *map(str, command)], capture_output=True, text=True, timeout=300
    )
    assert single.returncode == 0, single.stderr
    whole = torchrun(
        "train-lm", toy_corpus, "-o", tmp_path / "two", "--batch-size", 2, "--max-steps", 8, *DDP
    )
    assert whole.returncode == 0, whole.stderr
    done_lines = [line for line in whole.stderr.splitlines() if line.startswith("done (")]
    assert len(done_lines) <= 1  # rank 0 alone reports (none here: --quiet)
    first = torchrun(
        "train-lm", toy_corpus, "-o", tmp_path / "resumed", "--batch-size", 2, "--max-steps", 3, *DDP
    )
    assert first.returncode == 0, first.stderr
    rest = torchrun(
        "train-lm",
        toy_corpus,
        "-o",
        tmp_path / "resumed",
        "--batch-size",
        2,
        "--max-steps",
        8,
        "--resume",
        *DDP,
    )
    assert rest.returncode == 0, rest.stderr
    reference = checkpoint.load_state(tmp_path / "one")["model"]
    for run in ("two", "resumed"):
        state = checkpoint.load_state(tmp_path / run)
        assert state["position"]["step"] == 8
        for name, tensor in reference.items():
            torch.testing.assert_close(state["model"][name], tensor, rtol=0, atol=1e-5)
    assert json.loads((tmp_path / "two" / "config.json").read_text())["data"]["batch_size"] == 2
