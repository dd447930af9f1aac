"""Fixtures of the e2e conformance suite (tests/apps/e2e, both runtimes, both worlds).

``world_kind`` runs every catalogue case on the local world (a fresh data directory per test)
and on the PostgreSQL world (one fresh database per test module on the suite's server: every
case works on runs of its own). ``world_env`` is the environment that points a ``wfctl``
subprocess at the same store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from wfctl.engine.app import App
from wfctl.engine.engine import Engine
from worlds import open_world

APPS = Path(__file__).resolve().parent.parent / "apps"

# The catalogue on PostgreSQL: every case under the snapshot runtime (it makes every World call:
# events by cursor, batches, snapshots, hooks, leases); under the replay runtime only the
# modules whose cases span several invocations or processes (hooks, sleeps/cancel, the CLI).
# The runtime and the world are independent layers: the replay runtime makes a subset of the
# snapshot runtime's World calls, so the other replay x Postgres cases would re-test the VM,
# not the world, at ~40 s of suite time. See docs/CONFORMANCE.md.
REPLAY_ON_POSTGRES = {"test_e2e_hooks.py", "test_e2e_sleep.py", "test_e2e_cli.py"}


@pytest.fixture(params=["local", "postgres"])
def world_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def world_env(world_kind: str, data_dir: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    if world_kind == "local":
        return {"WORKFLOW_LOCAL_DATA_DIR": str(data_dir), "WFCTL_WORLD": ""}
    return {"WFCTL_WORLD": request.getfixturevalue("pg_module_url")}


@pytest.fixture
def engine(make_engine, world_kind: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine over a fresh store of ``world_kind``, running the e2e fixture app."""
    if world_kind == "local":
        engine = make_engine("e2e")
        # The catalogue's fixture app uses unregistered steps on purpose (#49, #50): the
        # runtime behaviour is what these tests check, not `wfctl check`.
        engine.check_steps = False
        yield engine
        return
    runtime = request.getfixturevalue("runtime") if "runtime" in request.fixturenames else None
    if runtime == "replay" and Path(request.node.fspath).name not in REPLAY_ON_POSTGRES:
        pytest.skip("replay x postgres: covered by snapshot x postgres (docs/CONFORMANCE.md)")
    world_env = request.getfixturevalue("world_env")
    world = open_world(world_env["WFCTL_WORLD"])
    eng = Engine(world, App.load(APPS / "e2e"))
    eng.check_steps = False
    yield eng
    world.close()
