"""Leases on every world: a handle with an epoch that grows with every acquisition."""

from __future__ import annotations

import time

import pytest

from worlds import Lease, LeaseBusyError, LeaseLostError, open_world

from ..conftest import new_run


def test_lease_handle_and_epochs(world):
    run_id = new_run(world)
    with world.lease(run_id) as first:
        assert isinstance(first, Lease) and first.run_id == run_id
        assert isinstance(first.epoch, int) and first.owner
        world.create_event(run_id, "step_created", correlation_id="s", event_data={"stepName": "s"})
    with world.lease(run_id, wait=5) as second:
        assert second.epoch > first.epoch
    with world.lease(run_id, wait=None) as third:
        assert third.epoch > second.epoch


def test_lease_excludes_another_world_instance(world, store):
    run_id = new_run(world)
    other = open_world(store)
    try:
        with world.lease(run_id):
            with pytest.raises(LeaseBusyError):
                with other.lease(run_id):
                    pass
            with pytest.raises(LeaseBusyError):
                with other.lease(run_id, wait=0.3):
                    pass
        with other.lease(run_id) as lease:
            other.create_event(run_id, "run_completed", event_data={"output": b""})
            assert lease.epoch >= 1
    finally:
        other.close()


def test_a_fenced_holder_cannot_write(world_kind, store, monkeypatch):
    """A holder whose lease expired and was taken over: its writes raise LeaseLostError and
    leave the log unchanged (Postgres: the epoch is checked inside the write transaction)."""
    if world_kind == "local":
        pytest.skip("flock leases cannot expire while the holder lives: nothing to fence")
    monkeypatch.setenv("WFCTL_LEASE_TTL", "0.5")
    a, b = open_world(store), open_world(store)
    try:
        run_id = new_run(a)
        with a.lease(run_id) as old:
            a._keepers[run_id].stop()  # no more heartbeats, like a paused process
            time.sleep(1.0)  # past the TTL
            with b.lease(run_id, wait=5) as new:
                assert new.epoch > old.epoch
                before = b.list_events(run_id).data
                with pytest.raises(LeaseLostError):
                    a.create_event(
                        run_id,
                        "step_created",
                        correlation_id="zombie",
                        event_data={"stepName": "s"},
                    )
                with pytest.raises(LeaseLostError):
                    a.save_snapshot(run_id, b"zombie", events_cursor=None)
                assert b.list_events(run_id).data == before
                assert b.load_snapshot(run_id) is None
                b.create_event(
                    run_id, "step_created", correlation_id="s", event_data={"stepName": "s"}
                )
    finally:
        a.close()
        b.close()
