"""Fixtures of the `wfctl serve` tests: one served app per test, stopped afterwards."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serve_support import Served, start_serve  # noqa: E402


@pytest.fixture
def serve(data_dir: Path) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def factory(*args: str, **kw) -> Served:
        s = start_serve(data_dir, kw.pop("app", "t_client"), *args, **kw)
        started.append(s)
        return s

    yield factory
    for s in started:
        if s.proc.poll() is None:
            s.stop()
