"""Reads on every world: id checks, listing order, opaque cursors, snapshots, blobs."""

from __future__ import annotations

import pytest

from worlds import Page, RunNotFoundError, UnsafeEntityIdError

from ..conftest import new_run


def test_empty_world_lists_empty(world):
    empty = Page(data=[], cursor=None, has_more=False)
    assert world.list_runs() == empty
    assert world.list_events("wrun_01M80ZV5GZAM3KWFZ0HHM06WER") == empty
    assert world.list_steps("wrun_01M80ZV5GZAM3KWFZ0HHM06WER") == empty
    assert world.list_hooks() == empty
    assert world.list_waits("wrun_01M80ZV5GZAM3KWFZ0HHM06WER") == []
    assert world.load_snapshot("wrun_01M80ZV5GZAM3KWFZ0HHM06WER") is None
    assert world.get_blob("k") is None
    with pytest.raises(RunNotFoundError):
        world.get_run("wrun_01M80ZV5GZAM3KWFZ0HHM06WER")
    world.delete_snapshot("wrun_x")


def test_unsafe_ids_are_rejected_on_reads(world):
    for call in (
        lambda: world.get_run("../etc"),
        lambda: world.get_step("wrun_a", "a/b"),
        lambda: world.get_hook(".hidden"),
        lambda: world.list_events("x\0y"),
        lambda: world.save_snapshot("", b"", events_cursor=None),
        lambda: world.put_blob("../k", b""),
    ):
        with pytest.raises(UnsafeEntityIdError):
            call()


def _collect(list_fn, **kw) -> list[dict]:
    items, cursor = [], None
    while True:
        page = list_fn(cursor=cursor, limit=3, **kw)
        items.extend(page.data)
        if not page.has_more:
            assert page.cursor is not None or not page.data
            return items
        cursor = page.cursor


def test_listing_order_defaults_and_cursors(world):
    runs = [new_run(world, workflowName=f"workflow//./w//{'ab'[i % 2]}") for i in range(7)]
    # runs: newest first by default, cursor pages cover everything once
    assert [r["runId"] for r in _collect(world.list_runs)] == runs[::-1]
    assert [r["runId"] for r in _collect(world.list_runs, sort="asc")] == runs
    assert len(world.list_runs().data) == 7 and world.list_runs(limit=2).has_more
    only_b = world.list_runs(workflow_name="workflow//./w//b").data
    assert [r["runId"] for r in only_b] == runs[1::2][::-1]
    world.create_event(runs[0], "run_cancelled")
    assert [r["runId"] for r in world.list_runs(status="cancelled").data] == [runs[0]]

    run_id = runs[-1]
    steps = [f"step_{i:02d}" for i in range(8)]
    for s in steps:
        world.create_event(run_id, "step_created", correlation_id=s, event_data={"stepName": "s"})
    assert [s["stepId"] for s in _collect(world.list_steps, run_id=run_id)] == steps[::-1]
    assert len(world.list_steps(run_id).data) == 8  # default limit 20
    for i in range(5):
        world.create_event(
            run_id, "hook_created", correlation_id=f"hook_{i}", event_data={"token": f"t{i}"}
        )
    hooks = _collect(world.list_hooks)
    assert [h["hookId"] for h in hooks] == [f"hook_{i}" for i in range(5)]  # oldest first
    assert world.list_hooks(run_id=runs[0]).data == []

    # events: ascending, limit None = all, cursor = strictly after, desc works too
    events = world.list_events(run_id).data
    assert len(events) == 2 + 8 + 5
    assert _collect(world.list_events, run_id=run_id) == events
    assert _collect(world.list_events, run_id=run_id, sort="desc") == events[::-1]
    page = world.list_events(run_id, limit=4)
    assert page.cursor == world.event_cursor(events[3]) and page.has_more
    assert world.list_events(run_id, cursor=page.cursor).data == events[4:]
    last = world.list_events(run_id, cursor=page.cursor)
    assert world.list_events(run_id, cursor=last.cursor) == Page(
        data=[], cursor=None, has_more=False
    )
    # returned dicts are copies: mutating them does not change the store
    events[0]["eventData"]["input"] = b"changed"
    assert world.list_events(run_id).data[0]["eventData"]["input"] == b"devl[[]]"


def test_snapshots(world):
    run_id = new_run(world)
    assert world.load_snapshot(run_id) is None
    world.save_snapshot(run_id, b"\x00state-1", events_cursor=None)
    data, meta = world.load_snapshot(run_id)
    assert data == b"\x00state-1" and meta["eventsCursor"] is None and meta["createdAt"]
    cursor = world.list_events(run_id).cursor
    world.save_snapshot(run_id, b"state-2", events_cursor=cursor)
    data, meta = world.load_snapshot(run_id)
    assert data == b"state-2" and list(meta) == ["eventsCursor", "createdAt"]
    assert meta["eventsCursor"] == cursor
    big = bytes(range(256)) * 8192  # 2 MiB, binary
    world.save_snapshot(run_id, big, events_cursor=cursor)
    assert world.load_snapshot(run_id)[0] == big
    world.delete_snapshot(run_id)
    world.delete_snapshot(run_id)
    assert world.load_snapshot(run_id) is None


def test_blobs(world):
    assert world.get_blob("sha256-abc") is None
    world.put_blob("sha256-abc", b"\x01\x02")
    world.put_blob("sha256-abc", b"\x01\x02")
    assert world.get_blob("sha256-abc") == b"\x01\x02"
