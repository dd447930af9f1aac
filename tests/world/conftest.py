"""Fixtures and helpers for the filesystem world tests (real files, real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from worlds import open_world
from worlds.local import LocalWorld

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_worker.py"
GOLDEN = HERE / "golden"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def world(store: Path) -> LocalWorld:
    w = open_world(store)
    assert isinstance(w, LocalWorld)
    yield w
    w.close()


def new_run(world, *, started: bool = True, **extra) -> str:
    data = {
        "deploymentId": "wfctl",
        "workflowName": "workflow//./workflows//demo",
        "input": b"devl[[]]",
        **extra,
    }
    run_id = world.create_event(None, "run_created", event_data=data).run["runId"]
    if started:
        world.create_event(run_id, "run_started")
    return run_id


def spawn(*args: str, env: dict | None = None) -> subprocess.Popen:
    """Start ``_worker.py`` with line-buffered text stdout."""
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def read_json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def all_json_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.json") if p.is_file()]
