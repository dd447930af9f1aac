"""Fixtures of the hostile-workflows tests (issue 14): the hostile app and a small VM budget."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hostile_support import BUDGET, HOSTILE

from wfctl.engine.engine import Engine

ENV_KNOBS = (
    "WORKFLOW_RUNTIME",
    "WFCTL_ENCRYPTION_KEY",
    "WORKFLOW_LOCAL_DATA_DIR",
    "WFCTL_APP",
    "WFCTL_VM_BUDGET",
)


@pytest.fixture(autouse=True)
def _hostile_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_KNOBS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WFCTL_VM_BUDGET", BUDGET)


@pytest.fixture
def hostile(make_engine: Callable[..., Engine]) -> Engine:
    return make_engine(HOSTILE)
