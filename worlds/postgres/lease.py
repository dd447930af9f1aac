"""Lease timing of the PostgreSQL world: the TTL and the heartbeat period.

A lease row expires ``WFCTL_LEASE_TTL`` seconds (default 30) after its last renewal; the holder
renews it every third of that, so two missed heartbeats still leave it valid. Choose the TTL
above the longest pause a healthy worker can have (GC, swap, a VM stopped for migration) and
below the delay after which a dead host's runs should move on.
"""

from __future__ import annotations

import os

DEFAULT_TTL_S = 30.0
MIN_TTL_S = 0.5
MAX_TTL_S = 24 * 3600.0


class LeaseConfigError(ValueError):
    """A bad ``WFCTL_LEASE_TTL``: a usage error (exit 2), one sentence."""

    user_facing = True


def lease_ttl(env: dict[str, str] | None = None) -> float:
    """Seconds a lease lives without renewal (``WFCTL_LEASE_TTL``, validated)."""
    raw = (os.environ if env is None else env).get("WFCTL_LEASE_TTL", "").strip()
    if not raw:
        return DEFAULT_TTL_S
    try:
        ttl = float(raw)
    except ValueError:
        raise LeaseConfigError(
            f"WFCTL_LEASE_TTL must be a number of seconds, got {raw!r}"
        ) from None
    if not (MIN_TTL_S <= ttl <= MAX_TTL_S):
        raise LeaseConfigError(
            f"WFCTL_LEASE_TTL must be between {MIN_TTL_S:g} and {MAX_TTL_S:g} seconds, got {raw}"
        )
    return ttl


def heartbeat_period(ttl: float) -> float:
    """How often a holder renews: a third of the TTL."""
    return ttl / 3
