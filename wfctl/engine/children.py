"""Child workflows: ``start()`` inside a workflow, ``run.returnValue``, cascade on cancel.

How a child comes to be, durably and exactly once:

* ``start(fn, args)`` in the VM is a step named ``step//wfctl//start`` (recorded in the
  parent's log like any step). Executing it creates the child run with a **deterministic id**
  derived from the parent run id, the step's correlation id and the step's first start time,
  so a retry after ``kill -9`` writes the same ``run_created`` again, which the world refuses
  as a duplicate: one ``start()`` never yields two children. The step's result is the id.
* ``await run.returnValue`` waits on a hook with token ``wfctl:child:<childRunId>``. When the
  child ends, the engine that ended it delivers ``{status, output|error}`` to that hook
  (:func:`notify_parent`); a parent driven later also checks its unfinished children itself
  (:func:`settle`), so a crash between the child's end and the delivery loses nothing.
* ``await run.status`` is a step (``step//wfctl//runStatus``): the status is recorded.

A parent driven with ``wait`` (``wfctl start``, ``hook resume``, the worker) drives its
children in the same process while it waits on them. Cancelling a parent cancels its children
that have not ended (recursively). Children are ordinary runs with
``executionContext.parentRunId``.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from wfctl.config import env_int
from wfctl.engine.registry import StepDef, get_step_metadata
from wfctl.errors import UsageError
from wfctl.serde import crypto, payload
from wfctl.serde.values import Tagged
from worlds import all_items
from worlds.errors import (
    EntityConflictError,
    HookNotFoundError,
    InvalidTransitionError,
    RunExpiredError,
    RunNotFoundError,
)

if TYPE_CHECKING:
    from wfctl.engine.engine import Engine, RunResult

START_STEP = "step//wfctl//start"
STATUS_STEP = "step//wfctl//runStatus"
CHILD_TOKEN_PREFIX = "wfctl:child:"
TERMINAL = ("completed", "failed", "cancelled")
DEFAULT_MAX_CHILDREN = 1000
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def max_children() -> int:
    """``WFCTL_MAX_CHILDREN``: child runs one run may start (default 1000)."""
    return env_int("WFCTL_MAX_CHILDREN", DEFAULT_MAX_CHILDREN, minimum=0)


def child_run_id(parent_run_id: str, step_id: str, started_ms: int) -> str:
    """``wrun_<ULID>``: time = the start step's first start, randomness = hash of the ids."""
    value = started_ms & ((1 << 48) - 1)
    digest = hashlib.sha256(f"{parent_run_id}|{step_id}".encode()).digest()
    value = (value << 80) | int.from_bytes(digest[:10], "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "wrun_" + "".join(reversed(chars))


def _run_key(run_id: str) -> bytes | None:
    master = crypto.master_key_from_env()
    return crypto.derive_run_key(master, run_id) if master else None


# ---------------------------------------------------------------- Run handles in steps


class ChildRun(Tagged):
    """A workflow ``Run`` handle as a Python step sees it (and may return it to the workflow,
    where it is a ``Run`` again). ``status()`` and ``result()`` read the run as it is now."""

    def __init__(self, run_id: str, world: Any = None) -> None:
        super().__init__("Run", {"runId": run_id})
        self._world = world

    @property
    def run_id(self) -> str:
        return str(self.value["runId"])

    def _run(self) -> dict[str, Any]:
        if self._world is None:
            raise RuntimeError("this Run handle is not bound to a world (use it inside a step)")
        run: dict[str, Any] = self._world.get_run(self.run_id)
        return run

    def status(self) -> str:
        return str(self._run()["status"])

    def result(self) -> Any:
        """The child's return value; raises if it failed, was cancelled or has not ended."""
        run = self._run()
        status = run["status"]
        if status == "completed":
            return payload.decode(run.get("output") or b"devl-1", key=_run_key(self.run_id))
        if status in ("failed", "cancelled"):
            message = (run.get("error") or {}).get("message", "") if status == "failed" else ""
            raise RuntimeError(
                f'Workflow run "{self.run_id}" {status}{": " if message else ""}{message}'
            )
        raise RuntimeError(f'Workflow run "{self.run_id}" has not ended (status {status})')

    def __repr__(self) -> str:
        return f"ChildRun({self.run_id!r})"


def bind_run(value: Tagged, world: Any) -> Any:
    run_id = value.value.get("runId") if isinstance(value.value, dict) else None
    return ChildRun(run_id, world) if isinstance(run_id, str) else value


# ---------------------------------------------------------------- built-in steps


def builtin_step(step_name: str, world: Any) -> StepDef | None:
    if step_name == START_STEP:

        def start(workflow: str, args: list[Any]) -> str:
            return _create_child(world, workflow, args)

        return StepDef(name="start", fn=start)
    if step_name == STATUS_STEP:

        def run_status(run_id: str) -> str:
            return str(world.get_run(run_id)["status"])

        return StepDef(name="runStatus", fn=run_status)
    return None


def _create_child(world: Any, workflow: str, args: list[Any]) -> str:
    from wfctl import __version__  # noqa: PLC0415
    from wfctl.engine.app import workflow_id  # noqa: PLC0415

    md = get_step_metadata()
    parent = world.get_run(md.run_id)
    started_ms = int(md.started_at.timestamp() * 1000)
    run_id = child_run_id(md.run_id, md.step_id, started_ms)
    key = _run_key(run_id)
    ctx = parent.get("executionContext") or {}
    try:
        world.create_event(
            run_id,
            "run_created",
            event_data={
                "deploymentId": parent.get("deploymentId"),
                "workflowName": workflow_id(workflow),
                "input": payload.encode(list(args), key=key, context=f"workflow {workflow} input"),
                "executionContext": {
                    "workflowCoreVersion": f"wfctl/{__version__}",
                    "features": {"encryption": key is not None},
                    "workflowRuntime": ctx.get("workflowRuntime", "snapshot"),
                    "parentRunId": md.run_id,
                    # a child runs the code its parent runs (issue 12: runs pinned to their code)
                    **_pinned_code(world, parent),
                },
            },
        )
    except (EntityConflictError, InvalidTransitionError) as exc:
        # Already created by an earlier attempt of this very step (the id is deterministic).
        try:
            world.get_run(run_id)
        except RunNotFoundError:
            raise exc from None
    return run_id


def _pinned_code(world: Any, parent: dict[str, Any]) -> dict[str, Any]:
    from wfctl.engine import codestore  # noqa: PLC0415

    h = codestore.effective_hash(world, parent)
    return {"codeHash": h} if h else {}


# ---------------------------------------------------------------- waking the parent


def _outcome_payload(world: Any, child: dict[str, Any], parent_key: bytes | None) -> bytes:
    """The hook payload telling the parent how a child ended (devalue texts stay opaque)."""
    status = child["status"]
    data: dict[str, Any] = {"status": status, "runId": child["runId"]}
    child_key = _run_key(child["runId"])
    if status == "completed":
        data["output"] = payload.unwrap_text(child.get("output") or b"devl-1", child_key)
    elif status == "failed":
        err = child.get("error")
        data["message"] = err.get("message", "") if isinstance(err, dict) else str(err or "")
        last = world.list_events(child["runId"], limit=1, sort="desc").data
        raw = (last[0].get("eventData") or {}).get("error") if last else None
        if isinstance(raw, bytes | bytearray):
            data["error"] = payload.unwrap_text(bytes(raw), child_key)
    return payload.encode(data, key=parent_key)


def _deliver(world: Any, parent_id: str, hook_id: str, child: dict[str, Any]) -> bool:
    try:
        world.create_event(
            parent_id,
            "hook_received",
            correlation_id=hook_id,
            event_data={"payload": _outcome_payload(world, child, _run_key(parent_id))},
        )
    except (HookNotFoundError, RunExpiredError, EntityConflictError, RunNotFoundError):
        return False
    return True


def refuse_reserved_token(token: str) -> None:
    """A child's end is delivered by the engine; a hand-made payload would fake it."""
    if token.startswith(CHILD_TOKEN_PREFIX):
        raise UsageError(
            f"hook token {token!r} is reserved: it receives the end of a child run, "
            "which the engine delivers itself"
        )


def parent_run_id(run: dict[str, Any]) -> str | None:
    """The id of the run that started ``run`` with ``start()``, if any."""
    parent = (run.get("executionContext") or {}).get("parentRunId")
    return parent if isinstance(parent, str) else None


def notify_parent(world: Any, run_id: str) -> None:
    """A run just ended: wake its parent if that waits on it (best effort, see module doc)."""
    try:
        child = world.get_run(run_id)
        parent_id = (child.get("executionContext") or {}).get("parentRunId")
        if not parent_id:
            return
        hook = world.get_hook_by_token(CHILD_TOKEN_PREFIX + run_id)
    except (HookNotFoundError, RunNotFoundError):
        return
    if hook.get("runId") == parent_id:
        _deliver(world, parent_id, hook["hookId"], child)


def awaits_children(pending: list[dict[str, Any]]) -> bool:
    return any(_child_of(p) for p in pending)


def keeps_parent(inv: Any, pending: list[dict[str, Any]]) -> bool:
    """Should the invocation stay (rather than leave) for its children's sake?"""
    return awaits_children(pending) or (inv.wait and bool(_undriven(inv)))


def _child_of(p: dict[str, Any]) -> str | None:
    if p.get("type") != "hook" or p.get("disposed"):
        return None
    token = p.get("token") or ""
    return token[len(CHILD_TOKEN_PREFIX) :] if token.startswith(CHILD_TOKEN_PREFIX) else None


class _LogIndex:
    """What settle needs from the parent's log, folded incrementally (the loop calls it once
    per iteration, so a full scan each time would be quadratic in the log length)."""

    def __init__(self) -> None:
        self.pos = 0
        self.start_steps: set[str] = set()
        self.first_start: dict[str, int] = {}
        self.received: set[str] = set()

    def update(self, events: list[dict[str, Any]]) -> _LogIndex:
        from worlds.local.ids import ms_from_iso  # noqa: PLC0415

        for e in events[self.pos :]:
            t, cid = e["eventType"], str(e.get("correlationId") or "")
            if t == "hook_received":
                self.received.add(cid)
            elif t == "step_created":
                if (e.get("eventData") or {}).get("stepName") == START_STEP:
                    self.start_steps.add(cid)
            elif t == "step_started" and cid in self.start_steps and cid not in self.first_start:
                ms = ms_from_iso(e["createdAt"])
                if ms is not None:
                    self.first_start[cid] = ms
        self.pos = len(events)
        return self


def _index(inv: Any) -> _LogIndex:
    idx: _LogIndex = inv.__dict__.setdefault("_children_index", _LogIndex())
    return idx.update(inv.state.events)


def _started_children(inv: Any) -> list[str]:
    """Child ids from the parent's log: start steps and the time of their first start."""
    idx = _index(inv)
    return [child_run_id(inv.run_id, cid, ms) for cid, ms in idx.first_start.items()]


def _undriven(inv: Any) -> list[str]:
    """Started children this invocation has not driven yet and that have not ended."""
    seen: set[str] = inv.__dict__.setdefault("_children_seen", set())
    out = []
    for child_id in _started_children(inv):
        if child_id in seen:
            continue
        try:
            status = inv.world.get_run(child_id)["status"]
        except RunNotFoundError:
            continue
        if status in TERMINAL:
            seen.add(child_id)
        else:
            out.append(child_id)
    return out


def _drive_child(inv: Any, child_id: str) -> dict[str, Any]:
    # The child may wait for its own timers only until the parent's next timer is due (or the
    # parent's deadline): a parent racing a child against a sleep must not oversleep.
    remaining = None
    if inv.deadline is not None:
        remaining = max(0.0, inv.deadline - time.monotonic())
    due_ms = min(inv.state.open_waits.values(), default=None)
    if due_ms is not None:
        until_due = max(0.0, due_ms / 1000 - time.time())
        remaining = until_due if remaining is None else min(remaining, until_due)
    inv.engine.drive(child_id, wait=True, timeout=remaining, lease_wait=0)
    inv.__dict__.setdefault("_children_seen", set()).add(child_id)
    run: dict[str, Any] = inv.world.get_run(child_id)
    return run


def settle(inv: Any, pending: list[dict[str, Any]], *, idle: bool = True) -> bool:
    """Deliver the end of every awaited child that has ended; while the invocation may wait,
    drive the unfinished ones here first (and, once idle, children nobody awaits yet, so
    ``wfctl start`` runs what the workflow started). True when the parent should look at its
    log again."""
    waiting = [(p, c) for p in pending if p.get("hasCreatedEvent") and (c := _child_of(p))]
    idle = idle and not any(p.get("type") == "step" for p in pending)  # its own steps first
    if not waiting and not (idle and inv.wait):
        return False
    received = _index(inv).received
    wrote = False
    for p, child_id in waiting:
        if p["correlationId"] in received:
            continue
        try:
            child = inv.world.get_run(child_id)
        except RunNotFoundError:
            continue
        if child["status"] not in TERMINAL and inv.wait:
            child = _drive_child(inv, child_id)
        if child["status"] in TERMINAL:
            wrote = _deliver(inv.world, inv.run_id, p["correlationId"], child) or wrote
    if wrote or not (idle and inv.wait):
        return wrote
    drove = False
    for child_id in _undriven(inv):
        _drive_child(inv, child_id)
        drove = True  # it may have written to the parent (e.g. resumed one of its hooks)
    return drove


def drive_ancestors(engine: Engine, result: RunResult, timeout: float | None) -> RunResult:
    """After a run ended in this process at top level, drive the parents it woke up."""
    current = result
    while current.status in TERMINAL:
        parent_id = (current.run.get("executionContext") or {}).get("parentRunId")
        if not parent_id:
            break
        try:
            parent = engine.drive(parent_id, wait=True, timeout=timeout, lease_wait=5.0)
        except RunNotFoundError:
            break
        if parent.status not in TERMINAL:
            break
        current = parent
    return result


# ---------------------------------------------------------------- listing and cancel


def children_of(world: Any, run_id: str) -> list[str]:
    """Ids of the child runs ``run_id`` started, in start order."""
    steps = all_items(lambda c: world.list_steps(run_id, cursor=c, limit=200, sort="asc"))
    out = []
    for s in steps:
        if s.get("stepName") != START_STEP or not s.get("startedAt"):
            continue
        from worlds.local.ids import ms_from_iso  # noqa: PLC0415

        started = ms_from_iso(s["startedAt"])
        if started is None:
            continue
        cid = child_run_id(run_id, s["stepId"], started)
        try:
            world.get_run(cid)
        except RunNotFoundError:
            continue
        out.append(cid)
    return out


def cancel_children(engine: Engine, run_id: str) -> list[str]:
    """Cancel (recursively) every child of ``run_id`` that has not ended; their ids."""
    cancelled = []
    for cid in children_of(engine.world, run_id):
        try:
            if engine.world.get_run(cid)["status"] in TERMINAL:
                continue
            engine.cancel(cid)
            cancelled.append(cid)
        except (UsageError, RunNotFoundError):
            continue
    return cancelled
