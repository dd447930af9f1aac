"""``wfctl worker``: drive every run that has work — new runs, due timers and retries,
received hook payloads, and runs a crashed process left behind.

The worker is queue-shaped: *claim* runnable runs from a :class:`WorkSource`, *drive* each under
its lease in a thread pool, then *ack* with what is left (the next due time, or nothing). Where
the runnable runs come from depends on the world: on PostgreSQL a durable run queue
(``worlds.postgres.queue``), on the local world a scan of the active runs that remembers what
it already drove (:mod:`wfctl.engine.discovery`). An idle worker sleeps until the source's next
due time or a wake-up, and prints nothing.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from wfctl.engine.engine import Engine, RunResult
from wfctl.engine.executor import safe_str
from wfctl.engine.guard import fail_run
from wfctl.errors import WfctlError
from wfctl.serde.errors import PayloadError
from worlds.errors import StoreUnavailableError, WorldError

log = logging.getLogger("wfctl.worker")

TERMINAL = ("completed", "failed", "cancelled")
MAX_WAIT_S = 60.0


@dataclass
class Claim:
    """One runnable run handed out by a work source; ``token`` is the source's own."""

    run_id: str
    token: Any = None
    attempts: int = 0


@dataclass
class Outcome:
    """How one drive of a claimed run ended, for the source's ack."""

    # "driven" | "stopped" (left early: the worker is shutting down) | "busy" (lease held
    # elsewhere) | "lost" (fenced) | "error" | "outage" (the store went away)
    kind: str
    result: RunResult | None = None
    error: str | None = None

    @property
    def terminal(self) -> bool:
        return self.result is not None and self.result.status in TERMINAL

    @property
    def next_due_ms(self) -> int | None:
        """When the run has work again without outside help (timer, retry), in epoch ms."""
        if self.result is None:
            return None
        return self.result.stats.get("nextDueMs")


class WorkSource(Protocol):
    """Where a worker's runnable runs come from."""

    def claim(self, limit: int) -> list[Claim]:
        """Up to ``limit`` runs that have work now (each handed to one claimer at a time)."""

    def ack(self, claim: Claim, outcome: Outcome) -> None:
        """Record how the drive ended: forget the run, or keep it for its next due time."""

    def wait(self, wake: threading.Event, timeout: float | None) -> None:
        """Sleep until work may be due, ``wake`` is set, or ``timeout`` seconds passed."""

    def close(self) -> None: ...


@dataclass
class WorkerPass:
    driven: int = 0
    events: int = 0
    finished: int = 0
    errors: list[str] = field(default_factory=list)  # runs that could not be driven, and why

    def add(self, other: WorkerPass) -> None:
        self.driven += other.driven
        self.events += other.events
        self.finished += other.finished
        self.errors.extend(other.errors)


def work_source_for(engine: Engine, *, until_idle: bool = False) -> WorkSource:
    world = engine.world
    if type(world).__module__.startswith("worlds.postgres"):
        from worlds.postgres.queue import PgRunQueue

        return PgRunQueue(world)
    from wfctl.engine.discovery import LocalDiscovery

    # --until-idle looks again right away after a pass that wrote something (as before).
    return LocalDiscovery(world, rescan=0.0 if until_idle else None)


def is_outage(exc: BaseException) -> bool:
    """Is this the store being unreachable (rather than something wrong with one run)?"""
    for e in (exc, exc.__cause__, exc.__context__):
        if e is None:
            continue
        if (
            isinstance(e, StoreUnavailableError)
            or type(e).__module__.startswith(("psycopg", "psycopg_pool"))
            and type(e).__name__ in ("OperationalError", "InterfaceError", "PoolTimeout")
        ):
            return True
    return False


def drive_claim(engine: Engine, claim: Claim, grace: float) -> Outcome:
    """Drive one claimed run; never raises for a single run (one that cannot be driven must not
    stop the others). Policy as :mod:`wfctl.engine.guard`: an expected, possibly transient
    problem leaves the run as it is and is retried after a back-off; a defect reached through
    this run fails it with ``RUNTIME_ERROR``. The store going away is neither: it is an outage."""
    run_id = claim.run_id
    try:
        res = engine.drive(run_id, wait=True, timeout=grace, lease_wait=0)
    except BaseException as exc:  # noqa: BLE001 - see the docstring
        if isinstance(exc, KeyboardInterrupt) and threading.current_thread() is (
            threading.main_thread()
        ):
            raise
        if is_outage(exc):
            return Outcome("outage", error=safe_str(exc))
        if isinstance(exc, (WfctlError, WorldError, PayloadError, OSError)):
            return Outcome("error", error=_message(run_id, safe_str(exc)))
        log.exception("driving run %s failed", run_id)
        text = f"wfctl could not drive this run: {type(exc).__name__}: {safe_str(exc)}"
        try:
            run = fail_run(engine, run_id, text)
        except BaseException as again:  # noqa: BLE001
            text = f"{text} (and recording the failure failed: {again!r})"
            return Outcome("error", error=_message(run_id, text))
        if run is None:  # its lease is busy: another process drives it
            return Outcome("busy", error=_message(run_id, text))
        # Failed on purpose: finished (acked as such), and told on stderr.
        return Outcome("driven", result=RunResult(run), error=_message(run_id, f"failed: {text}"))
    lease = res.stats.get("lease")
    if lease in ("busy", "lost"):
        return Outcome(lease, result=res)
    if engine.stopping.is_set() and res.status not in TERMINAL:
        return Outcome("stopped", result=res)  # left early for a shutdown: still runnable
    return Outcome("driven", result=res)


def _message(run_id: str, text: str) -> str:
    return text if run_id in text else f"run {run_id}: {text}"


def run_pass(engine: Engine, *, concurrency: int = 4, grace: float = 5.0) -> WorkerPass:
    """One pass for a caller with its own loop (``wfctl serve``'s background worker): drive what
    is runnable now, ack, return. The work source lives on the engine across passes, so a run
    waiting on a hook is not driven again on every pass."""
    source = getattr(engine, "_work_source", None)
    if source is None:
        source = work_source_for(engine)
        engine._work_source = source  # type: ignore[attr-defined]
    p = WorkerPass()
    with ThreadPoolExecutor(
        max_workers=max(1, concurrency), thread_name_prefix="wfctl-drive"
    ) as pool:
        while claims := source.claim(max(1, concurrency)):
            outcomes = list(pool.map(lambda c: drive_claim(engine, c, grace), claims))
            for claim, outcome in zip(claims, outcomes, strict=True):
                _account(p, outcome)
                source.ack(claim, outcome)
    return p


def run_worker(
    engine: Engine,
    *,
    until_idle: bool,
    concurrency: int = 4,
    grace: float = 5.0,
    on_pass: Callable[[WorkerPass], None] | None = None,
    source: WorkSource | None = None,
    stop: threading.Event | None = None,
) -> WorkerPass:
    """Claim → drive → ack until stopped (or, with ``until_idle``, until a pass writes nothing).

    A *pass* is the work done between two idle moments; ``on_pass`` hears about passes that
    drove something or hit errors (an idle worker reports nothing).
    """
    source = source or work_source_for(engine, until_idle=until_idle)
    stop = stop or threading.Event()
    wake = threading.Event()
    total, current = WorkerPass(), WorkerPass()
    inflight: dict[Future[Outcome], Claim] = {}
    failing: dict[str, str] = {}  # run id -> why its last drive failed (until it succeeds)
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="wfctl-drive")
    restore = _stop_on_sigterm(engine, stop, wake)
    try:
        while not stop.is_set():
            wake.clear()
            for fut in [f for f in inflight if f.done()]:
                claim = inflight.pop(fut)
                outcome = fut.result()
                _account(current, outcome)
                if outcome.kind == "error":
                    failing[claim.run_id] = outcome.error or "unknown error"
                else:
                    failing.pop(claim.run_id, None)
                source.ack(claim, outcome)
            free = concurrency - len(inflight)
            claims = source.claim(free) if free > 0 else []
            for claim in claims:
                fut = pool.submit(drive_claim, engine, claim, grace)
                fut.add_done_callback(lambda _f: wake.set())
                inflight[fut] = claim
            if claims:
                continue
            if not inflight:  # idle: nothing claimable, nothing running
                if on_pass and (current.driven or current.errors):
                    on_pass(current)
                total.add(current)
                finished_pass, current = current, WorkerPass()
                if until_idle:
                    if finished_pass.events == 0:
                        if failing:
                            # Idle, but some runs could not be driven: fail the exit code.
                            raise WfctlError(
                                f"{len(failing)} run(s) could not be driven; "
                                f"first: {next(iter(failing.values()))}"
                            )
                        return total
                    continue
            if free <= 0:
                wake.wait(MAX_WAIT_S)  # every slot busy: a finishing drive sets `wake`
            else:
                source.wait(wake, None)
        return total
    finally:
        stop.set()
        pool.shutdown(wait=True)  # drives in flight finish and release their leases
        for fut, claim in inflight.items():
            if not fut.cancelled() and fut.exception() is None:
                source.ack(claim, fut.result())
        source.close()
        restore()


def _stop_on_sigterm(
    engine: Engine, stop: threading.Event, wake: threading.Event
) -> Callable[[], None]:
    """SIGTERM (a service manager stopping the worker) ends the loop gracefully: no new claims,
    the drives in flight record the steps already running and leave (``engine.stopping``),
    their leases are released instead of waiting out the TTL, their runs stay runnable."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(_signum: int, _frame: Any) -> None:
        engine.stopping.set()
        stop.set()
        wake.set()

    previous = signal.signal(signal.SIGTERM, handler)
    return lambda: signal.signal(signal.SIGTERM, previous)


def _account(p: WorkerPass, outcome: Outcome) -> None:
    if outcome.kind == "error":
        p.errors.append(outcome.error or "unknown error")
        return
    if outcome.kind not in ("driven", "stopped") or outcome.result is None:
        return
    if outcome.error:  # a run the worker had to fail
        p.errors.append(outcome.error)
    p.driven += 1
    p.events += int(outcome.result.stats.get("eventsWritten", 0))
    p.finished += outcome.terminal


def backoff_delay(attempts: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential back-off for runs that could not be driven (0.5 s, 1 s, 2 s ... 30 s)."""
    return min(cap, base * (2 ** max(0, attempts - 1)))
