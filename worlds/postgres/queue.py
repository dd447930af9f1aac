"""The run queue of the PostgreSQL world, as a worker's work source.

Rows are written by triggers in the event's own transaction (``fleet_schema``). A worker:

- **claims** due rows with ``FOR UPDATE SKIP LOCKED`` (two workers never get the same row),
  moving each to now + visibility timeout, so a worker that dies lets them come due again;
- **acks** after driving: deletes the row, or moves it to the run's next due time (timer,
  retry); an outside wake-up that arrived meanwhile (``wakeup``) makes it due at once;
- **sleeps** until the earliest ``due_at`` or a ``NOTIFY`` on the schema's channel. A lost
  notification costs latency, never a run: the sleep is bounded by the next due time.

When the database goes away, claims and acks fail: the worker backs off (0.2 s doubling up to
5 s), says so once on stderr, and says so again once it is back.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

import psycopg

from wfctl.engine.worker import is_outage
from worlds.errors import WorldError
from worlds.postgres.fleet_schema import channel
from worlds.postgres.lease import lease_ttl

log = logging.getLogger("wfctl.worker")

MAX_IDLE_S = 60.0  # an idle worker re-reads the queue at least this often (belt and braces)
BUSY_RETRY_S = 0.5  # lease held by a non-worker process that may release it any moment


class Outage:
    """Back-off for an unreachable database, told once per outage.

    An outage ends only after ``calm`` seconds without a failure: right after a restart some
    pooled connections are still dead while new ones work, which must not read as flapping.
    """

    def __init__(self, what: str, *, calm: float = 3.0) -> None:
        self.what = what
        self.calm = calm
        self.failures = 0  # consecutive, for the back-off
        self.down = False
        self.last_failure = 0.0
        self.lock = threading.Lock()

    def failed(self, exc: BaseException | str) -> float:
        with self.lock:
            self.failures += 1
            self.last_failure = time.monotonic()
            if not self.down:
                self.down = True
                log.warning("%s unreachable: %s; retrying with back-off", self.what, _one_line(exc))
            return min(5.0, 0.2 * 2 ** (self.failures - 1))

    def ok(self) -> None:
        with self.lock:
            self.failures = 0
            if self.down and time.monotonic() - self.last_failure >= self.calm:
                self.down = False
                log.warning("%s reachable again", self.what)


def _one_line(exc: BaseException | str) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class PgRunQueue:
    """WorkSource over ``<schema>.run_queue`` (see the module docstring)."""

    def __init__(self, world: Any, *, visibility: float | None = None) -> None:
        self.world = world
        self.pool = world.pool
        self.schema = world.schema
        self.q = f'"{self.schema}".run_queue'
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        lease_ttl()  # a bad WFCTL_LEASE_TTL is a usage error before anything is claimed
        self.visibility = visibility if visibility is not None else float(world.lease_ttl)
        self._seq = itertools.count(1)
        self.outage = Outage("database")  # the error text names the target
        self._retry_at = 0.0  # monotonic: no claims before this (back-off during an outage)
        self._wake: threading.Event | None = None
        self._stop = threading.Event()
        self._listener = threading.Thread(target=self._listen, name="wfctl-listen", daemon=True)
        self._listener.start()
        if not log.isEnabledFor(logging.DEBUG):
            # The pool logs every dead connection it discards and every failed reconnect; the
            # worker says "unreachable" once per outage instead (--debug shows them all).
            for name in ("psycopg", "psycopg.pool"):
                logging.getLogger(name).setLevel(logging.ERROR)

    # -- WorkSource -----------------------------------------------------------------------

    def claim(self, limit: int) -> list[Any]:
        from wfctl.engine.worker import Claim

        if limit <= 0 or time.monotonic() < self._retry_at:
            return []
        claim_id = f"{self.worker_id}:{next(self._seq)}"
        try:
            with self.pool.connection() as conn:
                rows = conn.execute(
                    f"""WITH c AS (SELECT run_id FROM {self.q} WHERE due_at <= now()
                                  ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED)
                        UPDATE {self.q} q
                           SET due_at = now() + make_interval(secs => %s), claim_id = %s,
                               claimed_by = %s, wakeup = false, attempts = q.attempts + 1
                          FROM c WHERE q.run_id = c.run_id
                        RETURNING q.run_id, q.attempts""",
                    (limit, self.visibility, claim_id, self.worker_id),
                ).fetchall()
        except Exception as exc:
            if not is_outage(exc):
                raise
            self._retry_at = time.monotonic() + self.outage.failed(exc)
            return []
        self.outage.ok()
        return [Claim(run_id, token=claim_id, attempts=n) for run_id, n in rows]

    def ack(self, claim: Any, outcome: Any) -> None:
        try:
            self._ack(claim, outcome)
        except Exception as exc:
            if not is_outage(exc):
                raise
            # The claim stays; it comes due again after the visibility timeout.
            self._retry_at = time.monotonic() + self.outage.failed(exc)

    def _ack(self, claim: Any, outcome: Any) -> None:
        if outcome.kind == "outage":
            # The store went away mid-drive; the claim comes due after the visibility timeout.
            self._retry_at = time.monotonic() + self.outage.failed(outcome.error or "")
            return
        mine = (claim.run_id, claim.token)
        with self.pool.connection() as conn:
            if outcome.kind == "driven" and outcome.terminal:
                conn.execute(f"DELETE FROM {self.q} WHERE run_id = %s AND claim_id = %s", mine)
                return
            if outcome.kind == "driven":
                due_ms = outcome.next_due_ms
                if due_ms is None:
                    # Waiting on hooks only: the hook payload's event enqueues it again.
                    conn.execute(
                        f"DELETE FROM {self.q} WHERE run_id = %s AND claim_id = %s AND NOT wakeup",
                        mine,
                    )
                    due_sql, args = "now()", ()
                else:
                    due_sql, args = "to_timestamp(%s / 1000.0)", (due_ms,)
                attempts = "0"
            elif outcome.kind == "stopped":
                # This worker is shutting down mid-run: hand the run to the others right away.
                due_sql, args, attempts = "now()", (), "0"
            elif outcome.kind == "busy":
                # Held elsewhere: look again when that lease would expire (its holder renews
                # it while alive; a non-worker holder may release sooner, so cap the wait).
                due_sql = (
                    f"LEAST(now() + make_interval(secs => %s), GREATEST(now(), "
                    f'(SELECT expires_at FROM "{self.schema}".run_leases WHERE run_id = %s)))'
                )
                args = (max(BUSY_RETRY_S, self.visibility / 2), claim.run_id)
                attempts = "q.attempts - 1"
            elif outcome.kind == "lost":
                return  # the new holder has it (with its own claim)
            else:  # error: back off, growing with consecutive failures
                from wfctl.engine.worker import backoff_delay

                due_sql, args = (
                    "now() + make_interval(secs => %s)",
                    (backoff_delay(claim.attempts),),
                )
                attempts = "q.attempts"
            row = conn.execute(
                f"""UPDATE {self.q} q
                       SET due_at = CASE WHEN q.wakeup THEN now() ELSE {due_sql} END,
                           claim_id = NULL, wakeup = false, attempts = {attempts}
                     WHERE run_id = %s AND claim_id = %s
                 RETURNING due_at <= now()""",
                (*args, *mine),
            ).fetchone()
            if row and row[0]:
                conn.execute("SELECT pg_notify(%s, %s)", (channel(self.schema), claim.run_id))

    def wait(self, wake: threading.Event, timeout: float | None) -> None:
        self._wake = wake
        if wake.is_set():
            return
        until = MAX_IDLE_S
        if time.monotonic() < self._retry_at:  # backing off after a failure
            until = self._retry_at - time.monotonic()
        else:
            try:
                with self.pool.connection() as conn:
                    row = conn.execute(
                        f"SELECT EXTRACT(EPOCH FROM (min(due_at) - now())) FROM {self.q}"
                    ).fetchone()
                if row and row[0] is not None:
                    until = min(until, max(0.0, float(row[0])))
            except Exception as exc:
                if not is_outage(exc):
                    raise
                self._retry_at = time.monotonic() + self.outage.failed(exc)
                until = max(0.0, self._retry_at - time.monotonic())
        if timeout is not None:
            until = min(until, timeout)
        if until > 0:
            wake.wait(until + 0.005)

    def close(self) -> None:
        self._stop.set()

    # -- LISTEN ---------------------------------------------------------------------------

    def _conninfo(self) -> str:
        return self.world.url  # without wfctl's own URL parameters

    def _listen(self) -> None:
        """One autocommit connection LISTENing on the schema's channel; reconnects with
        back-off (the claim loop reports the outage, this thread stays quiet)."""
        failures = 0
        while not self._stop.is_set():
            try:
                url = self._conninfo()
                extra = {} if "connect_timeout" in url else {"connect_timeout": 5}
                with psycopg.connect(url, autocommit=True, **extra) as conn:
                    conn.execute(f'LISTEN "{channel(self.schema)}"')
                    if failures and self._wake is not None:
                        self._wake.set()  # back after an outage: look at the queue now
                    failures = 0
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            if self._wake is not None:
                                self._wake.set()
            except (psycopg.Error, OSError, WorldError):
                failures += 1
                self._stop.wait(min(5.0, 0.2 * 2 ** (failures - 1)))
