"""Environment variables: one validation rule for all of them.

A variable that is unset takes its default. A variable that is set must be valid — an empty
or malformed value is a usage error (exit 2) naming the variable, never silently replaced by
the default. :func:`validate_env` checks every variable up front (the CLI calls it before
doing anything); the readers below apply the same rule wherever the value is used.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from wfctl.errors import UsageError

__all__ = ["env_choice", "env_float", "env_int", "env_flag", "validate_env", "NUMERIC_VARS"]

T = TypeVar("T", int, float)


def _number(name: str, default: T, kind: Callable[[str], T], minimum: T, strict: bool) -> T:
    raw = os.environ.get(name)
    if raw is None:
        return default
    what = "an integer" if kind is int else "a number"
    bound = f"> {minimum}" if strict else f">= {minimum}"
    try:
        value = kind(raw.strip())
    except ValueError:
        raise UsageError(f"{name} must be {what} {bound} (got {raw!r})") from None
    if value != value or value in (float("inf"), float("-inf")):  # NaN, infinities
        raise UsageError(f"{name} must be {what} {bound} (got {raw!r})")
    if value < minimum or (strict and value == minimum):
        raise UsageError(f"{name} must be {what} {bound} (got {raw!r})")
    return value


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    return _number(name, default, int, minimum, False)


def env_float(name: str, default: float, *, minimum: float = 0.0, strict: bool = False) -> float:
    return _number(name, default, float, minimum, strict)


def env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.strip() not in ("0", "1"):
        raise UsageError(f"{name} must be 0 or 1 (got {raw!r})")
    return raw.strip() == "1"


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.strip() not in choices:
        raise UsageError(f"{name} must be one of {', '.join(choices)} (got {raw!r})")
    return raw.strip()


#: name -> reader with its default and bounds (also what the README documents).
NUMERIC_VARS: dict[str, Callable[[], object]] = {
    "WFCTL_STEP_CONCURRENCY": lambda: env_int("WFCTL_STEP_CONCURRENCY", 8, minimum=1),
    "WFCTL_SNAPSHOT_EVERY": lambda: env_int("WFCTL_SNAPSHOT_EVERY", 500, minimum=0),
    "WFCTL_RETRY_DELAY": lambda: env_float("WFCTL_RETRY_DELAY", 1.0, minimum=0.0),
    "WFCTL_VM_BUDGET": lambda: env_float("WFCTL_VM_BUDGET", 5.0, minimum=0.0, strict=True),
    "WFCTL_VM_MEMORY_MB": lambda: env_float("WFCTL_VM_MEMORY_MB", 256.0, minimum=0.0, strict=True),
    "WFCTL_FSYNC": lambda: env_flag("WFCTL_FSYNC", True),
    "WFCTL_MAX_CHILDREN": lambda: env_int("WFCTL_MAX_CHILDREN", 1000, minimum=0),
    "WFCTL_PROJECTION_DELAY": lambda: env_float("WFCTL_PROJECTION_DELAY", 0.5, minimum=0.0),
    "WFCTL_PG_POOL": lambda: env_int("WFCTL_PG_POOL", 8, minimum=1),
    "WFCTL_LEASE_TTL": lambda: _lease_ttl(),
    "WFCTL_LOCAL_LAYOUT": lambda: env_choice("WFCTL_LOCAL_LAYOUT", "flat", ("flat", "run-scoped")),
}


def _lease_ttl() -> float:
    # The bounds live with the leases (worlds/postgres/lease.py); the message follows this rule.
    ttl = env_float("WFCTL_LEASE_TTL", 30.0, minimum=0.2)
    if ttl > 24 * 3600:
        raise UsageError(f"WFCTL_LEASE_TTL must be a number <= 86400 (got {ttl:g})")
    return ttl


_PATH_VARS = ("WORKFLOW_LOCAL_DATA_DIR", "WFCTL_APP", "WFCTL_CACHE_DIR", "WFCTL_STATE_DIR")


def validate_env() -> None:
    """Check every wfctl environment variable that is set (UsageError on the first bad one).
    WORKFLOW_RUNTIME and WFCTL_ENCRYPTION_KEY are checked by their own readers."""
    for name in _PATH_VARS:
        raw = os.environ.get(name)
        if raw is not None and not raw.strip():
            raise UsageError(f"{name} is set but empty; unset it to use the default")
    for read in NUMERIC_VARS.values():
        read()
    from wfctl.runtime.base import choose_runtime
    from wfctl.serde.crypto import master_key_from_env

    choose_runtime(None)
    master_key_from_env()
