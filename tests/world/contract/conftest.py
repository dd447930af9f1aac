"""The World contract: every test here runs against every world implementation.

``world`` is a fresh, empty world of each kind: the local filesystem world on a temp dir and the
PostgreSQL world on a fresh database of the session's test server (tests/pgserver.py).
``target`` is what ``open_world`` (and a subprocess's ``WFCTL_WORLD``) takes to reach the same
store. Local-only behaviour (file layout, golden files, journal crash recovery) is tested in
tests/world/*.py, not here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from worlds import open_world

WORLDS = ["local", "postgres"]


@pytest.fixture(params=WORLDS)
def world_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def target(world_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if world_kind == "local":
        return str(tmp_path / "store")
    # A fresh wfctl schema per test in the module's database: as isolated as a new database
    # for the world (every table is in the schema), at a fraction of the cost.
    server = request.getfixturevalue("pg_server")
    return server.new_schema(request.getfixturevalue("pg_module_url"), "c")


@pytest.fixture
def world(target: str):
    w = open_world(target)
    yield w
    w.close()


@pytest.fixture
def store(target: str) -> str:
    """Contract tests address the store only through its target (no file paths)."""
    return target
