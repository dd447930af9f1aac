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


def check_run(engine: Engine, run_id: str, runtime_name: str) -> ReplayReport:
    run = engine.get_run(run_id)
    key = engine.run_key(run_id)
    log = engine.world.list_events(run_id).data
    terminal = next((i for i, e in enumerate(log) if e["eventType"] in TERMINAL_EVENTS), None)
    body = log if terminal is None else log[:terminal]
    feed = EventFeed(key, verify_inputs=True)
    rt = engine.make_runtime(run, runtime_name, feed, key, verify=True)
    if isinstance(rt, SnapshotRuntime):
        rt.checkpoint_every = 0  # replay writes nothing
    try:
        state = rt.advance(body)
    except VMError as exc:
        return ReplayReport(
            run_id, False, {"index": None, "expected": "the workflow to run", "actual": str(exc)}
        )
    finally:
        notes = list(rt.notes)
        source = getattr(rt, "source", "replay")
        rt.close()
    report = _compare(run, log, terminal, state, key)
    report.notes, report.source = notes, source
    return report


def _compare(
    run: dict, log: list[dict], terminal: int | None, state: Any, key: bytes | None
) -> ReplayReport:
    rid = run["runId"]
    if state.status == "failed" and state.error and state.error.get("eventIndex") is not None:
        i = state.error["eventIndex"]
        ops = [
            describe_op(p) for p in state.error.get("pending", []) if not p.get("hasCreatedEvent")
        ]
        return ReplayReport(
            rid,
            False,
            {
                "index": i,
                "eventId": log[i]["eventId"],
                "expected": describe_event(log[i]),
                "actual": ", ".join(ops) if ops else "no matching call",
                "message": state.error.get("message"),
            },
        )
    if state.status == "failed" and state.error and state.error.get("divergence"):
        d = state.error["divergence"]
        i = d["index"]
        return ReplayReport(
            rid,
            False,
            {
                "index": i,
                "eventId": log[i]["eventId"],
                "expected": d["expected"],
                "actual": d["actual"],
                "message": state.error.get("message"),
            },
        )
    if state.trailing:
        t = state.trailing
        i = t["index"]
        return ReplayReport(
            rid,
            False,
            {
                "index": i,
                "eventId": t["eventId"],
                "expected": describe_event(log[i]),
                "actual": f"the workflow had already {state.status}",
            },
        )
    if terminal is None:
        if state.status != "suspended":
            return ReplayReport(
                rid,
                False,
                {
                    "index": len(log),
                    "expected": f"run still {run['status']}",
                    "actual": f"workflow {state.status}",
                },
            )
        return ReplayReport(rid, True)
    end = log[terminal]
    t = end["eventType"]
    if t == "run_completed":
        if state.status != "completed":
            return ReplayReport(
                rid,
                False,
                {
                    "index": terminal,
                    "eventId": end["eventId"],
                    "expected": "run_completed",
                    "actual": _what(state),
                },
            )
        stored = payload.decode(
            payload.wrap_text(payload.unwrap_text(end["eventData"]["output"], key), None)
        )
        now = payload.decode(payload.wrap_text(state.result, None))
        if stored != now:
            return ReplayReport(
                rid,
                False,
                {
                    "index": terminal,
                    "eventId": end["eventId"],
                    "expected": f"output {stored!r}",
                    "actual": f"output {now!r}",
                },
            )
        return ReplayReport(rid, True)
    if t == "run_failed":
        if state.status != "failed":
            return ReplayReport(
                rid,
                False,
                {
                    "index": terminal,
                    "eventId": end["eventId"],
                    "expected": "run_failed",
                    "actual": _what(state),
                },
            )
        return ReplayReport(rid, True)
    return ReplayReport(rid, True)  # cancelled: the log up to the cancel reproduced


def _what(state: Any) -> str:
    if state.status == "suspended":
        ops = [describe_op(p) for p in state.pending]
        return "workflow waits on " + (", ".join(ops) or "nothing")
    if state.status == "failed":
        return f"workflow failed: {state.error.get('message')}"
    return f"workflow {state.status}"
