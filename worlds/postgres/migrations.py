"""Versioned schema migrations for the PostgreSQL world.

Each migration is SQL text with ``{s}`` standing for the (quoted) schema name. :func:`migrate`
applies the missing ones in one transaction under a transaction-scoped advisory lock, so several
processes running it at once are safe: the first applies, the others wait and find nothing to do.

Other modules add tables by registering migration 2+ (``register(2, SQL)``) at import time; the
version numbers are global and append-only (never edit a released migration).
"""

from __future__ import annotations

from typing import Any

MIGRATIONS: dict[int, str] = {}


def register(version: int, sql: str) -> None:
    if version in MIGRATIONS and MIGRATIONS[version] != sql:
        raise ValueError(f"migration {version} is already registered")
    MIGRATIONS[version] = sql


register(
    1,
    """
CREATE TABLE {s}.runs (
    run_id        text PRIMARY KEY,
    workflow_name text,
    status        text NOT NULL,
    created_ms    bigint NOT NULL,
    last_seq      bigint NOT NULL DEFAULT 0,
    doc           text NOT NULL,
    blobs         bytea[] NOT NULL DEFAULT '{{}}'
);
CREATE INDEX runs_by_created ON {s}.runs (created_ms, run_id);
CREATE INDEX runs_by_status ON {s}.runs (status, created_ms, run_id);
CREATE INDEX runs_by_workflow ON {s}.runs (workflow_name, created_ms, run_id);

-- The event log: per run, seq is taken under the run row's lock, so seq order = commit order
-- = (created_ms, event_id) order.
CREATE TABLE {s}.events (
    run_id         text NOT NULL,
    seq            bigint NOT NULL,
    event_id       text NOT NULL,
    event_type     text NOT NULL,
    correlation_id text,
    created_ms     bigint NOT NULL,
    terminal       boolean NOT NULL DEFAULT false,  -- the event that ended the run
    doc            text NOT NULL,
    blobs          bytea[] NOT NULL DEFAULT '{{}}',
    PRIMARY KEY (run_id, seq),
    UNIQUE (run_id, event_id)
);
CREATE INDEX events_by_order ON {s}.events (run_id, created_ms, event_id);
-- Dedup even if validation were bypassed: these surface as EntityConflictError.
CREATE UNIQUE INDEX events_entity_created ON {s}.events (run_id, correlation_id, event_type)
    WHERE event_type IN ('step_created', 'wait_created', 'hook_created');
CREATE UNIQUE INDEX events_step_terminal ON {s}.events (run_id, correlation_id)
    WHERE event_type IN ('step_completed', 'step_failed');
CREATE UNIQUE INDEX events_entity_closed ON {s}.events (run_id, correlation_id, event_type)
    WHERE event_type IN ('wait_completed', 'hook_disposed');
CREATE UNIQUE INDEX events_run_terminal ON {s}.events (run_id) WHERE terminal;

CREATE TABLE {s}.steps (
    run_id     text NOT NULL,
    step_id    text NOT NULL,
    created_ms bigint NOT NULL,
    doc        text NOT NULL,
    blobs      bytea[] NOT NULL DEFAULT '{{}}',
    PRIMARY KEY (run_id, step_id)
);
CREATE TABLE {s}.hooks (
    run_id     text NOT NULL,
    hook_id    text NOT NULL,
    token      text NOT NULL,
    created_ms bigint NOT NULL,
    doc        text NOT NULL,
    blobs      bytea[] NOT NULL DEFAULT '{{}}',
    PRIMARY KEY (run_id, hook_id)
);
CREATE INDEX hooks_by_id ON {s}.hooks (hook_id);
CREATE INDEX hooks_by_created ON {s}.hooks (created_ms, hook_id);
-- A row exists while its hook is live: the primary key makes a token claim exclusive.
CREATE TABLE {s}.hook_tokens (
    token   text PRIMARY KEY,
    run_id  text NOT NULL,
    hook_id text NOT NULL
);
CREATE INDEX hook_tokens_by_run ON {s}.hook_tokens (run_id);
CREATE TABLE {s}.waits (
    run_id     text NOT NULL,
    wait_id    text NOT NULL,  -- the correlation id
    created_ms bigint NOT NULL,
    doc        text NOT NULL,
    PRIMARY KEY (run_id, wait_id)
);
CREATE TABLE {s}.snapshots (
    run_id        text PRIMARY KEY,
    data          bytea NOT NULL,
    events_cursor text,
    created_at    text NOT NULL
);
-- Snapshots are already zstd-compressed: skip pglz.
ALTER TABLE {s}.snapshots ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE {s}.blobs (
    key  text PRIMARY KEY,
    data bytea NOT NULL
);
ALTER TABLE {s}.blobs ALTER COLUMN data SET STORAGE EXTERNAL;
-- Driving leases. Rows are never deleted: epochs only grow, so a fenced holder's old epoch can
-- never match a later holder's.
CREATE TABLE {s}.run_leases (
    run_id     text PRIMARY KEY,
    owner      text,
    epoch      bigint NOT NULL,
    expires_at timestamptz NOT NULL
);
""",
)


def latest() -> int:
    return max(MIGRATIONS)


def _q(schema: str) -> str:
    return '"' + schema + '"'


def current_version(conn: Any, schema: str) -> int:
    """The schema's version (0: no schema or no version table)."""
    row = conn.execute(
        "SELECT to_regclass(%s) IS NOT NULL", (f"{_q(schema)}.schema_version",)
    ).fetchone()
    if not row or not row[0]:
        return 0
    row = conn.execute(
        f"SELECT coalesce(max(version), 0) FROM {_q(schema)}.schema_version"
    ).fetchone()
    return int(row[0])


def migrate(conn: Any, schema: str) -> tuple[int, int]:
    """Apply missing migrations in one transaction; returns (version before, version after)."""
    s = _q(schema)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"wfctl-migrate:{schema}",))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {s}.schema_version "
            "(version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        before = current_version(conn, schema)
        for version in sorted(v for v in MIGRATIONS if v > before):
            conn.execute(MIGRATIONS[version].format(s=s))
            conn.execute(f"INSERT INTO {s}.schema_version (version) VALUES (%s)", (version,))
        after = current_version(conn, schema)
    return before, after


# Migrations registered by other modules: imported here so that every process that applies or
# checks the schema knows all of them (a process that registered 3 but not 2 would record
# version 3 and skip 2 forever).
# 2: run queue, lease history (fleet_schema); 3: run streams (streams)
from . import fleet_schema, streams  # noqa: E402,F401
