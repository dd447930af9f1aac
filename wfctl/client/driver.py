"""Embedded driving: the runs a Client starts or resumes are driven in its own threads.

One drive = one ``Engine.drive`` invocation under the run's lease. It waits in-process for
timers and retries due within ``grace`` seconds; a later timer is handed to a ``threading.Timer``
that submits the run again when it is due, so a run sleeping for a day holds no thread.
Everyone waiting for a run (``Run.result``) is woken through one condition after every drive.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from wfctl.engine.children import parent_run_id
from wfctl.engine.engine import TERMINAL_STATUSES, Engine
from worlds import all_items

log = logging.getLogger("wfctl.client")


def _ms(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Driver:
    def __init__(self, engine: Engine, *, concurrency: int = 4, grace: float = 30.0) -> None:
        self.engine = engine
        self.grace = grace
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="wfctl-run")
        self.lock = threading.Lock()
        self.changed = threading.Condition()
        self.active: set[str] = set()
        self.again: set[str] = set()
        self.timers: dict[str, threading.Timer] = {}
        self.listeners: set[Callable[[], None]] = set()  # called after every drive (any thread)
        self.closed = False
        ref = weakref.ref(self)

        def at_exit() -> None:
            # At interpreter exit, let in-flight drives finish their steps and leave (resumable)
            # instead of sleeping out their timers. Runs before the executor's own join.
            driver = ref()
            if driver is not None:
                driver.engine.stopping.set()

        threading._register_atexit(at_exit)  # type: ignore[attr-defined]

    def submit(self, run_id: str) -> None:
        with self.lock:
            if self.closed:
                return
            timer = self.timers.pop(run_id, None)
            if timer:
                timer.cancel()
            if run_id in self.active:
                self.again.add(run_id)  # its drive may have looked at the log already
                return
            self.active.add(run_id)
        self.pool.submit(self._drive, run_id)

    def _drive(self, run_id: str) -> None:
        status = None
        parent = None
        try:
            res = self.engine.drive(run_id, wait=True, timeout=self.grace, lease_wait=2.0)
            status = res.status
            parent = parent_run_id(res.run)
        except Exception:  # the run stays in the world; result() reports what it finds there
            log.exception("driving run %s failed", run_id)
        finally:
            with self.lock:
                self.active.discard(run_id)
                again = run_id in self.again
                self.again.discard(run_id)
            with self.changed:
                self.changed.notify_all()
            for listener in list(self.listeners):
                with contextlib.suppress(RuntimeError):  # e.g. a waiter's event loop closed
                    listener()
        if again:
            self.submit(run_id)
        elif status is not None and status not in TERMINAL_STATUSES:
            self._schedule(run_id)
        elif parent is not None:
            self.submit(parent)  # a child ended: its parent may be waiting on it

    def _schedule(self, run_id: str) -> None:
        """Submit the run again when its next timer or step retry is due (if it has one)."""
        world = self.engine.world
        times = [
            _ms(w["resumeAt"])
            for w in world.list_waits(run_id)
            if w.get("status") == "waiting" and w.get("resumeAt")
        ]
        steps = all_items(lambda c: world.list_steps(run_id, cursor=c, limit=1000, sort="asc"))
        times += [
            _ms(s["retryAfter"]) for s in steps if s.get("retryAfter") and s["status"] == "pending"
        ]
        if not times:
            return  # waiting on a hook: resume_hook submits it again
        delay = max(0.0, min(times) - time.time())
        with self.lock:
            if self.closed or run_id in self.timers:
                return
            timer = threading.Timer(delay, self.submit, args=(run_id,))
            timer.daemon = True
            self.timers[run_id] = timer
        timer.start()

    def wait_changed(self, timeout: float) -> None:
        with self.changed:
            self.changed.wait(timeout)

    def close(self, *, wait: bool = True) -> None:
        """Stop: drives in flight finish their running steps and leave; nothing new starts."""
        with self.lock:
            self.closed = True
            for t in self.timers.values():
                t.cancel()
            self.timers.clear()
        self.engine.stopping.set()
        self.pool.shutdown(wait=wait)
