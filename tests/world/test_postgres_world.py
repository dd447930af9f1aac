"""PostgreSQL-only behaviour: the database's own guards, schema, clock, and a server restart."""

from __future__ import annotations

import psycopg
import pytest

from worlds import EntityConflictError, open_world
from worlds.postgres import store as pg_store

from .conftest import new_run

STEP = {"stepName": "step//./workflows//add", "input": b"devl[1]"}


@pytest.fixture
def pg_world(pg_url):
    w = open_world(pg_url)
    yield w
    w.close()


def test_unique_indexes_hold_even_without_validation(pg_world, monkeypatch):
    """With the rules switched off, the partial unique indexes still refuse a duplicate
    step_created, a second terminal step event and a second terminal run event, as
    EntityConflictError, and nothing of the refused batch is stored."""
    w = pg_world
    run_id = new_run(w)
    w.create_event(run_id, "step_created", correlation_id="s1", event_data=STEP)
    w.create_event(run_id, "step_completed", correlation_id="s1", event_data={"result": b"1"})
    w.create_event(run_id, "run_completed", event_data={"output": b"o"})
    count = len(w.list_events(run_id).data)
    monkeypatch.setattr(pg_store, "check", lambda *a, **k: None)
    for kind, corr, data in [
        ("step_created", "s1", STEP),
        ("step_failed", "s1", {"error": b"e", "message": "m"}),
        ("run_failed", None, {"error": b"e", "message": "m"}),
    ]:
        w._forget(run_id)  # the validating fold would not even see the duplicate
        with pytest.raises(EntityConflictError):
            w.create_event(run_id, kind, correlation_id=corr, event_data=data)
    assert len(w.list_events(run_id).data) == count
    assert w.get_run(run_id)["status"] == "completed"


def test_timestamps_come_from_the_database_clock(pg_world):
    w = pg_world
    run_id = new_run(w)
    event = w.create_event(run_id, "step_created", correlation_id="s", event_data=STEP).event
    with psycopg.connect(w.url) as conn:
        db_ms = conn.execute(
            "SELECT (extract(epoch FROM clock_timestamp())*1000)::bigint"
        ).fetchone()[0]
        seqs = conn.execute(
            "SELECT seq, event_id FROM wfctl.events WHERE run_id = %s ORDER BY seq", (run_id,)
        ).fetchall()
    from worlds.ids import ms_from_iso

    assert 0 <= db_ms - ms_from_iso(event["createdAt"]) < 60_000
    # seq (commit order) is the event id order
    assert [s for s, _ in seqs] == [1, 2, 3]
    assert [e for _, e in seqs] == sorted(e for _, e in seqs)


def test_payloads_and_snapshots_are_bytea(pg_world):
    w = pg_world
    run_id = new_run(w)
    w.create_event(
        run_id,
        "step_created",
        correlation_id="s",
        event_data={"stepName": "x", "input": b"\x00\xff"},
    )
    w.save_snapshot(run_id, b"\x00snap", events_cursor=None)
    with psycopg.connect(w.url) as conn:
        blobs = conn.execute(
            "SELECT blobs FROM wfctl.events WHERE run_id = %s AND correlation_id = 's'", (run_id,)
        ).fetchone()[0]
        snap = conn.execute(
            "SELECT data FROM wfctl.snapshots WHERE run_id = %s", (run_id,)
        ).fetchone()[0]
    assert blobs == [b"\x00\xff"] and bytes(snap) == b"\x00snap"


def test_the_world_reconnects_after_a_server_restart(pg_server, pg_url, caplog):
    w = open_world(pg_url)
    try:
        run_id = new_run(w)
        w.create_event(run_id, "step_created", correlation_id="a", event_data=STEP)
        pg_server.restart("immediate")  # every pooled connection is now broken
        w.create_event(run_id, "step_created", correlation_id="b", event_data=STEP)
        assert [s["stepId"] for s in w.list_steps(run_id, sort="asc").data] == ["a", "b"]
        pg_server.restart("immediate")
        assert w.get_run(run_id)["status"] == "running"
        assert "reconnecting" in caplog.text
    finally:
        w.close()
