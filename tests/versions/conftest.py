"""Fixtures of the code-versions tests: an editable copy of tests/apps/versions, a side-effect
counter and the real CLI in subprocesses against one data directory."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from versions_support import Versions  # noqa: E402

ENV_KNOBS = (
    "WORKFLOW_RUNTIME",
    "WFCTL_ENCRYPTION_KEY",
    "WORKFLOW_LOCAL_DATA_DIR",
    "WFCTL_APP",
    "WFCTL_WORLD",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_KNOBS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def v(tmp_path: Path, copy_app, cli, monkeypatch: pytest.MonkeyPatch) -> Iterator[Versions]:
    app = copy_app("versions")
    data = tmp_path / "data"
    counter = tmp_path / "counter.txt"
    env = {
        "WORKFLOW_LOCAL_DATA_DIR": str(data),
        "WFCTL_APP": str(app),
        "VERSIONS_COUNTER": str(counter),
    }
    monkeypatch.setenv("VERSIONS_COUNTER", str(counter))
    vs = Versions(app=app, data=data, counter=counter, run_cli=cli, env=env)
    yield vs
    for w in vs.worlds:
        w.close()
