"""Helpers shared by the e2e conformance tests (port of the Workflow DevKit e2e catalogue)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from typing import Any

from wfctl.engine.engine import Engine, RunResult
from wfctl.serde import payload
from wfctl.serde.values import JSError

APP = "e2e"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def decode(data: Any) -> Any:
    return payload.decode(data, key=None)


def events(engine: Engine, run_id: str) -> list[dict[str, Any]]:
    return engine.world.list_events(run_id).data


def event_types(engine: Engine, run_id: str) -> list[str]:
    return [e["eventType"] for e in events(engine, run_id)]


def steps(engine: Engine, run_id: str) -> list[dict[str, Any]]:
    return engine.world.list_steps(run_id, limit=1000, sort="asc").data


def step_named(engine: Engine, run_id: str, short_name: str) -> list[dict[str, Any]]:
    return [s for s in steps(engine, run_id) if s["stepName"].rsplit("//", 1)[-1] == short_name]


def iso_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000 + 0.5)


def fresh_run(engine: Engine, res: RunResult) -> dict[str, Any]:
    return engine.world.get_run(res.run_id)


def assert_completed(engine: Engine, res: RunResult) -> Any:
    """The run completed with exactly one run_completed and no other terminal event; returns
    the decoded output."""
    run = fresh_run(engine, res)
    assert run["status"] == "completed", (
        f"run {run['runId']} is {run['status']}: {run.get('error')}"
    )
    counts = Counter(event_types(engine, run["runId"]))
    assert counts["run_completed"] == 1, counts
    assert counts["run_failed"] == 0 and counts["run_cancelled"] == 0, counts
    assert counts["run_created"] == 1 and counts["run_started"] == 1, counts
    assert "completedAt" in run
    return decode(run["output"])


def assert_failed(engine: Engine, res: RunResult, code: str) -> tuple[dict[str, Any], Any]:
    """The run failed with exactly one run_failed carrying ``code``; returns (run["error"],
    the decoded thrown value from the run_failed event)."""
    run = fresh_run(engine, res)
    assert run["status"] == "failed", f"run {run['runId']} is {run['status']}"
    evs = events(engine, run["runId"])
    failed = [e for e in evs if e["eventType"] == "run_failed"]
    assert len(failed) == 1, [e["eventType"] for e in evs]
    assert not any(e["eventType"] in ("run_completed", "run_cancelled") for e in evs)
    data = failed[0]["eventData"]
    assert data["errorCode"] == code, data.get("errorCode")
    error = run["error"]
    assert isinstance(error, dict), error
    assert error.get("code") == code, error
    assert isinstance(error.get("message"), str)
    return error, decode(data["error"])


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


# -- structural normalisation for cross-runtime comparisons ------------------------------------


def normalize(value: Any) -> Any:
    """A comparable form of a decoded value: errors without stacks (a Python traceback names
    temp paths and line numbers), containers recursively."""
    if isinstance(value, JSError):
        return {
            "__error__": value.name,
            "message": value.message,
            "cause": normalize(value.cause),
            "extra": normalize(value.extra),
        }
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    if isinstance(value, set):
        return sorted(map(repr, value))
    return value


def trace(engine: Engine, run_id: str) -> dict[str, Any]:
    """What must be identical between two executions of the same workflow with the same
    input, whatever the runtime: see docs/CONFORMANCE.md ("Cross-runtime equivalence")."""
    evs = events(engine, run_id)
    labels: dict[str, str] = {}
    kinds: Counter[str] = Counter()
    scheduled: list[tuple[Any, ...]] = []
    per_op: dict[str, list[Any]] = {}
    for ev in evs:
        t = ev["eventType"]
        cid = ev.get("correlationId")
        data = ev.get("eventData") or {}
        if cid:
            if cid not in labels:
                kind = cid.split("_", 1)[0]
                labels[cid] = f"{kind}#{kinds[kind]}"
                kinds[kind] += 1
            label = labels[cid]
            entry: list[Any] = [t]
            if t == "step_created":
                entry += [data["stepName"], normalize(decode(data["input"]).get("args"))]
                scheduled.append((label, t, data["stepName"], entry[2]))
            elif t in ("wait_created", "hook_created"):
                if t == "hook_created":
                    entry.append(data.get("token"))
                scheduled.append((label, t))
            elif t == "step_completed":
                entry.append(normalize(decode(data["result"])))
            elif t in ("step_failed", "step_retrying"):
                entry.append(normalize(decode(data["error"])))
            elif t == "hook_received":
                entry.append(normalize(decode(data["payload"])))
            per_op.setdefault(label, []).append(entry)
    run = engine.world.get_run(run_id)
    out: dict[str, Any] = {
        "status": run["status"],
        "types": Counter(e["eventType"] for e in evs),
        "scheduled": scheduled,
        "per_op": per_op,
    }
    if run["status"] == "completed":
        out["output"] = normalize(decode(run["output"]))
    elif run["status"] == "failed":
        out["error"] = {"code": run["error"].get("code"), "message": run["error"].get("message")}
    return out


def ulid_time_ms(ulid: str) -> int:
    n = 0
    for ch in ulid[:10]:
        n = n * 32 + CROCKFORD.index(ch)
    return n


def ulid_random(ulid: str) -> int:
    n = 0
    for ch in ulid[10:]:
        n = n * 32 + CROCKFORD.index(ch)
    return n
