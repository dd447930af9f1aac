"""Errors raised across the World boundary.

Every class subclasses :class:`WorldError`; callers branch on the class (the reference DevKit
recognises the same conditions by ``name``: EntityConflictError = 409, RunExpiredError = 410,
TooEarlyError = 425, ...).
"""

from __future__ import annotations


class WorldError(Exception):
    """A world operation failed; the message says why."""


class EntityConflictError(WorldError):
    """The entity already exists or already reached this state (someone else did it first)."""


class RunExpiredError(WorldError):
    """The run is already terminal, so this event can no longer be applied."""


class TooEarlyError(WorldError):
    """The step may not start before its ``retryAfter`` time.

    ``retry_after`` is the number of seconds (float, > 0) until it may start.
    """

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RunNotFoundError(WorldError):
    """No workflow run with this id exists in the world."""


class StepNotFoundError(WorldError):
    """No step with this id exists in the run."""


class HookNotFoundError(WorldError):
    """No live hook with this id or token exists.

    ``token`` is set when the lookup was by token.
    """

    def __init__(self, message: str, token: str | None = None) -> None:
        super().__init__(message)
        self.token = token


class WaitNotFoundError(WorldError):
    """No wait with this correlation id exists in the run."""


class UnsafeEntityIdError(WorldError):
    """An id is not a safe single path component (empty, leading '.', '/', '\\' or NUL)."""


class RunNotSupportedError(WorldError):
    """The run was written with a spec version this world does not support."""


class InvalidTransitionError(WorldError):
    """The event is malformed or not allowed for this run (unknown type, missing field, ...)."""


class LeaseBusyError(WorldError):
    """Another holder (thread or process) owns the run's driving lease."""


class CorruptDataError(WorldError):
    """A stored file could not be decoded; ``path`` names it."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


__all__ = [
    "CorruptDataError",
    "EntityConflictError",
    "HookNotFoundError",
    "InvalidTransitionError",
    "LeaseBusyError",
    "RunExpiredError",
    "RunNotFoundError",
    "RunNotSupportedError",
    "StepNotFoundError",
    "TooEarlyError",
    "UnsafeEntityIdError",
    "WaitNotFoundError",
    "WorldError",
]
