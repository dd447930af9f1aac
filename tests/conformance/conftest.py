"""Fixtures of the e2e conformance suite (tests/apps/e2e, both runtimes)."""

from __future__ import annotations

import pytest

from wfctl.engine.engine import Engine


@pytest.fixture
def engine(make_engine) -> Engine:
    """An engine over a fresh data directory, running the e2e fixture app."""
    return make_engine("e2e")
