"""``wfctl fork RUN_ID --step N``: a new run that reuses the source run's first N-1 steps.

The new run executes the *current* code. Its log must be one that this code consumes as if it
had made those calls itself, so the recorded events cannot simply be copied: correlation ids
are derived from the run id (seeded ULIDs), hook tokens may be seeded nanoids, and payloads are
encrypted under a per-run key. The fork therefore *replicates*:

1. Plan (source log only): the source's operations (steps, sleeps, hooks) in call order (the
   seeded ULIDs of one run increase with every call), step N = the N-th ``step_created``, the
   *prefix* = every operation called before step N. Events copied: all events of prefix steps
   that finished (their results are reused), only ``step_created`` of a prefix step that never
   finished (it runs again), and the events of prefix sleeps and hooks written before step N
   was created (a sleep still open completes when due; a hook still open waits again).
2. Replicate, in the source log's order: a VM of the new run (current code) is fed the events
   written so far; each call it makes is matched, in call order, to the source's next prefix
   operation (same kind, same step name, else the fork is refused: the current code diverges
   before step N); each source event is written to the new run under the matched correlation
   id, with payloads decrypted with the source's key and re-encrypted with the new run's key.
3. The engine then drives the new run as any other: the steps from N on run; the copied ones
   are already completed in its log and are never executed.

Step 2 runs twice: first against an in-memory log (nothing written: divergence is refused
before the new run exists), then for real under the new run's lease (so no worker drives it
while the copies are written).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ulid import ULID

from wfctl.engine.app import short_name
from wfctl.engine.engine import Engine, RunResult, workflow_context
from wfctl.engine.replaycheck import describe_op
from wfctl.engine.versions import stamped_runtime
from wfctl.errors import AppError, UsageError, WfctlError
from wfctl.runtime.base import runtime_of_run
from wfctl.runtime.bundle import Bundle
from wfctl.runtime.events import EventFeed
from wfctl.runtime.machine import WorkflowMachine
from wfctl.runtime.snapshot import encode_snapshot
from wfctl.serde import payload
from wfctl.serde.values import JSError

KINDS = ("step", "wait", "hook")
PAYLOAD_FIELDS = ("result", "error", "payload")


class ForkDiverged(WfctlError):
    """The current code does not make the source run's calls before step N (exit 1)."""


@dataclass
class Op:
    cid: str
    kind: str
    step_name: str | None = None
    created: int | None = None  # index of its *_created (or hook_conflict) event
    finished: bool = False
    events: list[int] = field(default_factory=list)

    @property
    def call_key(self) -> str:
        return self.cid.split("_", 1)[1]  # the seeded monotonic ULID: increases per call


@dataclass
class Plan:
    log: list[dict[str, Any]]
    prefix: list[Op]  # in call order
    copy: list[int]  # indices into log, in log order
    steps: int  # steps the source run created


def plan_fork(log: list[dict[str, Any]], step: int, run_id: str) -> Plan:
    ops: dict[str, Op] = {}
    for i, ev in enumerate(log):
        cid = ev.get("correlationId")
        kind = ev["eventType"].split("_", 1)[0]
        if not cid or kind not in KINDS or "_" not in cid:
            continue
        op = ops.setdefault(cid, Op(cid, kind))
        op.events.append(i)
        if op.created is None and (ev["eventType"].endswith("_created") or kind == "hook"):
            op.created = i
            if kind == "step":
                op.step_name = (ev.get("eventData") or {}).get("stepName")
        if ev["eventType"] in ("step_completed", "step_failed"):
            op.finished = True
    steps = sorted(
        (o for o in ops.values() if o.kind == "step" and o.created is not None),
        key=lambda o: o.created or 0,
    )
    if step < 1 or step > len(steps):
        raise UsageError(
            f"--step {step} is out of range: run {run_id} created {len(steps)} step(s) "
            f"(give 1..{len(steps)})"
            if steps
            else f"--step {step} is out of range: run {run_id} created no steps"
        )
    target = steps[step - 1]
    cutoff = target.created or 0
    prefix = sorted(
        (o for o in ops.values() if o.call_key < target.call_key and o.created is not None),
        key=lambda o: o.call_key,
    )
    copy: list[int] = []
    for op in prefix:
        if op.kind == "step":
            copy.extend(op.events if op.finished else [op.created or 0])
        else:
            copy.extend(i for i in op.events if i < cutoff)
    return Plan(log=log, prefix=prefix, copy=sorted(copy), steps=len(steps))


# ------------------------------------------------------------------------------ sinks


class Sink(Protocol):
    def write(
        self, event_type: str, cid: str | None, data: dict[str, Any] | None
    ) -> dict[str, Any]: ...


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class MemorySink:
    """The dry run: events as the world would return them, kept in memory."""

    def write(
        self, event_type: str, cid: str | None, data: dict[str, Any] | None
    ) -> dict[str, Any]:
        ev: dict[str, Any] = {
            "eventId": f"evnt_{ULID()}",
            "eventType": event_type,
            "createdAt": _now_iso(),
            "eventData": data or {},
        }
        if cid is not None:
            ev["correlationId"] = cid
        return ev


class WorldSink:
    def __init__(self, engine: Engine, run_id: str) -> None:
        self.world = engine.world
        self.run_id = run_id

    def write(
        self, event_type: str, cid: str | None, data: dict[str, Any] | None
    ) -> dict[str, Any]:
        res = self.world.create_event(self.run_id, event_type, correlation_id=cid, event_data=data)
        assert res.event is not None
        return res.event


# ------------------------------------------------------------------------------ replicate


def _translate(
    ev: dict[str, Any], fop: dict[str, Any], s_key: bytes | None, f_key: bytes | None
) -> tuple[str, dict[str, Any] | None]:
    t = ev["eventType"]
    src = dict(ev.get("eventData") or {})
    if t == "step_created":
        return t, {"stepName": fop["stepName"], "input": payload.wrap_text(fop["input"], f_key)}
    if t in ("hook_created", "hook_conflict"):
        data: dict[str, Any] = {"token": fop["token"], "isWebhook": bool(src.get("isWebhook"))}
        if fop.get("metadata") is not None:
            data["metadata"] = payload.wrap_text(fop["metadata"], f_key)
        return "hook_created", data
    for name in PAYLOAD_FIELDS:
        if src.get(name) is not None and not isinstance(src[name], str):
            src[name] = payload.wrap_text(payload.unwrap_text(src[name], s_key), f_key)
    return t, src or None


def _same_call(fop: dict[str, Any], sop: Op) -> bool:
    if fop["type"] != sop.kind:
        return False
    return sop.kind != "step" or short_name(fop["stepName"]) == short_name(sop.step_name or "")


def _describe_source(op: Op, ordinal: int) -> str:
    if op.kind == "step":
        return f"call #{ordinal}: step {short_name(op.step_name or '?')}"
    return f"call #{ordinal}: {'sleep' if op.kind == 'wait' else 'hook'}"


def replicate(
    bundle: Bundle,
    new_run: dict[str, Any],
    head: list[dict[str, Any]],
    plan: Plan,
    sink: Sink,
    s_key: bytes | None,
    f_key: bytes | None,
    finish: Callable[[WorkflowMachine, dict[str, Any]], None] | None = None,
) -> int:
    """Write the plan's events for ``new_run`` through ``sink``; ``head`` = its run_created
    and run_started. Returns the number of events written; ForkDiverged on a mismatch.
    ``finish(machine, last_event)`` sees the VM positioned after the last written event."""
    machine = WorkflowMachine.fresh(bundle)
    try:
        machine.init(workflow_context(new_run, f_key))
        feed = EventFeed(f_key)
        pending_feed = list(head)
        s2f: dict[str, str] = {}
        f_ops: dict[str, dict[str, Any]] = {}
        known: set[str] = set()
        j = 0
        written = 0
        for idx in plan.copy:
            ev = plan.log[idx]
            scid = ev["correlationId"]
            while scid not in s2f:
                state = machine.feed(feed.prepare_all(pending_feed))
                pending_feed = []
                sop = next(o for o in plan.prefix if o.cid == scid)
                want = _describe_source(sop, plan.prefix.index(sop) + 1)
                if state.status != "suspended":
                    raise ForkDiverged(
                        f"the current code {state.status} before making the source run's {want}"
                        + (f" ({state.error.get('message')})" if state.error else "")
                    )
                new = [p for p in state.pending if p["correlationId"] not in known]
                if not new:
                    raise ForkDiverged(
                        f"the current code never makes the source run's {want} "
                        f"(it waits on: {', '.join(describe_op(p) for p in state.pending) or 'nothing'})"
                    )
                for p in new:
                    known.add(p["correlationId"])
                    if j >= len(plan.prefix):
                        continue  # a call past step N-1 (e.g. step N itself): the engine's
                    expected = plan.prefix[j]
                    if not _same_call(p, expected):
                        raise ForkDiverged(
                            f"the current code diverges before step N: the source run's "
                            f"{_describe_source(expected, j + 1)}, the code makes {describe_op(p)}"
                        )
                    s2f[expected.cid] = p["correlationId"]
                    f_ops[p["correlationId"]] = p
                    j += 1
            fcid = s2f[scid]
            event_type, data = _translate(ev, f_ops[fcid], s_key, f_key)
            pending_feed.append(sink.write(event_type, fcid, data))
            written += 1
        last = pending_feed[-1] if pending_feed else head[-1]
        state = machine.feed(feed.prepare_all(pending_feed))
        err = state.error or {}
        if state.status == "failed" and (
            err.get("eventIndex") is not None or err.get("divergence")
        ):
            raise ForkDiverged(f"the copied events do not replay: {err.get('message')}")
        if finish is not None:
            finish(machine, last)
        return written
    finally:
        machine.close()


# ------------------------------------------------------------------------------ command


def fork(
    engine: Engine,
    source_id: str,
    step: int,
    *,
    wait: bool = True,
    timeout: float | None = None,
) -> RunResult:
    app = engine._require_app()
    world = engine.world
    source = engine.get_run(source_id)
    s_key = engine.check_key(source)
    plan = plan_fork(world.list_events(source_id).data, step, source_id)
    export = short_name(source["workflowName"])
    known = engine.workflows()
    if export not in known:
        raise AppError(
            f"cannot fork run {source_id}: workflow {export!r} is not exported by the current "
            f"{app.app_dir / 'workflows.js'} ({', '.join(known) or 'no workflows'})"
        )
    input_text = payload.unwrap_text(source["input"], s_key)
    new_id = f"wrun_{ULID()}"
    f_key = engine.run_key(new_id)

    # 1. dry run: refuse a diverging fork before anything is written
    dry = MemorySink()
    now = _now_iso()
    dry_run = {
        "runId": new_id,
        "workflowName": source["workflowName"],
        "createdAt": now,
        "startedAt": now,
        "input": payload.wrap_text(input_text, f_key),
    }
    head = [dry.write("run_created", None, None), dry.write("run_started", None, None)]
    try:
        replicate(app.bundle, dry_run, head, plan, dry, s_key, f_key)
    except ForkDiverged as exc:
        raise ForkDiverged(f"cannot fork run {source_id} at step {step}: {exc}") from None

    # 2. for real, holding the new run's lease so that no worker drives it half-copied
    with world.lease(new_id, wait=5.0):
        engine.start(
            export,
            [],
            runtime=stamped_runtime(source),
            run_id=new_id,
            wait=False,
            context={"forkOf": {"runId": source_id, "step": step}},
            input_text=input_text,
        )
        world.create_event(new_id, "run_started")
        events = world.list_events(new_id).data
        run = world.get_run(new_id)
        try:
            replicate(
                app.bundle,
                run,
                events,
                plan,
                WorldSink(engine, new_id),
                s_key,
                f_key,
                finish=_snapshotter(engine, run, f_key),
            )
        except Exception as exc:
            # e.g. the clock or Math.random steered the code elsewhere than in the dry run
            message = f"fork of run {source_id} at step {step} could not copy its events: {exc}"
            world.create_event(
                new_id,
                "run_failed",
                event_data={
                    "error": payload.encode(
                        JSError(name="WorkflowRuntimeError", message=message, stack=""), key=f_key
                    ),
                    "errorCode": "RUNTIME_ERROR",
                    "message": message,
                    "stack": "",
                },
            )
            raise ForkDiverged(message) from None
    if not wait:
        return RunResult(world.get_run(new_id))
    return engine.drive(new_id, wait=True, timeout=timeout)


def _snapshotter(
    engine: Engine, run: dict[str, Any], key: bytes | None
) -> Callable[[WorkflowMachine, dict[str, Any]], None] | None:
    """For a snapshot-runtime fork: keep the replicating VM's heap as the run's snapshot, so
    the first invocation continues from it instead of replaying the copied events."""
    if runtime_of_run(run) != "snapshot":
        return None

    def save(machine: WorkflowMachine, last: dict[str, Any]) -> None:
        data = encode_snapshot(machine.dump(), key)
        engine.world.save_snapshot(
            run["runId"], data, events_cursor=engine.world.event_cursor(last)
        )

    return save
