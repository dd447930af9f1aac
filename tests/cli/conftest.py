"""Fixtures of the CLI tests: a clean environment and a populated data directory."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# the helpers live next to the engine tests
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "engine"))

ENV_KNOBS = ("WORKFLOW_RUNTIME", "WFCTL_ENCRYPTION_KEY", "WORKFLOW_LOCAL_DATA_DIR", "WFCTL_APP")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_KNOBS:
        monkeypatch.delenv(name, raising=False)
