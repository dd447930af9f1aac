"""Entity transitions, producing exactly the key order world-local writes.

world-local builds runs field by field, but updates steps and waits with a JS spread over the
entity it just read back through its zod schema. zod emits keys in *schema* order, the spread
then updates existing keys in place and appends new ones, and ``undefined`` values vanish from
JSON. ``_reread`` + ``_spread`` reproduce that, which is why e.g. a completed step reads
``...,attempt,startedAt,createdAt,updatedAt,specVersion,output,completedAt``.
"""

from __future__ import annotations

from typing import Any

STEP_SCHEMA_ORDER = (
    "runId",
    "stepId",
    "stepName",
    "status",
    "input",
    "output",
    "error",
    "attempt",
    "startedAt",
    "completedAt",
    "createdAt",
    "updatedAt",
    "retryAfter",
    "specVersion",
)
WAIT_SCHEMA_ORDER = (
    "waitId",
    "runId",
    "status",
    "resumeAt",
    "completedAt",
    "createdAt",
    "updatedAt",
    "specVersion",
)
# Fields every run rewrite starts with, in world-local's order.
_RUN_HEAD = (
    "runId",
    "deploymentId",
    "workflowName",
    "specVersion",
    "executionContext",
    "input",
    "createdAt",
    "expiredAt",
)


def clone(value: Any) -> Any:
    """Deep copy of dicts/lists (payload bytes and strings are immutable and shared)."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def _compact(fields: dict[str, Any]) -> dict[str, Any]:
    """Drop unset (None) fields: world-local never writes null for an unset key."""
    return {k: v for k, v in fields.items() if v is not None}


def _reread(entity: dict, order: tuple[str, ...]) -> dict:
    ordered = {k: entity[k] for k in order if k in entity}
    ordered.update((k, v) for k, v in entity.items() if k not in ordered)
    return ordered


def _spread(base: dict, updates: dict[str, Any]) -> dict:
    result = dict(base)
    for key, value in updates.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


# -- errors -----------------------------------------------------------------------------------


def error_summary(event_data: dict, message_hint: str | None) -> tuple[str, str | None]:
    """(message, stack) for an entity's plain error object.

    ``message_hint`` is the caller's ``message`` (not stored in the event). Without it (events
    written by the DevKit, or a journal rebuilt from event files) the message comes from a
    string/object ``error`` or the first line of the stack.
    """
    err = event_data.get("error")
    stack = event_data.get("stack")
    if not isinstance(stack, str) and isinstance(err, dict) and isinstance(err.get("stack"), str):
        stack = err["stack"]
    stack = stack if isinstance(stack, str) else None
    if isinstance(message_hint, str):
        return message_hint, stack
    if isinstance(err, str):
        return err, stack
    if isinstance(err, dict) and isinstance(err.get("message"), str):
        return err["message"], stack
    if stack:
        first = stack.splitlines()[0]
        name, sep, rest = first.partition(": ")
        return (rest if sep and " " not in name else first), stack
    return "", stack


# -- runs -------------------------------------------------------------------------------------


def run_created(run_id: str, data: dict, now: str, spec_version: int) -> dict:
    return _compact(
        {
            "runId": run_id,
            "deploymentId": data.get("deploymentId"),
            "status": "pending",
            "workflowName": data.get("workflowName"),
            "specVersion": spec_version,
            "executionContext": data.get("executionContext"),
            "input": data.get("input"),
            "createdAt": now,
            "updatedAt": now,
        }
    )


def run_started(run: dict, now: str) -> dict:
    head = {k: run.get(k) for k in _RUN_HEAD}
    return _compact(
        head | {"status": "running", "startedAt": run.get("startedAt") or now, "updatedAt": now}
    )


def run_terminal(run: dict, status: str, now: str, *, output=None, error=None) -> dict:
    head = {k: run.get(k) for k in _RUN_HEAD}
    fields = head | {"startedAt": run.get("startedAt"), "status": status}
    if status == "completed":
        fields["output"] = output
    elif status == "failed":
        fields["error"] = error
    return _compact(fields | {"completedAt": now, "updatedAt": now})


def run_error(event_data: dict, message_hint: str | None) -> dict:
    message, stack = error_summary(event_data, message_hint)
    code = event_data.get("errorCode")
    return _compact({"message": message, "stack": stack, "code": code})


# -- steps ------------------------------------------------------------------------------------


def step_created(run_id: str, step_id: str, data: dict, now: str, spec_version: int) -> dict:
    return _compact(
        {
            "runId": run_id,
            "stepId": step_id,
            "stepName": data.get("stepName"),
            "status": "pending",
            "input": data.get("input"),
            "attempt": 0,
            "createdAt": now,
            "updatedAt": now,
            "specVersion": spec_version,
        }
    )


def step_started(step: dict, now: str) -> dict:
    step = _reread(step, STEP_SCHEMA_ORDER)
    return _spread(
        step,
        {
            "status": "running",
            "startedAt": step.get("startedAt") or now,  # first start only
            "attempt": int(step.get("attempt", 0)) + 1,
            "retryAfter": None,
            "updatedAt": now,
        },
    )


def step_completed(step: dict, now: str, result: Any) -> dict:
    step = _reread(step, STEP_SCHEMA_ORDER)
    return _spread(
        step, {"status": "completed", "output": result, "completedAt": now, "updatedAt": now}
    )


def step_failed(step: dict, now: str, error: dict) -> dict:
    step = _reread(step, STEP_SCHEMA_ORDER)
    return _spread(step, {"status": "failed", "error": error, "completedAt": now, "updatedAt": now})


def step_retrying(step: dict, now: str, error: dict, retry_after: str | None) -> dict:
    step = _reread(step, STEP_SCHEMA_ORDER)
    return _spread(
        step,
        {"status": "pending", "error": error, "retryAfter": retry_after, "updatedAt": now},
    )


def step_error(event_data: dict, message_hint: str | None) -> dict:
    message, stack = error_summary(event_data, message_hint)
    return _compact({"message": message, "stack": stack})


# -- hooks and waits --------------------------------------------------------------------------


def hook_created(run_id: str, hook_id: str, data: dict, now: str, spec_version: int) -> dict:
    return _compact(
        {
            "runId": run_id,
            "hookId": hook_id,
            "token": data.get("token"),
            "metadata": data.get("metadata"),
            "ownerId": "local-owner",
            "projectId": "local-project",
            "environment": "local",
            "createdAt": now,
            "specVersion": spec_version,
            "isWebhook": bool(data.get("isWebhook", False)),
        }
    )


def wait_created(run_id: str, correlation_id: str, data: dict, now: str, spec: int) -> dict:
    return _compact(
        {
            "waitId": f"{run_id}-{correlation_id}",
            "runId": run_id,
            "status": "waiting",
            "resumeAt": data.get("resumeAt"),
            "createdAt": now,
            "updatedAt": now,
            "specVersion": spec,
        }
    )


def wait_completed(wait: dict, now: str) -> dict:
    wait = _reread(wait, WAIT_SCHEMA_ORDER)
    return _spread(wait, {"status": "completed", "completedAt": now, "updatedAt": now})
