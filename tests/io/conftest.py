"""Fixtures for the hostile-input tests (the harness itself is tests/io/hostile.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.io.hostile import check_outcome


@pytest.fixture
def hostile_outcome() -> Callable[[str, Callable[[], object]], None]:
    return check_outcome
