"""Helpers of the streams and child-workflow tests (tests/streams, tests/children): the
t_streams app, the real CLI in a subprocess, and the fixtures both folders' conftests import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wfctl.engine.app import App
from wfctl.engine.engine import Engine
from worlds import open_world

APP = Path(__file__).resolve().parent / "apps" / "t_streams"
KNOBS = ("WORKFLOW_RUNTIME", "WFCTL_ENCRYPTION_KEY", "WORKFLOW_LOCAL_DATA_DIR", "WFCTL_APP")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*KNOBS, "WFCTL_MAX_CHILDREN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WFCTL_RETRY_DELAY", "0.05")


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Callable[[], Engine]]:
    worlds = []

    def factory() -> Engine:
        w = open_world(data_dir)
        worlds.append(w)
        return Engine(w, App.load(APP))

    yield factory
    for w in worlds:
        w.close()


def cli(data_dir: Path | None, *args: str, env: dict[str, str] | None = None, timeout: float = 120):
    """The real CLI; ``data_dir=None`` leaves the store to the environment (``WFCTL_WORLD``)."""
    full = {**os.environ, "WFCTL_APP": str(APP), **(env or {})}
    where = [] if data_dir is None else ["--data-dir", str(data_dir)]
    return subprocess.run(
        [sys.executable, "-m", "wfctl.cli", *where, *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def spawn(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    full = {**os.environ, "WFCTL_APP": str(APP), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "wfctl.cli", "--data-dir", str(data_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full,
        stdin=subprocess.DEVNULL,
    )


def json_lines(text: str) -> list[Any]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]
