"""Keeping a PostgreSQL driving lease alive while a run is driven.

The lease row protocol (acquire / renew / release, fencing by epoch inside every write) lives in
:class:`~worlds.postgres.store.PostgresWorld`; this module only renews the row every ``ttl/3``
seconds from a daemon thread. A renewal that finds the row taken over stops: the next write of
the invocation is fenced and raises ``LeaseLostError``.
"""

from __future__ import annotations

import logging
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
                log.warning("Could not renew the lease of run %s: %s", self.lease.run_id, exc)
