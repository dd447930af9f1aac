"""Reads: empty stores, listing order and cursors, malformed files, snapshots, blobs."""

from __future__ import annotations

import logging

import pytest

from worlds import (
    CorruptDataError,
    HookNotFoundError,
    Page,
    RunNotFoundError,
    StepNotFoundError,
    open_world,
)

from .conftest import new_run


@pytest.mark.parametrize("make", [False, True], ids=["missing-dir", "empty-dir"])
def test_missing_or_empty_store_lists_empty(tmp_path, make):
    root = tmp_path / "nothing-here"
    if make:
        root.mkdir()
    world = open_world(root)
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
    with pytest.raises(StepNotFoundError):
        world.get_step("wrun_x", "step_x")
    with pytest.raises(HookNotFoundError):
        world.get_hook("hook_x")
    with pytest.raises(HookNotFoundError):
        world.get_hook_by_token("tok")
    world.delete_snapshot("wrun_x")
    world.close()
    assert root.exists() == make
    if make:
        assert list(root.iterdir()) == []  # reads created nothing


def test_malformed_files_are_skipped_when_listing(world, store, caplog):
    run_id = new_run(world)
    world.create_event(
        run_id, "step_created", correlation_id="step_a", event_data={"stepName": "s"}
    )
    world.create_event(run_id, "hook_created", correlation_id="hook_a", event_data={"token": "t"})
    (store / "runs" / "wrun_broken.json").write_text('{"runId": "wrun_broken", "sta')
    (store / "runs" / "index.json").write_text('{"not": "a run"}')
    (store / "runs" / "wrun_x.json.tmp.01ABC").write_text("{half")
    (store / "runs" / "wrun_x.bin").write_bytes(b"\0")
    (store / "runs" / "cache.json").mkdir()
    (store / "steps" / f"{run_id}-step_b.json").write_text("[1, 2")
    (store / "hooks" / "hook_b.json").write_text("nope")
    with caplog.at_level(logging.WARNING, logger="worlds.local"):
        assert [r["runId"] for r in world.list_runs().data] == [run_id]
        assert [s["stepId"] for s in world.list_steps(run_id).data] == ["step_a"]
        assert [h["hookId"] for h in world.list_hooks().data] == ["hook_a"]
    assert any("wrun_broken" in m for m in caplog.messages)
    with pytest.raises(CorruptDataError) as info:
        world.get_run("wrun_broken")
    assert info.value.path.endswith("wrun_broken.json")


def test_snapshot_files(world, store):
    run_id = new_run(world)
    cursor = world.list_events(run_id).cursor
    world.save_snapshot(run_id, b"state-2", events_cursor=cursor)
    assert (
        store.with_name(store.name + ".wfctl") / "snapshots" / f"{run_id}.bin"
    ).read_bytes() == b"state-2"
    assert (
        (store.with_name(store.name + ".wfctl") / "snapshots" / f"{run_id}.json")
        .read_text()
        .startswith('{\n  "eventsCursor"')
    )
    # a crash between the two writes leaves no metadata -> no snapshot, never a mismatch
    (store.with_name(store.name + ".wfctl") / "snapshots" / f"{run_id}.json").unlink()
    assert world.load_snapshot(run_id) is None
    world.delete_snapshot(run_id)
    world.delete_snapshot(run_id)
    assert world.load_snapshot(run_id) is None
    assert not list((store.with_name(store.name + ".wfctl") / "snapshots").iterdir())


def test_blob_files(world, store):
    world.put_blob("sha256-abc", b"\x01\x02")
    assert (
        store.with_name(store.name + ".wfctl") / "blobs" / "sha256-abc"
    ).read_bytes() == b"\x01\x02"


def test_fsync_can_be_turned_off(store, monkeypatch):
    monkeypatch.setenv("WFCTL_FSYNC", "0")
    world = open_world(store)
    assert world.durable is False
    run_id = new_run(world)
    assert world.get_run(run_id)["status"] == "running"
    monkeypatch.setenv("WFCTL_FSYNC", "1")
    assert open_world(store).durable is True
