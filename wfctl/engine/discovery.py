"""Runnable-run discovery for worlds without a run queue (the local filesystem world).

A scan lists the active runs and reads each one's last event id. A run is handed out when the
worker has not driven it yet, when its log changed since (a hook payload, a cancellation,
another process's progress), or when its remembered due time (timer, retry) has passed. So a
run waiting on a hook is driven once, then left alone until something happens to it.

Scans happen at most every ``rescan`` seconds (runs created or crashed elsewhere are found
within that bound); in between, an idle worker sleeps until the earliest remembered due time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from wfctl.engine.worker import Claim, Outcome, backoff_delay
from worlds import World, all_items

RESCAN_S = 2.0


@dataclass
class _Seen:
    last_event: str | None  # the run's last event id when the worker left it
    due_ms: int | None  # when it has work again on its own (timer / retry / back-off)
    attempts: int = 0  # consecutive drives that failed


class LocalDiscovery:
    def __init__(self, world: World, *, rescan: float | None = None) -> None:
        self.world = world
        self.rescan = RESCAN_S if rescan is None else rescan
        self.seen: dict[str, _Seen] = {}
        self.pending: list[str] = []
        self.handed: set[str] = set()
        self.next_scan = 0.0  # monotonic time of the next scan

    # -- WorkSource -----------------------------------------------------------------------

    def claim(self, limit: int) -> list[Claim]:
        now_mono = time.monotonic()
        # Under --until-idle (rescan 0) look again only once every drive came back, not on
        # every completion (a scan reads every active run).
        scan_due = now_mono >= self.next_scan and (self.rescan > 0 or not self.handed)
        if not self.pending and scan_due:
            self.pending = self._scan()
            self.next_scan = now_mono + self.rescan
        elif not self.pending:
            self.pending = self._due_now()
        out: list[Claim] = []
        while self.pending and len(out) < limit:
            run_id = self.pending.pop(0)
            if run_id in self.handed:
                continue
            self.handed.add(run_id)
            seen = self.seen.get(run_id)
            out.append(Claim(run_id, attempts=seen.attempts if seen else 0))
        return out

    def ack(self, claim: Claim, outcome: Outcome) -> None:
        run_id = claim.run_id
        self.handed.discard(run_id)
        if outcome.kind == "driven":
            if outcome.terminal:
                self.seen.pop(run_id, None)
            else:
                # The last event the drive saw (not a fresh read): a hook payload that arrived
                # after it looked must still count as a change.
                last = outcome.result.stats.get("lastEventId") if outcome.result else None
                self.seen[run_id] = _Seen(last, outcome.next_due_ms)
        elif outcome.kind == "error":
            attempts = claim.attempts + 1
            due = int((time.time() + backoff_delay(attempts)) * 1000)
            self.seen[run_id] = _Seen(self._last_event(run_id), due, attempts)
        else:
            # busy / lost: another process drives it; look again at the next scan, when it
            # may have finished or died (its flock is gone then). stopped: we are leaving.
            self.seen.pop(run_id, None)

    def wait(self, wake: threading.Event, timeout: float | None) -> None:
        until = self.next_scan - time.monotonic()
        due = [
            s.due_ms for r, s in self.seen.items() if s.due_ms is not None and r not in self.handed
        ]
        if due:
            until = min(until, min(due) / 1000 - time.time())
        if timeout is not None:
            until = min(until, timeout)
        if until > 0:
            wake.wait(until)

    def close(self) -> None:
        pass

    # -- scanning -------------------------------------------------------------------------

    def _scan(self) -> list[str]:
        now_ms = int(time.time() * 1000)
        active: list[str] = []
        for status in ("pending", "running"):
            runs = all_items(
                lambda c, status=status: self.world.list_runs(
                    status=status, cursor=c, limit=200, sort="asc"
                )
            )
            active.extend(r["runId"] for r in runs)
        live = set(active)
        for gone in [r for r in self.seen if r not in live]:
            del self.seen[gone]  # finished or cancelled elsewhere
        out = []
        for run_id in active:
            seen = self.seen.get(run_id)
            if seen is None or (seen.due_ms is not None and seen.due_ms <= now_ms):
                out.append(run_id)
            elif self._last_event(run_id) != seen.last_event:
                out.append(run_id)
        return out

    def _due_now(self) -> list[str]:
        now_ms = int(time.time() * 1000)
        return [
            r
            for r, s in self.seen.items()
            if s.due_ms is not None and s.due_ms <= now_ms and r not in self.handed
        ]

    def _last_event(self, run_id: str) -> str | None:
        page = self.world.list_events(run_id, limit=1, sort="desc")
        return page.data[0]["eventId"] if page.data else None
