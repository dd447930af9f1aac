"""Runs and steps as decoded Python values (the README's value mapping), for the Client."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wfctl.engine.app import short_name
from wfctl.serde import payload
from wfctl.serde.values import JSError
from worlds import World, all_items

from .errors import RunCancelled, RunFailed

TERMINAL = ("completed", "failed", "cancelled")


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _decode(data: Any, key: bytes | None) -> Any:
    if data is None:
        return None
    if isinstance(data, dict) and "__type" not in data:
        return data  # plain (not serialized) data, e.g. a step entity's error summary
    return payload.decode(data, key=key)


@dataclass
class StepInfo:
    step_id: str
    name: str
    status: str
    attempt: int
    input: Any
    output: Any = None
    error: Any = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass
class RunError:
    name: str
    message: str
    code: str | None = None
    step: str | None = None  # the step whose failure ended the run, if one did
    value: Any = None  # the decoded error (usually a JSError)


@dataclass
class RunInfo:
    run_id: str
    workflow: str
    status: str
    input: list[Any]
    output: Any = None
    error: RunError | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    steps: list[StepInfo] = field(default_factory=list)


def step_info(s: dict[str, Any], key: bytes | None) -> StepInfo:
    args = _decode(s.get("input"), key)
    if isinstance(args, dict) and "args" in args:
        args = args["args"]  # the step-arguments envelope {args, closureVars, thisVal}
    return StepInfo(
        step_id=s["stepId"],
        name=short_name(s.get("stepName", "")),
        status=s["status"],
        attempt=int(s.get("attempt") or 0),
        input=args,
        output=_decode(s.get("output"), key),
        error=_decode(s.get("error"), key),
        created_at=_time(s.get("createdAt")),
        started_at=_time(s.get("startedAt")),
        completed_at=_time(s.get("completedAt")),
    )


def run_error(world: World, run: dict[str, Any], key: bytes | None) -> RunError:
    """The run's error, and the step whose failure ended the run when the error came from one."""
    events = world.list_events(run["runId"]).data
    failed = next((e for e in reversed(events) if e["eventType"] == "run_failed"), None)
    data = (failed or {}).get("eventData") or {}
    value = _decode(data.get("error"), key) if data.get("error") is not None else None
    plain = run.get("error") or {}
    if isinstance(value, JSError):
        name, message = value.name, value.message
    else:
        name, message = "Error", str(data.get("message") or plain.get("message") or value)
    code = data.get("errorCode") or run.get("errorCode") or plain.get("code")
    step = None
    names = {
        e.get("correlationId"): (e.get("eventData") or {}).get("stepName")
        for e in events
        if e["eventType"] == "step_created"
    }
    for e in reversed(events):
        if e["eventType"] != "step_failed":
            continue
        err = _decode((e.get("eventData") or {}).get("error"), key)
        if isinstance(err, JSError) and (err.name, err.message) == (name, message):
            step = short_name(names.get(e.get("correlationId")) or "") or None
        break
    return RunError(name=name, message=message, code=code, step=step, value=value)


def run_info(
    world: World, run: dict[str, Any], key: bytes | None, *, with_steps: bool = True
) -> RunInfo:
    info = RunInfo(
        run_id=run["runId"],
        workflow=short_name(run["workflowName"]),
        status=run["status"],
        input=_decode(run.get("input"), key),
        created_at=_time(run.get("createdAt")),
        started_at=_time(run.get("startedAt")),
        completed_at=_time(run.get("completedAt")),
    )
    if run["status"] == "completed":
        info.output = _decode(run.get("output"), key)
    elif run["status"] == "failed":
        info.error = run_error(world, run, key)
    if with_steps:
        steps = all_items(
            lambda c: world.list_steps(run["runId"], cursor=c, limit=1000, sort="asc")
        )
        info.steps = [step_info(s, key) for s in steps]
    return info


def outcome(world: World, run: dict[str, Any], key: bytes | None) -> Any:
    """The decoded output of a terminal run, or the exception its ending calls for."""
    if run["status"] == "completed":
        return _decode(run.get("output"), key)
    if run["status"] == "cancelled":
        raise RunCancelled(run["runId"])
    err = run_error(world, run, key)
    raise RunFailed(
        run["runId"], err.name, err.message, step=err.step, error_code=err.code, error=err.value
    )
