"""Shared fixtures: an isolated token cache, the toy corpus, and running the CLI in-process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from seqcli.cli.app import main

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class CliResult:
    status: int
    stdout: str
    stderr: str


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("SEQCLI_CACHE_DIR", str(cache))
    return cache


@pytest.fixture
def toy_corpus() -> Path:
    return DATA / "tiny_shakespeare.txt"


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):
    """Run ``seqcli ARGS…`` in this process; return its exit status and output."""

    def run(*args: object) -> CliResult:
        capsys.readouterr()
        try:
            main([str(arg) for arg in args])
            status = 0
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        out = capsys.readouterr()
        return CliResult(status, out.out, out.err)

    return run
