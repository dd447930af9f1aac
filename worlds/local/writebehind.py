"""Write-behind for runs this world holds the lease of: the journal append is the only
synchronous write of an event; the reference projection follows in batches.

While a :class:`~worlds.local.store.LocalWorld` holds a run's driving lease, a commit of that
run appends to the journal (the commit point) and queues the lines here instead of writing
``events/``, ``steps/``, ``runs/``, ``hooks/``, ``waits/`` and ``.locks/`` files at once. The
queue is projected, in journal order and under the run's write lock (so from the journal state
as it is then, never an older one):

- when the lease is released (the invocation suspends or ends) or ``flush(run_id)`` is called;
- before this world answers a read served from projection files (``get_run``, ``get_step``,
  ``list_steps``, hooks, runs), so this process always reads its own writes;
- when a run's queue reaches ``MAX_PENDING`` lines;
- at the latest ``delay`` seconds after its first queued line (a timer thread), so another
  process (the DevKit's ``workflow inspect``) sees the files within a short bounded delay.

A crash loses no committed event: the projected lines of a run are always a prefix of its
journal (every projector works in order), and the next writer rolls the unprojected tail
forward (``LocalWorld._open_for_write``), as it did before for the one event a crash could
leave unprojected.

``durable=False`` commits (the engine's step lifecycle events) skip the fsync: the line is in
the page cache, so it survives ``kill -9`` of this process, and it reaches the disk with the
run's next fsynced commit (a file's fsync covers every earlier write to it) or the flush.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..rules import public_event

if TYPE_CHECKING:
    from ..rules import RunState
    from .projection import Projector

MAX_PENDING = 512  # well under the roll-forward window (store._ROLL_FORWARD_MAX)


def projection_delay() -> float:
    """``WFCTL_PROJECTION_DELAY`` seconds (default 0.5): the bound on a projection's lag."""
    try:
        return max(0.0, float(os.environ.get("WFCTL_PROJECTION_DELAY", "0.5")))
    except ValueError:
        return 0.5


class WriteBehind:
    """Per-run queues of committed-but-unprojected journal lines, and unsynced journals.

    Lines are projected by :meth:`drain`, in order, under the run's *projection* lock -- not
    its write lock, so the background timer never holds up a commit. Only step events are
    queued (``store._WRITE_BEHIND``), and only the lease holder writes them, so every line
    about a step is in this queue and projecting them in order, each from a state at least as
    new as the line, leaves each step file in its final form.
    """

    def __init__(self, on_timer: Callable[[str], None], delay: float | None = None) -> None:
        self._on_timer_cb = on_timer  # projects a run's queue (store: without the write lock)
        self._delay = projection_delay() if delay is None else delay
        self._guard = threading.Lock()
        self._leased: dict[str, int] = {}  # run id -> nesting depth of held leases
        self._pending: dict[str, list[dict]] = {}
        self._projecting: dict[str, int] = {}  # lines taken from the queue, not yet projected
        self._locks: dict[str, threading.Lock] = {}  # run id -> projection lock
        self._unsynced: set[str] = set()
        self._timers: dict[str, threading.Timer] = {}

    # -- leases -------------------------------------------------------------------------

    def enter(self, run_id: str) -> None:
        with self._guard:
            self._leased[run_id] = self._leased.get(run_id, 0) + 1

    def leave(self, run_id: str) -> None:
        with self._guard:
            depth = self._leased.get(run_id, 0) - 1
            if depth > 0:
                self._leased[run_id] = depth
            else:
                self._leased.pop(run_id, None)

    def deferring(self, run_id: str) -> bool:
        return run_id in self._leased

    # -- queue ------------------------------------------------------------------------------

    def has_pending(self, run_id: str) -> bool:
        """Lines of this run committed here whose projection is not finished."""
        return bool(self._pending.get(run_id)) or bool(self._projecting.get(run_id))

    def needs_flush(self, run_id: str) -> bool:
        return self.has_pending(run_id) or run_id in self._unsynced

    def add(self, run_id: str, lines: list[dict], *, synced: bool) -> bool:
        """Queue ``lines`` (caller holds the write lock); True when the queue is full."""
        with self._guard:
            if synced:
                self._unsynced.discard(run_id)  # this fsync covered every earlier append
            else:
                self._unsynced.add(run_id)
            queue = self._pending.setdefault(run_id, [])
            queue.extend(lines)
            if run_id not in self._timers and self._delay > 0:
                timer = threading.Timer(self._delay, self._on_timer, args=(run_id,))
                timer.daemon = True  # the lease's release flushes; never hold up an exit
                self._timers[run_id] = timer
                timer.start()
            return len(queue) >= MAX_PENDING

    def mark_synced(self, run_id: str) -> None:
        with self._guard:
            self._unsynced.discard(run_id)

    def take_unsynced(self, run_id: str) -> bool:
        """Whether the run's journal has appends no fsync covered yet (the flag is cleared)."""
        with self._guard:
            unsynced = run_id in self._unsynced
            self._unsynced.discard(run_id)
            return unsynced

    def drain(self, run_id: str, project: Callable[[list[dict]], None]) -> None:
        """Project every queued line of the run, in order (waits for a drain in progress)."""
        with self._guard:
            lock = self._locks.setdefault(run_id, threading.Lock())
        with lock:
            with self._guard:
                lines = self._pending.pop(run_id, [])
                self._projecting[run_id] = self._projecting.get(run_id, 0) + len(lines)
                timer = self._timers.pop(run_id, None)
            if timer is not None and timer is not threading.current_thread():
                timer.cancel()
            try:
                if lines:
                    project(lines)
            finally:
                with self._guard:
                    left = self._projecting.get(run_id, 0) - len(lines)
                    if left > 0:
                        self._projecting[run_id] = left
                    else:
                        self._projecting.pop(run_id, None)
                    if not self._pending.get(run_id):
                        self._pending.pop(run_id, None)

    def runs(self) -> list[str]:
        with self._guard:
            return sorted(set(self._pending) | set(self._projecting) | self._unsynced)

    def _on_timer(self, run_id: str) -> None:
        with self._guard:
            if self._timers.get(run_id) is threading.current_thread():
                del self._timers[run_id]
        try:
            self._on_timer_cb(run_id)
        except Exception:  # noqa: BLE001 - the flush at lease release or a roll-forward redoes it
            pass

    def cancel_timers(self) -> None:
        with self._guard:
            timers = list(self._timers.values())
            self._timers.clear()
        for timer in timers:
            timer.cancel()


def project_steps(projector: Projector, lines: list[dict], state: RunState) -> None:
    """Project a queue of step lines as one batch: each step's file once, events last.

    ``Projector.project`` per line would rewrite a step's file for each of its events
    (created, started, completed: three times the same final form, since it projects from the
    current state). Here lock files and step files are written first, once per step, then the
    event files in journal order -- the event file stays the marker that a line is projected:
    a crash before a line's event file leaves it to roll-forward, and every line whose event
    file exists had its step file written from a state at least as new as the line.
    """
    layout = projector._layout
    run_id = state.run_id
    if any(not x["eventType"].startswith("step_") or not x.get("correlationId") for x in lines):
        for line in lines:  # not only step events: the general path, line by line
            projector.project(line, state)
        return
    steps: dict[str, dict] = {}
    for line in lines:
        kind = line["eventType"]
        corr = line["correlationId"]
        if kind == "step_created":
            projector._lock("steps", f"{run_id}-{corr}.created")
        elif kind in ("step_completed", "step_failed"):
            projector._lock("steps", f"{run_id}-{corr}.terminal")
        step = state.steps.get(corr)
        if step is not None:
            steps[corr] = step
    for corr, step in steps.items():
        projector._write(layout.step(run_id, corr), step)
    for line in lines:
        projector._write(layout.event(run_id, line["eventId"]), public_event(line))
