"""``wfctl worker``: drive every run that has work — new runs, due timers and retries,
received hook payloads, and runs a crashed process left behind."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from wfctl.engine.engine import Engine, RunResult
from wfctl.engine.guard import drive_guarded
from wfctl.errors import WfctlError
from worlds import all_items


@dataclass
class WorkerPass:
    driven: int = 0
    events: int = 0
    finished: int = 0
    errors: list[str] = field(default_factory=list)  # runs that could not be driven, and why


def active_run_ids(engine: Engine) -> list[str]:
    ids: list[str] = []
    for status in ("pending", "running"):
        runs = all_items(
            lambda c, status=status: engine.world.list_runs(
                status=status, cursor=c, limit=200, sort="asc"
            )
        )
        ids.extend(r["runId"] for r in runs)
    return ids


def run_pass(engine: Engine, *, concurrency: int, grace: float) -> WorkerPass:
    result = WorkerPass()
    ids = active_run_ids(engine)

    def drive(run_id: str) -> RunResult | str:
        # Timers and retries due within `grace` seconds are waited for in-process. One run that
        # cannot be driven (e.g. its data needs another key) must not stop the others.
        return drive_guarded(engine, run_id, wait=True, timeout=grace, lease_wait=0)

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for res in pool.map(drive, ids):
            if isinstance(res, str):
                result.errors.append(res)
                continue
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
            if p.errors:
                # Idle, but some runs could not be driven: say so with a failing exit code.
                raise WfctlError(
                    f"{len(p.errors)} run(s) could not be driven; first: {p.errors[0]}"
                )
            return total
        if p.events == 0:
            time.sleep(poll)
