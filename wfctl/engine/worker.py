"""``wfctl worker``: drive every run that has work — new runs, due timers and retries,
received hook payloads, and runs a crashed process left behind."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from wfctl.engine.engine import Engine, RunResult

log = logging.getLogger("wfctl.worker")


@dataclass
class WorkerPass:
    driven: int = 0
    events: int = 0
    finished: int = 0


def active_run_ids(engine: Engine) -> list[str]:
    ids: list[str] = []
    for status in ("pending", "running"):
        cursor = None
        while True:
            page = engine.world.list_runs(status=status, cursor=cursor, limit=200, sort="asc")
            ids.extend(r["runId"] for r in page.data)
            if not page.has_more:
                break
            cursor = page.cursor
    return ids


def run_pass(engine: Engine, *, concurrency: int, grace: float) -> WorkerPass:
    result = WorkerPass()
    ids = active_run_ids(engine)

    def drive(run_id: str) -> RunResult:
        # Timers and retries due within `grace` seconds are waited for in-process.
        return engine.drive(run_id, wait=True, timeout=grace, lease_wait=0)

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for res in pool.map(drive, ids):
            result.driven += 1
            result.events += int(res.stats.get("eventsWritten", 0))
            result.finished += res.status in ("completed", "failed", "cancelled")
    return result


def run_worker(
    engine: Engine,
    *,
    until_idle: bool,
    concurrency: int = 4,
    poll: float = 1.0,
    grace: float = 5.0,
    on_pass: Callable[[WorkerPass], None] | None = None,
) -> WorkerPass:
    total = WorkerPass()
    while True:
        p = run_pass(engine, concurrency=concurrency, grace=grace)
        total.driven += p.driven
        total.events += p.events
        total.finished += p.finished
        if on_pass:
            on_pass(p)
        if until_idle and p.events == 0:
            return total
        if p.events == 0:
            time.sleep(poll)
