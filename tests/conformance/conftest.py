"""Fixtures of the e2e conformance suite (tests/apps/e2e, both runtimes)."""

from __future__ import annotations

import pytest

from wfctl.engine.engine import Engine


@pytest.fixture
def engine(make_engine) -> Engine:
    """An engine over a fresh data directory, running the e2e fixture app."""
    engine = make_engine("e2e")
    # The catalogue's fixture app uses unregistered steps on purpose (#49, #50): the runtime
    # behaviour is what these tests check, not `wfctl check`.
    engine.check_steps = False
    return engine
