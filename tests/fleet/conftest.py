"""Fixtures of the worker-fleet tests. The PostgreSQL server and the fresh migrated database per
test (``pg_server``, ``pg_url``) come from tests/conftest.py."""

from __future__ import annotations

# Registers the queue migration (2) before the session's template database is migrated.
import worlds.postgres.fleet_schema  # noqa: F401
