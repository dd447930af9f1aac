"""World.create_events: several events of one run in one durable commit, on every world."""

from __future__ import annotations

import pytest

from worlds import EntityConflictError, EventItem, StepNotFoundError, TooEarlyError

from ..conftest import new_run

STEP = {"stepName": "step//./workflows//add", "input": b"devl[1]"}


def test_batch_validates_each_item_against_the_earlier_ones(world):
    run_id = new_run(world)
    results = world.create_events(
        run_id,
        [
            EventItem("step_created", "s1", STEP),
            ("step_started", "s1", None),
            {"eventType": "step_completed", "correlationId": "s1", "eventData": {"result": b"r"}},
            EventItem("step_created", "s2", STEP),
        ],
    )
    assert [r.event["eventType"] for r in results] == [
        "step_created",
        "step_started",
        "step_completed",
        "step_created",
    ]
    assert [r.step["status"] for r in results] == ["pending", "running", "completed", "pending"]
    assert results[2].step["output"] == b"r" and results[2].conflict is None
    events = world.list_events(run_id).data
    assert [e["eventId"] for e in events[-4:]] == [r.event["eventId"] for r in results]
    ids = [e["eventId"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert world.get_step(run_id, "s1")["status"] == "completed"
    assert world.get_step(run_id, "s2")["status"] == "pending"


def test_duplicates_in_a_batch_are_skipped_and_reported(world):
    run_id = new_run(world)
    world.create_event(run_id, "step_created", correlation_id="s1", event_data=STEP)
    results = world.create_events(
        run_id,
        [
            ("step_created", "s1", STEP),  # already stored
            ("step_created", "s2", STEP),
            ("step_created", "s2", STEP),  # duplicate of an earlier item
            ("wait_created", "w1", {"resumeAt": "2099-01-01T00:00:00.000Z"}),
        ],
    )
    assert results[0].event is None and isinstance(results[0].conflict, EntityConflictError)
    assert results[1].event["correlationId"] == "s2"
    assert results[2].event is None and isinstance(results[2].conflict, EntityConflictError)
    assert results[3].wait["status"] == "waiting"
    created = [
        e["correlationId"]
        for e in world.list_events(run_id).data
        if e["eventType"] in ("step_created", "wait_created")
    ]
    assert created == ["s1", "s2", "w1"]


def test_any_other_error_aborts_the_whole_batch(world):
    run_id = new_run(world)
    before = world.list_events(run_id).data
    with pytest.raises(StepNotFoundError):
        world.create_events(run_id, [("step_created", "s1", STEP), ("step_started", "nope", None)])
    assert world.list_events(run_id).data == before
    with pytest.raises(StepNotFoundError):
        world.get_step(run_id, "s1")
    world.create_events(
        run_id,
        [
            ("step_created", "s1", STEP),
            ("step_started", "s1", None),
            (
                "step_retrying",
                "s1",
                {"error": b"e", "message": "m", "retryAfter": "2099-01-01T00:00:00.000Z"},
            ),
        ],
    )
    with pytest.raises(TooEarlyError):
        world.create_events(run_id, [("step_started", "s1", None)])


def test_batch_with_a_hook_and_the_run_end(world):
    run_id = new_run(world)
    other = new_run(world)
    world.create_event(other, "hook_created", correlation_id="h0", event_data={"token": "taken"})
    results = world.create_events(
        run_id,
        [
            ("hook_created", "h1", {"token": "free"}),
            ("hook_created", "h2", {"token": "taken"}),
            ("hook_received", "h1", {"payload": b"p"}),
            ("run_completed", None, {"output": b"o"}),
        ],
    )
    kinds = [r.event["eventType"] for r in results]
    assert kinds == ["hook_created", "hook_conflict", "hook_received", "run_completed"]
    assert results[3].run["status"] == "completed"
    assert world.list_hooks(run_id=run_id).data == []
    assert world.get_hook_by_token("taken")["runId"] == other
    # the run's end released "free": another run can take it
    assert world.create_event(
        other, "hook_created", correlation_id="h3", event_data={"token": "free"}
    ).hook


def test_empty_batch_and_idempotent_start(world):
    run_id = new_run(world, started=False)
    assert world.create_events(run_id, []) == []
    results = world.create_events(
        run_id, [("run_started", None, None), ("run_started", None, None)]
    )
    assert results[0].event["eventType"] == "run_started"
    assert results[1].event is None and results[1].run["status"] == "running"


def test_a_token_released_in_a_batch_can_be_taken_in_the_same_batch(world):
    run_id = new_run(world)
    world.create_event(run_id, "hook_created", correlation_id="h1", event_data={"token": "T"})
    results = world.create_events(
        run_id,
        [
            ("hook_disposed", "h1", None),
            ("hook_created", "h2", {"token": "T"}),
            ("hook_created", "h3", {"token": "U"}),
            ("hook_disposed", "h3", None),
            ("hook_created", "h4", {"token": "U"}),
        ],
    )
    kinds = [r.event["eventType"] for r in results]
    assert kinds == [
        "hook_disposed",
        "hook_created",
        "hook_created",
        "hook_disposed",
        "hook_created",
    ]
    assert world.get_hook_by_token("T")["hookId"] == "h2"
    assert world.get_hook_by_token("U")["hookId"] == "h4"
    assert sorted(h["hookId"] for h in world.list_hooks(run_id=run_id).data) == ["h2", "h4"]
