"""Worlds: where workflow runs, their events and entities are stored."""

from __future__ import annotations

from pathlib import Path

from . import errors
from .errors import (
    CorruptDataError,
    EntityConflictError,
    HookNotFoundError,
    InvalidTransitionError,
    LeaseBusyError,
    RunExpiredError,
    RunNotFoundError,
    RunNotSupportedError,
    StepNotFoundError,
    TooEarlyError,
    UnsafeEntityIdError,
    WaitNotFoundError,
    WorldError,
)
from .world import EventResult, Page, World, all_items


def open_world(data_dir: str | Path) -> World:
    """The local filesystem world on ``data_dir`` (nothing is created until the first write)."""
    from .local import LocalWorld

    return LocalWorld(data_dir)


__all__ = [
    "all_items",
    "CorruptDataError",
    "EntityConflictError",
    "EventResult",
    "HookNotFoundError",
    "InvalidTransitionError",
    "LeaseBusyError",
    "Page",
    "RunExpiredError",
    "RunNotFoundError",
    "RunNotSupportedError",
    "StepNotFoundError",
    "TooEarlyError",
    "UnsafeEntityIdError",
    "WaitNotFoundError",
    "World",
    "WorldError",
    "errors",
    "open_world",
]
