"""What a work source hands a worker, shared by every world's queue and the worker loop.

It lives below the engine so that a world's queue (e.g. ``worlds/postgres/queue.py``) can
speak it without importing the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import StoreUnavailableError

__all__ = ["Claim", "backoff_delay", "is_outage"]


@dataclass
class Claim:
    """One runnable run handed out by a work source; ``token`` is the source's own."""

    run_id: str
    token: Any = None
    attempts: int = 0


def is_outage(exc: BaseException) -> bool:
    """Is this the store being unreachable (rather than something wrong with one run)?"""
    for e in (exc, exc.__cause__, exc.__context__):
        if e is None:
            continue
        if (
            isinstance(e, StoreUnavailableError)
            or type(e).__module__.startswith(("psycopg", "psycopg_pool"))
            and type(e).__name__ in ("OperationalError", "InterfaceError", "PoolTimeout")
        ):
            return True
    return False


def backoff_delay(attempts: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential back-off for runs that could not be driven (0.5 s, 1 s, 2 s ... 30 s)."""
    return min(cap, base * (2.0 ** max(0, attempts - 1)))
