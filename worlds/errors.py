"""Errors raised across the World boundary.

Every class subclasses :class:`WorldError`; callers branch on the class (the reference DevKit
recognises the same conditions by ``name``: EntityConflictError = 409, RunExpiredError = 410,
TooEarlyError = 425, ...).
"""

from __future__ import annotations


class WorldError(Exception):
    """A world operation failed; the message says why."""

    default_message = "The world operation failed."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)


class EntityConflictError(WorldError):
    """The entity already exists or already reached this state (someone else did it first)."""

    default_message = "The entity already exists or is already in that state."


class RunExpiredError(WorldError):
    """The run is already terminal, so this event can no longer be applied."""

    default_message = "The workflow run has already ended."


class TooEarlyError(WorldError):
    """The step may not start before its ``retryAfter`` time.

    ``retry_after`` is the number of seconds (float, > 0) until it may start.
    """

    def __init__(self, retry_after: float, message: str | None = None) -> None:
        self.retry_after = float(retry_after)
        super().__init__(message or f"Too early: retry in {self.retry_after:.3f} s.")


class RunNotFoundError(WorldError):
    """No workflow run with this id exists in the world."""

    default_message = "The workflow run was not found."


class StepNotFoundError(WorldError):
    """No step with this id exists in the run."""

    default_message = "The step was not found in this run."


class HookNotFoundError(WorldError):
    """No live hook with this id or token exists.

    ``token`` is set when the lookup was by token.
    """

    default_message = "The hook was not found."

    def __init__(self, message: str | None = None, token: str | None = None) -> None:
        super().__init__(message)
        self.token = token


class WaitNotFoundError(WorldError):
    """No wait with this correlation id exists in the run."""

    default_message = "The wait was not found in this run."


class UnsafeEntityIdError(WorldError):
    """An id is not acceptable (empty, leading '.', or containing '/', '\\' or NUL)."""

    default_message = "The id is not acceptable."


class RunNotSupportedError(WorldError):
    """The run was written with a spec version this world does not support."""

    default_message = "The workflow run uses a spec version this world does not support."


class InvalidTransitionError(WorldError):
    """The event is malformed or not allowed for this run (unknown type, missing field, ...)."""

    default_message = "The event is not valid for this run."


class LeaseBusyError(WorldError):
    """Another holder (thread or process) owns the run's driving lease."""

    default_message = "The run's lease is held by another worker."


class LeaseLostError(WorldError):
    """A write under a lease was fenced: another holder took the run's lease (its epoch moved).

    The engine treats it as "stop this invocation cleanly": nothing of the write was stored.
    """

    default_message = "The run's lease was taken over by another worker; the write was rejected."


class StoreUnavailableError(WorldError):
    """The store behind the world cannot be reached or used (server down, bad credentials,
    unknown database, missing or old schema). The message names the target (no password)."""

    default_message = "The world's store is not available."


class CorruptDataError(WorldError):
    """Stored data could not be decoded; ``path`` names where it is (a location in the store)."""

    def __init__(self, path: str, message: str | None = None) -> None:
        self.path = str(path)
        super().__init__(message or f"The stored data at {self.path} could not be decoded.")


__all__ = [
    "CorruptDataError",
    "EntityConflictError",
    "HookNotFoundError",
    "InvalidTransitionError",
    "LeaseBusyError",
    "LeaseLostError",
    "RunExpiredError",
    "RunNotFoundError",
    "RunNotSupportedError",
    "StepNotFoundError",
    "StoreUnavailableError",
    "TooEarlyError",
    "UnsafeEntityIdError",
    "WaitNotFoundError",
    "WorldError",
]
