"""Accepted and rejected transitions (workflow-devkit.md §2.4-§2.5), one table row each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from worlds import (
    EntityConflictError,
    HookNotFoundError,
    InvalidTransitionError,
    RunExpiredError,
    RunNotFoundError,
    StepNotFoundError,
    TooEarlyError,
    UnsafeEntityIdError,
    WaitNotFoundError,
)
from worlds.local.ids import ULIDS, encode_ulid, now_ms

from ..conftest import new_run

STEP = {"stepName": "step//./workflows//add", "input": b"devl[1]"}
FAR = "2099-01-01T00:00:00.000Z"


def iso_in(seconds: float) -> str:
    t = datetime.now(UTC) + timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def ev(world, run_id, kind, corr=None, data=None):
    return world.create_event(run_id, kind, correlation_id=corr, event_data=data)


# -- setups: each returns the run id the attempted event targets ------------------------------


def s_pending(w):
    return new_run(w, started=False)


def s_running(w):
    return new_run(w)


def s_completed(w):
    r = new_run(w)
    ev(w, r, "run_completed", data={"output": b"o"})
    return r


def s_failed(w):
    r = new_run(w)
    ev(w, r, "run_failed", data={"error": b"e", "errorCode": "USER_ERROR", "message": "m"})
    return r


def s_cancelled(w):
    r = new_run(w)
    ev(w, r, "run_cancelled")
    return r


def s_step(status):
    def setup(w):
        r = new_run(w)
        ev(w, r, "step_created", "step_a", STEP)
        if status in ("running", "completed", "failed"):
            ev(w, r, "step_started", "step_a")
        if status == "completed":
            ev(w, r, "step_completed", "step_a", {"result": b"1"})
        if status == "failed":
            ev(w, r, "step_failed", "step_a", {"error": b"e", "stack": "s", "message": "m"})
        return r

    return setup


def s_step_on_ended_run(status):
    def setup(w):
        r = s_step(status)(w)
        ev(w, r, "run_cancelled")
        return r

    return setup


def s_retry_later(w):
    r = s_step("running")(w)
    ev(w, r, "step_retrying", "step_a", {"error": b"e", "message": "m", "retryAfter": FAR})
    return r


def s_retry_past(w):
    r = s_step("running")(w)
    past = iso_in(-5)
    ev(w, r, "step_retrying", "step_a", {"error": b"e", "message": "m", "retryAfter": past})
    return r


def s_hook(w):
    r = new_run(w)
    ev(w, r, "hook_created", "hook_a", {"token": "tok-a", "isWebhook": False})
    return r


def s_hook_disposed(w):
    r = s_hook(w)
    ev(w, r, "hook_disposed", "hook_a")
    return r


def s_wait(w):
    r = new_run(w)
    ev(w, r, "wait_created", "wait_a", {"resumeAt": FAR})
    return r


def s_wait_done(w):
    r = s_wait(w)
    ev(w, r, "wait_completed", "wait_a")
    return r


def s_missing(w):
    new_run(w)  # the store exists, this run does not
    return f"wrun_{ULIDS.new()}"


OK = None
ROWS = [
    # (setup, eventType, correlationId, eventData, expected error or OK, expected status)
    (s_pending, "run_started", None, None, OK, "running"),
    (s_running, "run_started", None, None, OK, "running"),  # idempotent, see below
    (s_missing, "run_started", None, None, RunNotFoundError, None),
    (s_completed, "run_started", None, None, RunExpiredError, None),
    (s_failed, "run_started", None, None, RunExpiredError, None),
    (s_cancelled, "run_started", None, None, RunExpiredError, None),
    (s_pending, "run_completed", None, {"output": b"o"}, OK, "completed"),
    (s_running, "run_completed", None, {"output": b"o"}, OK, "completed"),
    (s_running, "run_failed", None, {"error": b"e", "message": "m"}, OK, "failed"),
    (s_pending, "run_cancelled", None, None, OK, "cancelled"),
    (s_running, "run_cancelled", None, None, OK, "cancelled"),
    (s_cancelled, "run_cancelled", None, None, OK, "cancelled"),  # allowed again
    (s_completed, "run_cancelled", None, None, EntityConflictError, None),
    (s_completed, "run_completed", None, {"output": b"o"}, EntityConflictError, None),
    (s_completed, "run_failed", None, {"error": b"e"}, EntityConflictError, None),
    (s_failed, "run_completed", None, {"output": b"o"}, EntityConflictError, None),
    (s_cancelled, "run_failed", None, {"error": b"e"}, EntityConflictError, None),
    (s_missing, "run_failed", None, {"error": b"e"}, RunNotFoundError, None),
    (s_missing, "run_completed", None, {"output": b"o"}, RunNotFoundError, None),
    (s_missing, "step_created", "step_a", STEP, RunNotFoundError, None),
    (s_missing, "hook_created", "hook_a", {"token": "t"}, RunNotFoundError, None),
    (s_missing, "wait_created", "wait_a", {"resumeAt": FAR}, RunNotFoundError, None),
    (s_completed, "step_created", "step_b", STEP, EntityConflictError, None),
    (s_failed, "hook_created", "hook_b", {"token": "t"}, EntityConflictError, None),
    (s_cancelled, "wait_created", "wait_b", {"resumeAt": FAR}, EntityConflictError, None),
    # steps
    (s_pending, "step_created", "step_a", STEP, OK, "pending"),
    (s_step("pending"), "step_created", "step_a", STEP, EntityConflictError, None),
    (s_running, "step_started", "step_x", None, StepNotFoundError, None),
    (s_running, "step_completed", "step_x", {"result": b"1"}, StepNotFoundError, None),
    (s_step("pending"), "step_started", "step_a", None, OK, "running"),
    (s_step("running"), "step_started", "step_a", None, OK, "running"),  # re-delivery
    (s_step("pending"), "step_completed", "step_a", {"result": b"1"}, OK, "completed"),
    (s_step("running"), "step_completed", "step_a", {"result": b"1"}, OK, "completed"),
    (s_step("running"), "step_failed", "step_a", {"error": b"e", "message": "m"}, OK, "failed"),
    (s_step("running"), "step_retrying", "step_a", {"error": b"e", "message": "m"}, OK, "pending"),
    (s_step("completed"), "step_started", "step_a", None, EntityConflictError, None),
    (s_step("completed"), "step_completed", "step_a", {"result": b"1"}, EntityConflictError, None),
    (s_step("completed"), "step_failed", "step_a", {"error": b"e"}, EntityConflictError, None),
    (s_step("failed"), "step_retrying", "step_a", {"error": b"e"}, EntityConflictError, None),
    (s_step("failed"), "step_completed", "step_a", {"result": b"1"}, EntityConflictError, None),
    (s_retry_later, "step_started", "step_a", None, TooEarlyError, None),
    (s_retry_past, "step_started", "step_a", None, OK, "running"),
    # on a terminal run only a running step may still finish (world-local reads the run for
    # step_started/step_failed only)
    (s_step_on_ended_run("pending"), "step_started", "step_a", None, RunExpiredError, None),
    (
        s_step_on_ended_run("pending"),
        "step_failed",
        "step_a",
        {"error": b"e"},
        RunExpiredError,
        None,
    ),
    (s_step_on_ended_run("running"), "step_completed", "step_a", {"result": b"1"}, OK, "completed"),
    (s_step_on_ended_run("running"), "step_failed", "step_a", {"error": b"e"}, OK, "failed"),
    (s_step_on_ended_run("pending"), "step_completed", "step_a", {"result": b"1"}, OK, "completed"),
    # hooks
    (s_running, "hook_created", "hook_a", {"token": "tok-a"}, OK, None),
    (s_hook, "hook_created", "hook_a", {"token": "tok-a"}, EntityConflictError, None),
    (s_hook, "hook_received", "hook_a", {"payload": b"p"}, OK, None),
    (s_running, "hook_received", "hook_x", {"payload": b"p"}, HookNotFoundError, None),
    (s_hook, "hook_disposed", "hook_a", None, OK, None),
    (s_running, "hook_disposed", "hook_x", None, HookNotFoundError, None),
    (s_hook_disposed, "hook_disposed", "hook_a", None, EntityConflictError, None),
    (s_hook_disposed, "hook_received", "hook_a", {"payload": b"p"}, HookNotFoundError, None),
    # waits
    (s_running, "wait_created", "wait_a", {"resumeAt": FAR}, OK, "waiting"),
    (s_wait, "wait_created", "wait_a", {"resumeAt": FAR}, EntityConflictError, None),
    (s_wait, "wait_completed", "wait_a", None, OK, "completed"),
    (s_wait_done, "wait_completed", "wait_a", None, EntityConflictError, None),
    (s_running, "wait_completed", "wait_x", None, WaitNotFoundError, None),
    # malformed requests
    (s_running, "no_such_event", None, None, InvalidTransitionError, None),
    (s_running, "hook_conflict", "hook_a", {"token": "t"}, InvalidTransitionError, None),
    (s_running, "step_created", None, STEP, InvalidTransitionError, None),
    (s_running, "step_created", "step_a", {"input": b"x"}, InvalidTransitionError, None),
    (s_running, "step_created", "../evil", STEP, UnsafeEntityIdError, None),
    (s_running, "hook_created", ".hidden", {"token": "t"}, UnsafeEntityIdError, None),
    (s_running, "wait_created", "a\\b", {"resumeAt": FAR}, UnsafeEntityIdError, None),
]


def _row_id(row) -> str:
    setup, kind, _, _, expected, _ = row
    name = getattr(setup, "__qualname__", "setup").split(".")[0]
    return f"{name}-{kind}-{'ok' if expected is None else expected.__name__}"


@pytest.mark.parametrize("row", ROWS, ids=[_row_id(r) for r in ROWS])
def test_transition(world, row):
    setup, kind, corr, data, expected, status = row
    run_id = setup(world)
    before = world.list_events(run_id).data
    if expected is not None:
        with pytest.raises(expected):
            ev(world, run_id, kind, corr, data)
        # a rejected event writes nothing
        assert world.list_events(run_id).data == before
        return
    result = ev(world, run_id, kind, corr, data)
    entity = result.run or result.step or result.wait
    if status is not None and entity is not None:
        assert entity["status"] == status
    after = world.list_events(run_id).data
    if result.event is None:
        assert after == before
    else:
        assert after == [*before, result.event]
        assert result.event["eventType"] == kind


def test_run_created_ids(world):
    r = world.create_event(
        None, "run_created", event_data={"deploymentId": "d", "workflowName": "w", "input": b""}
    )
    assert r.run["runId"].startswith("wrun_") and r.run["status"] == "pending"
    with pytest.raises(EntityConflictError):
        world.create_event(
            r.run["runId"], "run_created", event_data={"deploymentId": "d", "workflowName": "w"}
        )
    good = f"wrun_{encode_ulid((now_ms() - 23 * 3600 * 1000) << 80)}"
    world.create_event(good, "run_created", event_data={"deploymentId": "d", "workflowName": "w"})
    for bad in (
        "wrun_notaulid",
        f"wrun_{encode_ulid((now_ms() - 25 * 3600 * 1000) << 80)}",
        f"wrun_{encode_ulid((now_ms() + 10 * 60 * 1000) << 80)}",
    ):
        with pytest.raises(InvalidTransitionError):
            world.create_event(
                bad, "run_created", event_data={"deploymentId": "d", "workflowName": "w"}
            )
    with pytest.raises(UnsafeEntityIdError):
        world.create_event(
            "../x", "run_created", event_data={"deploymentId": "d", "workflowName": "w"}
        )
    with pytest.raises(InvalidTransitionError):
        world.create_event(None, "run_started")


def test_run_started_is_idempotent(world):
    run_id = new_run(world)
    result = world.create_event(run_id, "run_started")
    assert result.event is None and result.run["status"] == "running"
    assert [e["eventType"] for e in world.list_events(run_id).data] == [
        "run_created",
        "run_started",
    ]


def test_run_lifecycle_entities(world):
    run_id = new_run(world, started=False)
    run = world.get_run(run_id)
    assert run["status"] == "pending" and "startedAt" not in run and "completedAt" not in run
    started = world.create_event(run_id, "run_started").run
    assert started["startedAt"] == started["updatedAt"]
    failed = world.create_event(
        run_id,
        "run_failed",
        event_data={
            "error": b"devl",
            "errorCode": "USER_ERROR",
            "message": "boom",
            "stack": "Error: boom",
        },
    )
    assert failed.run["error"] == {"message": "boom", "stack": "Error: boom", "code": "USER_ERROR"}
    assert "message" not in failed.event["eventData"]
    assert failed.run["startedAt"] == started["startedAt"]
    assert world.get_run(run_id) == failed.run
    # run_cancelled on a cancelled run writes another event and changes nothing
    other = new_run(world)
    first = world.create_event(other, "run_cancelled").run
    again = world.create_event(other, "run_cancelled")
    assert again.event["eventType"] == "run_cancelled" and again.run == first


def test_step_attempts_and_errors(world):
    run_id = new_run(world)
    world.create_event(run_id, "step_created", correlation_id="step_a", event_data=STEP)
    s1 = world.create_event(run_id, "step_started", correlation_id="step_a").step
    assert s1["attempt"] == 1 and s1["startedAt"]
    retry_at = iso_in(3600)
    r = world.create_event(
        run_id,
        "step_retrying",
        correlation_id="step_a",
        event_data={
            "error": b"devl",
            "stack": "Error: flaky",
            "message": "flaky",
            "retryAfter": retry_at,
        },
    )
    assert r.step["status"] == "pending" and r.step["retryAfter"] == retry_at
    assert r.step["error"] == {"message": "flaky", "stack": "Error: flaky"}
    assert r.event["eventData"] == {
        "error": b"devl",
        "stack": "Error: flaky",
        "retryAfter": retry_at,
    }
    with pytest.raises(TooEarlyError) as info:
        world.create_event(run_id, "step_started", correlation_id="step_a")
    assert 3500 < info.value.retry_after <= 3600
    # a retry without retryAfter may start at once; startedAt stays the first start
    world.create_event(
        run_id, "step_retrying", correlation_id="step_a", event_data={"error": "plain"}
    )
    s2 = world.create_event(run_id, "step_started", correlation_id="step_a").step
    assert s2["attempt"] == 2 and s2["startedAt"] == s1["startedAt"] and "retryAfter" not in s2
    assert s2["error"] == {"message": "plain"}
    done = world.create_event(
        run_id, "step_completed", correlation_id="step_a", event_data={"result": b"r"}
    ).step
    assert done["output"] == b"r" and done["completedAt"] == done["updatedAt"]
    assert world.get_step(run_id, "step_a") == done
    with pytest.raises(StepNotFoundError):
        world.get_step(run_id, "step_nope")


def test_hook_token_conflict_and_release(world):
    a, b = new_run(world), new_run(world)
    created = world.create_event(
        a, "hook_created", correlation_id="hook_a", event_data={"token": "T", "isWebhook": False}
    )
    assert created.hook["token"] == "T" and world.get_hook_by_token("T")["hookId"] == "hook_a"
    conflict = world.create_event(
        b, "hook_created", correlation_id="hook_b", event_data={"token": "T", "isWebhook": False}
    )
    assert conflict.hook is None
    assert conflict.event["eventType"] == "hook_conflict"
    assert list(conflict.event) == [
        "eventType",
        "correlationId",
        "eventData",
        "runId",
        "eventId",
        "createdAt",
        "specVersion",
    ]
    assert conflict.event["eventData"] == {"token": "T"}
    with pytest.raises(HookNotFoundError):
        world.get_hook("hook_b")
    # disposing releases the token; the same token can then be taken by another run
    world.create_event(a, "hook_disposed", correlation_id="hook_a")
    with pytest.raises(HookNotFoundError) as info:
        world.get_hook_by_token("T")
    assert info.value.token == "T"
    taken = world.create_event(
        b, "hook_created", correlation_id="hook_b2", event_data={"token": "T"}
    )
    assert taken.event["eventType"] == "hook_created"
    # the end of a run frees its tokens too
    world.create_event(b, "run_completed", event_data={"output": b""})
    c = new_run(world)
    assert world.create_event(
        c, "hook_created", correlation_id="hook_c", event_data={"token": "T"}
    ).hook


def test_terminal_run_deletes_hooks_and_waits(world):
    run_id = new_run(world)
    world.create_event(run_id, "hook_created", correlation_id="hook_a", event_data={"token": "ta"})
    world.create_event(
        run_id, "wait_created", correlation_id="wait_a", event_data={"resumeAt": FAR}
    )
    world.create_event(
        run_id, "wait_created", correlation_id="wait_b", event_data={"resumeAt": FAR}
    )
    world.create_event(run_id, "wait_completed", correlation_id="wait_b")
    waits = world.list_waits(run_id)
    assert [(w["waitId"], w["status"]) for w in waits] == [
        (f"{run_id}-wait_a", "waiting"),
        (f"{run_id}-wait_b", "completed"),
    ]
    assert len(world.list_hooks(run_id=run_id).data) == 1
    world.create_event(run_id, "run_cancelled")
    assert world.list_hooks(run_id=run_id).data == []
    assert world.list_waits(run_id) == []
    with pytest.raises(HookNotFoundError):
        world.get_hook_by_token("ta")
    with pytest.raises(HookNotFoundError):
        world.get_hook("hook_a")
    with pytest.raises(WaitNotFoundError):
        world.create_event(run_id, "wait_completed", correlation_id="wait_a")
    with pytest.raises(EntityConflictError):
        world.create_event(run_id, "wait_completed", correlation_id="wait_b")


def test_event_ids_and_dates_strictly_increase(world):
    run_id = new_run(world)
    for i in range(200):
        world.create_event(run_id, "step_created", correlation_id=f"step_{i}", event_data=STEP)
    events = world.list_events(run_id).data
    keys = [(e["createdAt"], e["eventId"]) for e in events]
    assert keys == sorted(keys)
    ids = [e["eventId"] for e in events]
    assert len(set(ids)) == len(ids) and ids == sorted(ids)
    assert all(e["createdAt"] <= f["createdAt"] for e, f in zip(events, events[1:], strict=False))
