"""The engine: creates runs and drives them through the world, in this process.

One *invocation* of a run (``Engine.drive``), under the run's lease:

    run_started → position a VM at the end of the log (runtime) → if the workflow is suspended,
    write the events its pending operations need (hooks first, then steps and waits) → run the
    owned steps concurrently → feed their results back → … until the run ends, or only timers
    and hooks remain (then sleep in-process for due timers when asked to wait, or leave).

Everything the workflow observes comes from the log, so any process can pick a run up where
another left it (``wfctl worker``), and a crash loses at most the steps that were running.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from wfctl import __version__
from wfctl.config import env_int
from wfctl.engine import children, codestore, hotpath
from wfctl.engine.app import App, short_name, workflow_id
from wfctl.engine.check import require_valid
from wfctl.engine.executor import StepExecutor, StepOutcome, plain_error_text
from wfctl.engine.failures import UNSETTLEABLE, vm_failure_message
from wfctl.engine.observer import NULL_OBSERVER, RunObserver
from wfctl.engine.runlogs import RunWatch
from wfctl.errors import AppError, NotFoundError, UsageError
from wfctl.hookpolicy import check_hook_payload, run_hook_context, vm_hook_context
from wfctl.runtime import logsink
from wfctl.runtime.base import Runtime, choose_runtime, runtime_of_run
from wfctl.runtime.bundle import Bundle
from wfctl.runtime.events import EventFeed, iso_to_ms
from wfctl.serde import crypto, payload
from wfctl.serde.depth import DepthError, check_depth
from wfctl.serde.errors import PayloadError
from wfctl.serde.values import JSError
from wfctl.vm import VMError
from worlds import World
from worlds.errors import (
    EntityConflictError,
    HookNotFoundError,
    InvalidTransitionError,
    LeaseBusyError,
    LeaseLostError,
    RunExpiredError,
    RunNotFoundError,
    UnsafeEntityIdError,
    WorldError,
)

if TYPE_CHECKING:
    from wfctl.runtime.machine import VMState, _Template

log = logging.getLogger("wfctl.engine")


def template_for(bundle: Any) -> _Template:
    # The VM (wasmtime) loads only where a workflow executes, not for `wfctl inspect`.
    from wfctl.runtime.machine import template_for

    return template_for(bundle)


TERMINAL_EVENTS = {"run_completed", "run_failed", "run_cancelled"}
TERMINAL_STATUSES = {"completed", "failed", "cancelled"}
DEPLOYMENT_ID = f"wfctl@{__version__}"


def step_concurrency() -> int:
    return env_int("WFCTL_STEP_CONCURRENCY", 8, minimum=1)


@dataclass
class RunResult:
    """What an invocation left behind: the run entity, plus notes worth telling the user."""

    run: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        run_id: str = self.run["runId"]
        return run_id

    @property
    def status(self) -> str:
        status: str = self.run["status"]
        return status


class LogState:
    """What the engine needs to know about a run, derived incrementally from its events."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.cursor: str | None = None  # opaque: the world's cursor after the last event read
        self.terminal: str | None = None
        self.steps: dict[str, dict[str, Any]] = {}  # cid -> {name, done, retryAfter}
        self.open_waits: dict[str, int] = {}  # cid -> resumeAt ms

    def add(self, events: list[dict[str, Any]]) -> None:
        for ev in events:
            self.events.append(ev)
            t = ev["eventType"]
            # Every event read below is an entity event: it carries its correlationId.
            cid = cast(str, ev.get("correlationId"))
            data = ev.get("eventData") or {}
            if t in TERMINAL_EVENTS:
                self.terminal = t
            elif t == "step_created":
                self.steps[cid] = {"name": data.get("stepName"), "done": False, "retryAfter": None}
            elif t in ("step_completed", "step_failed") and cid in self.steps:
                self.steps[cid]["done"] = True
            elif t == "step_retrying" and cid in self.steps:
                ra = data.get("retryAfter")
                self.steps[cid]["retryAfter"] = iso_to_ms(ra) if ra else None
            elif t == "step_started" and cid in self.steps:
                self.steps[cid]["retryAfter"] = None
            elif t == "wait_created":
                self.open_waits[cid] = iso_to_ms(data["resumeAt"])
            elif t == "wait_completed":
                self.open_waits.pop(cid, None)

    def next_due_ms(self) -> int | None:
        """The earliest open timer or step retry (epoch ms): work the run has without help."""
        times = list(self.open_waits.values())
        times += [s["retryAfter"] for s in self.steps.values() if not s["done"] and s["retryAfter"]]
        return min(times, default=None)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _iso_ms(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


class Engine:
    def __init__(
        self,
        world: World,
        app: App | None = None,
        *,
        concurrency: int | None = None,
        observer: RunObserver | None = None,
    ) -> None:
        self.world = world
        self.app = app
        self.observer = observer or NULL_OBSERVER  # progress and logs (wfctl.engine.observer)
        self.concurrency = concurrency or step_concurrency()
        self.master_key = crypto.master_key_from_env()
        # `start` refuses an app whose workflows use a step steps.py does not register.
        self.check_steps = True
        self.stopping = threading.Event()  # shutdown: invocations record what runs, then leave
        if app is not None:
            # Configuration and code errors surface before anything is written.
            choose_runtime(None)
            children.max_children()
            template_for(app.bundle)

    # -- helpers ---------------------------------------------------------------------

    def run_key(self, run_id: str) -> bytes | None:
        return crypto.derive_run_key(self.master_key, run_id) if self.master_key else None

    def check_key(self, run: dict[str, Any]) -> bytes | None:
        """The run's key, after proving it opens the run's data (nothing is written otherwise)."""
        key = self.run_key(run["runId"])
        check_encryption(run, key)
        try:
            payload.unwrap_text(run["input"], key)
        except PayloadError as exc:
            raise UsageError(f"run {run['runId']}: {exc}") from exc
        return key

    def _require_app(self) -> App:
        if self.app is None:
            raise AppError("this command needs the app (pass --app DIR or set WFCTL_APP)")
        return self.app

    def get_run(self, run_id: str) -> dict[str, Any]:
        try:
            return self.world.get_run(run_id)
        except RunNotFoundError as exc:
            raise NotFoundError(f"run {run_id} not found") from exc

    def workflows(self) -> list[str]:
        return template_for(self._require_app().bundle).workflows

    # -- commands --------------------------------------------------------------------

    def start(
        self,
        workflow: str,
        args: list[Any],
        *,
        runtime: str | None = None,
        run_id: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
        context: dict[str, Any] | None = None,
        input_text: str | None = None,
    ) -> RunResult:
        """``context``: extra executionContext fields (rerunOf, forkOf); ``input_text``: the
        input as devl text (a rerun copies it exactly) instead of ``args``."""
        app = self._require_app()
        export = short_name(workflow)
        runtime_name = choose_runtime(runtime)
        if self.check_steps:
            require_valid(app)  # a misspelled useStep name fails here, before a run exists
        known = self.workflows()
        if export not in known:
            raise AppError(
                f"unknown workflow {export!r}: {app.app_dir / 'workflows.js'} exports "
                f"{', '.join(known) or 'no workflows'}"
            )
        run_id_given = run_id is not None
        from worlds.rules import new_run_id  # the world's ULIDs: no python-ulid import

        run_id = run_id or new_run_id()
        key = self.run_key(run_id)
        if input_text is not None:
            encoded = payload.wrap_text(input_text, key)
        else:
            _check_depth(args, f"the input of workflow {export}")
            encoded = payload.encode(list(args), key=key, context=f"workflow {export} input")
        try:
            self._create_run(run_id, export, encoded, key, runtime_name, context)
        except (UnsafeEntityIdError, InvalidTransitionError, EntityConflictError) as exc:
            if run_id_given:  # a run id the user chose: unsafe, malformed, too old or taken
                raise UsageError(f"--run-id {run_id!r}: {exc}") from None
            raise
        if not wait:
            return RunResult(self.world.get_run(run_id))
        return self.drive(run_id, wait=True, timeout=timeout)

    def _create_run(
        self,
        run_id: str,
        export: str,
        encoded: bytes,
        key: bytes | None,
        runtime_name: str,
        context: dict[str, Any] | None = None,
    ) -> None:
        self.world.create_event(
            run_id,
            "run_created",
            event_data={
                "deploymentId": DEPLOYMENT_ID,
                "workflowName": workflow_id(export),
                "input": encoded,
                "executionContext": {
                    "workflowCoreVersion": f"wfctl/{__version__}",
                    "features": {"encryption": key is not None},
                    "workflowRuntime": runtime_name,
                    **run_hook_context(self),
                    "codeHash": codestore.pin(self.world, self._require_app().bundle),
                    **(context or {}),
                },
            },
        )

    def drive(
        self,
        run_id: str,
        *,
        wait: bool = True,
        timeout: float | None = None,
        lease_wait: float | None = 30.0,
    ) -> RunResult:
        run = self.get_run(run_id)
        if run["status"] in TERMINAL_STATUSES:
            return RunResult(run)
        try:
            with self.world.lease(run_id, wait=lease_wait):
                return _Invocation(self, run_id, wait=wait, timeout=timeout).run()
        except LeaseBusyError:  # only acquiring the lease raises it
            return RunResult(
                self.world.get_run(run_id),
                notes=[f"run {run_id} is being driven by another process, which will pick this up"],
                stats={"lease": "busy"},
            )
        except LeaseLostError:  # fenced: another worker took the lease over; stop cleanly
            return RunResult(
                self.world.get_run(run_id),
                notes=[f"run {run_id}: lease taken over by another worker; stopped driving it"],
                stats={"lease": "lost"},
            )

    def resume_hook(
        self, token: str, value: Any, *, drive: bool = True, timeout: float | None = None
    ) -> RunResult:
        children.refuse_reserved_token(token)  # wfctl:child:* is the engine's own
        try:
            hook = self.world.get_hook_by_token(token)
        except HookNotFoundError as exc:
            raise NotFoundError(f"no live hook holds token {token!r}") from exc
        run_id = hook["runId"]
        run = self.get_run(run_id)
        key = self.check_key(run)
        if drive:
            runtime_of_run(run)  # validate before recording anything
        codestore.check_run_code(self.world, run, self.app.bundle if self.app else None)
        _check_depth(value, "the hook payload")
        check_hook_payload(hook, value, key)  # typed hooks: refuse a bad payload before writing
        data = payload.encode(value, key=key, context="hook payload")
        try:
            self.world.create_event(
                run_id, "hook_received", correlation_id=hook["hookId"], event_data={"payload": data}
            )
        except (HookNotFoundError, RunExpiredError) as exc:
            raise NotFoundError(f"no live hook holds token {token!r}") from exc
        if not drive:
            return RunResult(self.world.get_run(run_id))
        # A process already driving the run sees the payload on its next look at the log.
        result = self.drive(run_id, wait=True, timeout=timeout, lease_wait=5.0)
        return children.drive_ancestors(self, result, timeout)

    def cancel(self, run_id: str) -> RunResult:
        run = self.get_run(run_id)
        if run["status"] == "cancelled":  # idempotent: no second terminal event
            return RunResult(run, notes=[f"run {run_id} was already cancelled; nothing written"])
        if run["status"] in ("completed", "failed"):
            raise UsageError(
                f"run {run_id} already {run['status']}; only pending or running runs can be cancelled"
            )
        try:
            self.world.create_event(run_id, "run_cancelled")
        except EntityConflictError as exc:
            raise UsageError(f"run {run_id} cannot be cancelled: {exc}") from exc
        self.world.delete_snapshot(run_id)
        children.cancel_children(self, run_id)  # cascade (docs: child workflows)
        children.notify_parent(self.world, run_id)
        return RunResult(self.world.get_run(run_id))

    # -- runtime construction (also used by the replay checker) ---------------------------

    def make_runtime(
        self,
        run: dict[str, Any],
        name: str,
        feed: EventFeed,
        key: bytes | None,
        *,
        world: World | None = None,
        verify: bool = False,
        bundle: Bundle | None = None,
    ) -> Runtime:
        """``bundle``: the code to run; default the run's pinned code (engine.codestore)."""
        from wfctl.runtime.replay import ReplayRuntime
        from wfctl.runtime.snapshot import SnapshotRuntime

        app = self._require_app()
        if bundle is None:
            bundle = codestore.bundle_for_run(self.world, run, app.bundle)
        ctx = workflow_context(run, key)
        ctx["verify"] = verify  # wfctl replay: also report log events left after the workflow ends
        ctx["maxChildren"] = children.max_children()  # start() limit (docs/STREAMS.md)
        if name == "replay":
            return ReplayRuntime(bundle, ctx, feed)
        return SnapshotRuntime(bundle, ctx, feed, world or self.world, key)


def _check_depth(value: Any, what: str) -> None:
    """Values the VM decodes recursively: too deep is the caller's error (exit 2)."""
    try:
        check_depth(value, what)
    except DepthError as exc:
        raise UsageError(str(exc)) from None


def check_encryption(run: dict[str, Any], key: bytes | None) -> None:
    """A run's encryption is fixed at its creation: continuing it with the other key state
    would store half of it in plaintext. UsageError (exit 2) before anything is written."""
    features = (run.get("executionContext") or {}).get("features") or {}
    encrypted = features.get("encryption")
    if not isinstance(encrypted, bool):  # older runs: what their input is
        data = run.get("input")
        encrypted = isinstance(data, (bytes, bytearray)) and bytes(data[:4]) == b"encr"
    if encrypted and key is None:
        raise UsageError(
            f"run {run['runId']} was created with encryption: set WFCTL_ENCRYPTION_KEY "
            "to the key it was created with to continue it"
        )
    if not encrypted and key is not None:
        raise UsageError(
            f"run {run['runId']} was created without encryption and a run's encryption is "
            "fixed at creation: unset WFCTL_ENCRYPTION_KEY to continue it"
        )


def workflow_context(run: dict[str, Any], key: bytes | None) -> dict[str, Any]:
    return {
        "runId": run["runId"],
        "workflowName": run["workflowName"],
        "workflowExport": short_name(run["workflowName"]),
        "startedAt": iso_to_ms(run.get("startedAt") or run["createdAt"]),
        "input": payload.unwrap_text(run["input"], key),
        "encryption": key is not None,
        **vm_hook_context(run),
    }


class _Invocation:
    """One drive of one run. Not reused."""

    def __init__(self, engine: Engine, run_id: str, *, wait: bool, timeout: float | None) -> None:
        self.engine = engine
        self.world = engine.world
        self.app = engine._require_app()
        self.run_id = run_id
        self.wait = wait
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.key = engine.run_key(run_id)
        self.state = LogState()
        self.notes: list[str] = []
        self.events_written = 0
        self.written_ids: set[str] = set()
        self.watch = RunWatch(self.world, run_id, self.key, engine.observer)
        self._inflight: dict[str, Future[StepOutcome]] = {}
        self._started: dict[str, Any] = {}  # step id -> its step_started, written with a batch

    # -- log ------------------------------------------------------------------------------

    def refresh(self) -> None:
        page = self.world.list_events(self.run_id, cursor=self.state.cursor)
        self.state.add(page.data)
        if page.data:
            self.state.cursor = page.cursor
        self.watch.events(page.data)

    def write(
        self, event_type: str, correlation_id: str | None = None, data: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        try:
            res = self.world.create_event(
                self.run_id, event_type, correlation_id=correlation_id, event_data=data
            )
        except EntityConflictError:
            return None
        if res.event is not None:
            self.events_written += 1
            self.written_ids.add(res.event["eventId"])
        return res.event

    def last_seen_event_id(self) -> str | None:
        """The last event of the log this invocation has accounted for: what it read, plus its
        own writes after that, up to the first event someone else wrote (a worker must treat
        that one as news)."""
        last = self.state.events[-1]["eventId"] if self.state.events else None
        for ev in self.world.list_events(self.run_id, cursor=self.state.cursor).data:
            if ev["eventId"] not in self.written_ids:
                break
            last = ev["eventId"]
        return last

    # -- main loop --------------------------------------------------------------------------

    def run(self) -> RunResult:
        # The watch stores this run's logs and tells the engine's observer what happens.
        sink = logsink.current.set(self.watch)
        try:
            return self._run()
        finally:
            logsink.current.reset(sink)
            self.watch.end()

    def _run(self) -> RunResult:
        from wfctl.runtime.replay import ReplayRuntime
        from wfctl.runtime.snapshot import SnapshotRuntime

        run = self.world.get_run(self.run_id)
        runtime_name = runtime_of_run(run)  # validated before anything is written
        self.engine.check_key(run)
        codestore.bundle_for_run(self.world, run, self.app.bundle)  # the pinned code loads
        if run["status"] == "pending":
            try:
                res = self.world.create_event(self.run_id, "run_started")
                run = res.run or self.world.get_run(self.run_id)
            except RunExpiredError:
                return RunResult(self.world.get_run(self.run_id))
        if run["status"] in TERMINAL_STATUSES:
            return RunResult(run)
        self.watch.begin(run)
        if (
            runtime_name == "replay"
            and os.environ.get("WORKFLOW_RUNTIME") != "replay"
            and self.world.load_snapshot(self.run_id)
        ):
            runtime_name = "snapshot"  # `wfctl snapshot RUN_ID` moved this run onto snapshots
        feed = EventFeed(self.key)
        runtime = self.engine.make_runtime(run, runtime_name, feed, self.key)
        # Step lifecycle events are group-committed: the run's next batch (or the flush when
        # the invocation ends, before anything is reported) makes them durable.
        executor = StepExecutor(self.world, self.app, defer=True)
        pool = hotpath.StepPool(self.engine.concurrency)
        inflight: dict[str, Future[StepOutcome]] = {}
        self._inflight = inflight
        try:
            stopped = True
            self._loop(run, runtime, executor, pool, inflight)
            stopped = False
        finally:
            for fut in inflight.values():
                # A step already running finishes and records its outcome. When the loop itself
                # failed (e.g. a fenced write after a lease takeover), a step's error must not
                # mask why it stopped.
                if stopped:
                    fut.exception()
                else:
                    fut.result()
            pool.shutdown(wait=True)
            runtime.close()
            self.notes.extend(runtime.notes)
            self.world.flush(self.run_id)  # durable, and projected, before anything is reported
        stats: dict[str, Any] = {
            "runtime": runtime.name,
            "eventsWritten": self.events_written,
            "decodes": feed.decodes,
            "lastEventId": self.last_seen_event_id(),
            "nextDueMs": self.state.next_due_ms(),  # for workers: when it has work again
        }
        if isinstance(runtime, SnapshotRuntime):
            stats.update(snapshotSource=runtime.source, snapshotSizes=runtime.saved_sizes)
        if isinstance(runtime, ReplayRuntime):
            stats.update(replays=runtime.replays)
        return RunResult(self.world.get_run(self.run_id), notes=self.notes, stats=stats)

    def _loop(
        self,
        run: dict[str, Any],
        runtime: Runtime,
        executor: StepExecutor,
        pool: hotpath.StepPool,
        inflight: dict[str, Any],
    ) -> None:
        from wfctl.runtime.machine import VMState

        while True:
            self.refresh()
            if self.state.terminal:
                return
            if self._complete_due_waits():
                continue
            try:
                vm_state = runtime.advance(self.state.events)
            except VMError as exc:  # budget, trap, protocol: the run fails (failures.py)
                vm_state = VMState("failed", error=_runtime_failure(vm_failure_message(exc)))
            except (WorldError, OSError):
                raise  # the store, not the run: the run stays as it is and is retried
            except Exception as exc:  # noqa: BLE001 - whatever the VM's answers led to
                vm_state = VMState(
                    "failed",
                    error=_runtime_failure(
                        f"the workflow runtime failed: {type(exc).__name__}: {exc}"
                    ),
                )
            if vm_state.status == "completed":
                self._complete(vm_state)
                return
            if vm_state.status == "failed":
                self._fail(vm_state.error or {})
                return

            pending = vm_state.pending
            uncreated = [
                p
                for p in pending
                if not p.get("hasCreatedEvent") or (p["type"] == "hook" and p.get("disposed"))
            ]
            if uncreated:
                leaving = (
                    not any(p["type"] == "step" for p in pending)
                    and not self._will_wait_for_timer(pending)
                    and not children.keeps_parent(self, pending)
                )
                if leaving:
                    runtime.save()  # the reference order: heap first, then the events it leads to
                conflicted = self._create(uncreated)
                if leaving and not conflicted:
                    return
                if conflicted:
                    continue  # the workflow must see the conflict before anything else
                # The events exist now: schedule straight away rather than re-running the
                # workflow just to learn that (a full replay under the replay runtime).
                self.refresh()
                for p in uncreated:
                    p["hasCreatedEvent"] = True
                pending = [p for p in pending if not (p["type"] == "hook" and p.get("disposed"))]

            if children.settle(self, pending, idle=not inflight):
                continue  # a child ended: the workflow sees it before anything else

            if not pending:
                self._fail(_runtime_failure(UNSETTLEABLE))
                return

            # Shutting down: start nothing new, stay resumable (a step whose step_started went
            # out with the last batch still runs: its attempt is recorded).
            if self.engine.stopping.is_set() and not self._started:
                runtime.save()
                return
            retry_at = self._schedule(run, pending, executor, pool, inflight)
            if inflight:
                timeout = self._until(self._next_due(retry_at))
                done, _ = wait(
                    list(inflight.values()), timeout=timeout, return_when=FIRST_COMPLETED
                )
                for cid in [c for c, f in inflight.items() if f in done]:
                    inflight.pop(cid).result()
                continue

            due = self._next_due(retry_at)
            if due is not None and self._can_wait_until(due):
                self._sleep_until(due)
                continue
            runtime.save()
            return

    def _next_due(self, retry_at: int | None) -> int | None:
        """The earliest step retry or timer (epoch ms), if any."""
        times = [t for t in (retry_at, *self.state.open_waits.values()) if t is not None]
        return min(times, default=None)

    def _can_wait_until(self, due_ms: int) -> bool:
        if not self.wait:
            return False
        return (
            self.deadline is None or due_ms / 1000 - time.time() <= self.deadline - time.monotonic()
        )

    def _sleep_until(self, due_ms: int) -> None:
        """Sleep in short slices, returning early when another process appends to the log."""
        before = len(self.state.events)
        self.watch.sleeping(due_ms)
        while (remaining := due_ms / 1000 - time.time()) > 0:
            if self.engine.stopping.wait(min(remaining, 1.0)):
                return
            if self.world.lease_lost(self.run_id):  # taken over while we slept: stop now
                raise LeaseLostError(f"The lease of run {self.run_id} was taken over.")
            self.refresh()
            if len(self.state.events) != before:
                return

    def _until(self, due_ms: int | None) -> float | None:
        if due_ms is None:
            return None
        return max(0.0, due_ms / 1000 - time.time()) + 0.001

    def _will_wait_for_timer(self, pending: list[dict[str, Any]]) -> bool:
        waits = [int(p["resumeAt"]) for p in pending if p["type"] == "wait"]
        return bool(waits) and self._can_wait_until(min(waits))

    def _complete_due_waits(self) -> bool:
        now = _now_ms()
        wrote = False
        for cid, resume_at in list(self.state.open_waits.items()):
            if resume_at <= now:
                if self.write("wait_completed", cid) is not None:
                    wrote = True
                else:
                    self.state.open_waits.pop(cid, None)
        return wrote

    def _create(self, items: list[dict[str, Any]]) -> bool:
        """Write the events for operations the log does not have yet; True on a hook conflict.
        One batch (group commit), with the step_started of the steps about to run."""
        free = max(0, self.engine.concurrency - len(self._inflight))
        if self.engine.stopping.is_set():
            free = 0  # shutting down: create, but start nothing new
        conflicted, started = hotpath.create_pending(self, items, free)
        self._started.update(started)
        return conflicted

    def _schedule(
        self,
        run: dict[str, Any],
        pending: list[dict[str, Any]],
        executor: StepExecutor,
        pool: hotpath.StepPool,
        inflight: dict[str, Any],
    ) -> int | None:
        """Submit every runnable step; returns the earliest future retry time (ms) if any.
        The only runnable step (nothing else in flight) runs inline, on this thread."""
        now = _now_ms()
        earliest: int | None = None
        runnable = []
        for p in pending:
            if p["type"] != "step":
                continue
            cid = p["correlationId"]
            info = self.state.steps.get(cid)
            if info is None or info["done"] or cid in inflight:
                continue
            ra = info["retryAfter"]
            if ra is not None and ra > now:
                earliest = ra if earliest is None else min(earliest, ra)
                continue
            if self.engine.stopping.is_set() and cid not in self._started:
                continue
            runnable.append(p)
        for p in runnable:
            cid = p["correlationId"]
            args = (run, cid, p["stepName"], self.key, self._started.pop(cid, None))
            if len(runnable) == 1 and not inflight:
                inflight[cid] = pool.run_inline(executor.run, *args)
            else:
                inflight[cid] = pool.submit(executor.run, *args)
            self.watch.step_submitted(cid, p["stepName"])
        return earliest

    # -- endings ---------------------------------------------------------------------------

    def _complete(self, vm_state: VMState) -> None:
        output = payload.wrap_text(vm_state.result or "[-1]", self.key)
        self.write("run_completed", data={"output": output})
        self.world.delete_snapshot(self.run_id)
        children.notify_parent(self.world, self.run_id)

    def _fail(self, error: dict[str, Any]) -> None:
        text = error.get("error")
        if text is None:
            err = JSError(
                name=error.get("name", "Error"),
                message=error.get("message", ""),
                stack=error.get("stack", ""),
            )
            data = payload.encode(err, key=self.key)
        else:
            data = payload.wrap_text(text, self.key)
        message, stack = plain_error_text(
            error.get("message", ""), error.get("stack", ""), self.key
        )
        self.write(
            "run_failed",
            data={
                "error": data,
                "errorCode": error.get("code", "USER_ERROR"),
                "message": message,
                "stack": stack,
            },
        )
        self.world.delete_snapshot(self.run_id)
        children.notify_parent(self.world, self.run_id)


def _runtime_failure(message: str) -> dict[str, Any]:
    return {
        "code": "RUNTIME_ERROR",
        "name": "WorkflowRuntimeError",
        "message": message,
        "stack": "",
    }
