"""``wfctl replay``: does the current workflow code reproduce a stored run's log?

The run's log is fed to the current code (a fresh VM for ``replay``, the stored snapshot plus
the delta for ``snapshot``) with nothing written and no step run. The in-VM runtime already
refuses an event it cannot match to a call (unconsumed event) and, in verify mode, a
``step_created`` whose step name or arguments differ from the call the code makes; this module
adds the end-of-log comparison (same result for finished runs) and names the first divergent
event with what the log expected and what the code did instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wfctl.engine.app import short_name
from wfctl.engine.engine import TERMINAL_EVENTS, Engine
from wfctl.engine.failures import UNSETTLEABLE, reproduced, vm_failure_message
from wfctl.runtime.bundle import Bundle
from wfctl.runtime.events import EventFeed
from wfctl.runtime.snapshot import SnapshotRuntime
from wfctl.serde import payload
from wfctl.vm import VMError


@dataclass
class ReplayReport:
    run_id: str
    ok: bool
    divergence: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    source: str = "replay"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"runId": self.run_id, "ok": self.ok}
        if self.divergence:
            out["divergence"] = self.divergence
        if self.notes:
            out["notes"] = self.notes
        return out


def describe_event(ev: dict[str, Any]) -> str:
    t = ev["eventType"]
    data = ev.get("eventData") or {}
    if t == "step_created":
        return f"step_created {short_name(data.get('stepName', '?'))} ({ev.get('correlationId')})"
    if t == "hook_created":
        return f"hook_created token={data.get('token')!r} ({ev.get('correlationId')})"
    if t == "wait_created":
        return f"wait_created until {data.get('resumeAt')} ({ev.get('correlationId')})"
    return f"{t} ({ev.get('correlationId') or ev['eventId']})"


def describe_op(op: dict[str, Any]) -> str:
    if op["type"] == "step":
        return f"step {short_name(op['stepName'])} ({op['correlationId']})"
    if op["type"] == "hook":
        return f"hook token={op.get('token')!r} ({op['correlationId']})"
    return f"sleep ({op['correlationId']})"


def check_run(
    engine: Engine, run_id: str, runtime_name: str, bundle: Bundle | None = None
) -> ReplayReport:
    """``bundle``: the code to check (default: the app's current code)."""
    bundle = bundle or engine._require_app().bundle
    run = engine.get_run(run_id)
    problem_of = getattr(engine.world, "journal_problem", None)  # local world: a cut journal
    problem = problem_of(run_id) if problem_of is not None else None
    if problem is not None:
        return ReplayReport(
            run_id, False, {"index": None, "expected": "an intact journal", "actual": problem}
        )
    key = engine.run_key(run_id)
    log = engine.world.list_events(run_id).data
    terminal = next((i for i, e in enumerate(log) if e["eventType"] in TERMINAL_EVENTS), None)
    body = log if terminal is None else log[:terminal]
    feed = EventFeed(key, verify_inputs=True)
    # the current code on disk, whatever the run is pinned to (the question replay answers)
    rt = engine.make_runtime(run, runtime_name, feed, key, verify=True, bundle=bundle)
    if isinstance(rt, SnapshotRuntime):
        rt.checkpoint_every = 0  # replay writes nothing
    try:
        state = rt.advance(body)
    except VMError as exc:
        # The engine fails a run whose VM fails (budget, trap, protocol): reproducing that
        # failure is a pass (failures.py), anything else a divergence.
        actual = vm_failure_message(exc)
        if reproduced(_stored_failure(log, terminal, key), actual):
            return ReplayReport(run_id, True, notes=[f"reproduced the stored failure: {actual}"])
        expected = "the workflow to run"
        if terminal is not None and log[terminal]["eventType"] == "run_failed":
            expected = f"run_failed: {_stored_failure(log, terminal, key)}"
        return ReplayReport(
            run_id,
            False,
            {"index": terminal, "expected": expected, "actual": actual},
        )
    finally:
        notes = list(rt.notes)
        source = getattr(rt, "source", "replay")
        rt.close()
    report = _compare(run, log, terminal, state, key)
    report.notes, report.source = notes + report.notes, source
    return report


def _diverged(
    run_id: str,
    log: list[dict[str, Any]],
    index: int,
    expected: str,
    actual: str,
    message: str | None = None,
) -> ReplayReport:
    divergence: dict[str, Any] = {"index": index, "expected": expected, "actual": actual}
    if index < len(log):
        divergence["eventId"] = log[index]["eventId"]
    if message:
        divergence["message"] = message
    return ReplayReport(run_id, False, divergence)


def _compare(
    run: dict[str, Any],
    log: list[dict[str, Any]],
    terminal: int | None,
    state: Any,
    key: bytes | None,
) -> ReplayReport:
    rid = run["runId"]
    err = state.error or {}
    if state.status == "failed" and err.get("eventIndex") is not None:  # an unclaimed event
        i = err["eventIndex"]
        ops = [describe_op(p) for p in err.get("pending", []) if not p.get("hasCreatedEvent")]
        actual = ", ".join(ops) if ops else "no matching call"
        return _diverged(rid, log, i, describe_event(log[i]), actual, err.get("message"))
    if state.status == "failed" and err.get("divergence"):  # claimed, but by a different call
        d = err["divergence"]
        return _diverged(rid, log, d["index"], d["expected"], d["actual"], err.get("message"))
    if state.trailing:  # the log goes on after the code finished
        i = state.trailing["index"]
        return _diverged(
            rid, log, i, describe_event(log[i]), f"the workflow had already {state.status}"
        )
    if terminal is None:
        if state.status != "suspended":
            return _diverged(
                rid, log, len(log), f"run still {run['status']}", f"workflow {state.status}"
            )
        return ReplayReport(rid, True)
    ending = log[terminal]["eventType"]
    if (
        ending == "run_failed"
        and state.status == "suspended"
        and not state.pending
        and reproduced(_stored_failure(log, terminal, key), UNSETTLEABLE)
    ):
        return ReplayReport(rid, True, notes=[f"reproduced the stored failure: {UNSETTLEABLE}"])
    if ending == "run_completed":
        if state.status != "completed":
            return _diverged(rid, log, terminal, "run_completed", _what(state))
        stored = payload.decode(log[terminal]["eventData"]["output"], key=key)
        now = payload.decode_text(state.result)
        if stored != now:
            return _diverged(rid, log, terminal, f"output {stored!r}", f"output {now!r}")
    elif ending == "run_failed" and state.status != "failed":
        return _diverged(rid, log, terminal, "run_failed", _what(state))
    return ReplayReport(rid, True)  # a cancelled run: the log up to the cancel reproduced


def _stored_failure(
    log: list[dict[str, Any]], terminal: int | None, key: bytes | None
) -> str | None:
    """The message of the run's ``run_failed`` event (decrypted when needed), if any."""
    if terminal is None or log[terminal]["eventType"] != "run_failed":
        return None
    data = log[terminal].get("eventData") or {}
    try:
        err = payload.decode(data.get("error"), key=key)
        message = getattr(err, "message", None)
        if isinstance(message, str):
            return message
    except Exception:  # noqa: BLE001 - an undecodable error: fall back to the plain text
        pass
    message = data.get("message")
    return message if isinstance(message, str) else None


def _what(state: Any) -> str:
    if state.status == "suspended":
        ops = [describe_op(p) for p in state.pending]
        return "workflow waits on " + (", ".join(ops) or "nothing")
    if state.status == "failed":
        return f"workflow failed: {state.error.get('message')}"
    return f"workflow {state.status}"
