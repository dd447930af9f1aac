"""Worlds: where workflow runs, their events and entities are stored."""

from __future__ import annotations

import os
from pathlib import Path

from . import errors
from .errors import (
    CorruptDataError,
    EntityConflictError,
    HookNotFoundError,
    InvalidTransitionError,
    LeaseBusyError,
    LeaseLostError,
    RunExpiredError,
    RunNotFoundError,
    RunNotSupportedError,
    StepNotFoundError,
    StoreUnavailableError,
    TooEarlyError,
    UnsafeEntityIdError,
    WaitNotFoundError,
    WorldError,
)
from .world import EventItem, EventResult, Lease, Page, World, all_items

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_target(target: str | Path) -> bool:
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


def default_target() -> str:
    """``$WFCTL_WORLD``, else ``$WORKFLOW_LOCAL_DATA_DIR``, else ``./.workflow-data``."""
    return (
        os.environ.get("WFCTL_WORLD")
        or os.environ.get("WORKFLOW_LOCAL_DATA_DIR")
        or "./.workflow-data"
    )


def open_world(target: str | Path | None = None) -> World:
    """The world a target names: a ``postgresql://``/``postgres://`` URL (libpq syntax, e.g.
    ``?host=/socket/dir``) selects the PostgreSQL world, anything else is a local data directory
    (nothing is created there until the first write). ``None``: :func:`default_target`.

    Opening a PostgreSQL world connects and checks the schema: an unreachable server, bad
    credentials, an unknown database or a missing/old schema raise ``StoreUnavailableError``
    naming the target with its password redacted.
    """
    if target is None:
        target = default_target()
    if is_postgres_target(target):
        try:
            from .postgres import PostgresWorld
        except ImportError as exc:  # psycopg is the optional extra `wfctl[postgres]`
            raise StoreUnavailableError(
                f"The PostgreSQL world needs psycopg ({exc.name} is missing): "
                "pip install 'wfctl[postgres]'."
            ) from None
        return PostgresWorld(str(target))
    from .local import LocalWorld

    return LocalWorld(target)


__all__ = [
    "all_items",
    "CorruptDataError",
    "EntityConflictError",
    "EventItem",
    "EventResult",
    "HookNotFoundError",
    "InvalidTransitionError",
    "LeaseBusyError",
    "LeaseLostError",
    "Lease",
    "Page",
    "RunExpiredError",
    "RunNotFoundError",
    "RunNotSupportedError",
    "StepNotFoundError",
    "StoreUnavailableError",
    "TooEarlyError",
    "UnsafeEntityIdError",
    "WaitNotFoundError",
    "World",
    "WorldError",
    "default_target",
    "errors",
    "is_postgres_target",
    "open_world",
]
