"""The worker loop inside ``wfctl serve``: drives runs this process did not start or resume
(started with ``--no-wait`` elsewhere, resumed with ``--no-drive``, left behind by a crash).
Runs started or resumed over HTTP are driven at once by the Client's own driver."""

from __future__ import annotations

import logging
import threading
import time

from wfctl.engine.engine import Engine
from wfctl.engine.worker import run_pass

log = logging.getLogger("wfctl.serve")


class BackgroundWorker:
    def __init__(self, engine: Engine, *, concurrency: int, poll: float = 2.0) -> None:
        self.engine = engine
        self.concurrency = concurrency
        self.poll = poll
        self.last_pass = 0.0
        self.error: str | None = None
        self.thread = threading.Thread(target=self._loop, name="wfctl-serve-worker", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _loop(self) -> None:
        stopping = self.engine.stopping
        while not stopping.is_set():
            try:
                run_pass(self.engine, concurrency=self.concurrency, grace=self.poll)
                self.error = None
            except Exception as exc:  # reported by /healthz; the loop keeps going
                log.exception("worker pass failed")
                self.error = f"{type(exc).__name__}: {exc}"
            self.last_pass = time.monotonic()
            stopping.wait(self.poll)

    def healthy(self) -> bool:
        return self.thread.is_alive() and self.error is None

    def stop(self, timeout: float | None = None) -> None:
        self.engine.stopping.set()
        self.thread.join(timeout)
