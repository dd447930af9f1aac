"""Keeping a PostgreSQL driving lease alive while a run is driven.

The lease row protocol (acquire / renew / release, fencing by epoch inside every write) lives in
:class:`~worlds.postgres.store.PostgresWorld`; this module only renews the row every ``ttl/3``
seconds from a daemon thread. A renewal that finds the row taken over stops: the next write of
the invocation is fenced and raises ``LeaseLostError``.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING

from ..errors import WorldError

if TYPE_CHECKING:
    from ..world import Lease
    from .store import PostgresWorld

log = logging.getLogger("worlds.postgres")


class LeaseKeeper:
    def __init__(self, world: PostgresWorld, lease: Lease) -> None:
        self.world = world
        self.lease = lease
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"lease-{lease.run_id}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        interval = max(0.05, self.world.lease_ttl / 3)
        while not self._stop.wait(interval):
            try:
                if not self.world.renew_lease(self.lease):
                    self.lost = True
                    log.warning(
                        "Lost the lease of run %s (epoch %d)", self.lease.run_id, self.lease.epoch
                    )
                    return
            except WorldError as exc:  # the server is away: retry on the next beat
                # (the worker reports the outage once; one line per beat would flood stderr)
                log.debug("Could not renew the lease of run %s: %s", self.lease.run_id, exc)


# -- the TTL (fleet) ----------------------------------------------------------------------------

DEFAULT_TTL_S = 30.0
MIN_TTL_S = 0.2
MAX_TTL_S = 24 * 3600.0


class LeaseConfigError(ValueError):
    """A bad ``WFCTL_LEASE_TTL``: a usage error (exit 2), one sentence."""

    user_facing = True


def lease_ttl(env: dict[str, str] | None = None) -> float:
    """Seconds a lease lives without renewal: ``WFCTL_LEASE_TTL`` (default 30), validated.

    Choose it above the longest pause a healthy worker can have (GC, swap, a stopped VM) and
    below the delay after which a dead host's runs should move on; holders renew every third.
    """
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
