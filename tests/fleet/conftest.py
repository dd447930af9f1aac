"""Fixtures of the worker-fleet tests: one throwaway PostgreSQL server for the session (started
by the suite itself, see tests/pgserver.py), a fresh migrated database per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pgserver import PgServer, start_server

import worlds.postgres.fleet_schema  # noqa: F401 - registers the queue migration (2)


@pytest.fixture(scope="session")
def fleet_pg() -> Iterator[PgServer]:
    server = start_server()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def pg_url(fleet_pg: PgServer) -> str:
    return fleet_pg.new_database("fleet")
