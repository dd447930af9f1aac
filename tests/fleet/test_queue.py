"""The run queue on a real PostgreSQL server, in-process: enqueue in the event's transaction,
disjoint SKIP LOCKED claims, the visibility timeout, wake-ups that arrive during a claim,
NOTIFY as a hint only, and an idle `wfctl worker` that is silent and costs no CPU."""

from __future__ import annotations

import threading
import time

from fleet_support import FLEET_APP, cpu_seconds, spawn_worker, sql, stop, wait_until

from wfctl.engine.app import App
from wfctl.engine.engine import Engine, RunResult
from wfctl.engine.worker import Outcome
from worlds import open_world
from worlds.postgres.queue import PgRunQueue


def _queue(url: str) -> list[tuple]:
    return sql(
        url,
        "SELECT run_id, due_at <= now(), claim_id IS NOT NULL, wakeup FROM wfctl.run_queue ORDER BY run_id",
    )


def _driven(run_id: str, next_due_ms: int | None = None, status: str = "running") -> Outcome:
    stats = {} if next_due_ms is None else {"nextDueMs": next_due_ms}
    return Outcome("driven", RunResult({"runId": run_id, "status": status}, stats=stats))


def test_claims_are_disjoint_and_come_due_again(pg_url):
    with open_world(pg_url) as world:
        engine = Engine(world, App.load(FLEET_APP))
        ids = sorted(engine.start("mix", [i], wait=False).run_id for i in range(10))
        assert [r[0] for r in _queue(pg_url)] == ids  # enqueued with run_created
        q1, q2 = PgRunQueue(world, visibility=1.0), PgRunQueue(world, visibility=1.0)
        try:
            a, b = q1.claim(4), q2.claim(100)
            assert len(a) == 4 and len(b) == 6
            assert not {c.run_id for c in a} & {c.run_id for c in b}
            assert q1.claim(10) == [] and q2.claim(10) == []  # all claimed, none due
            # q1 "crashes": its claims come due again after the visibility timeout
            time.sleep(1.2)
            again = q2.claim(100)
            assert {c.run_id for c in again} == {c.run_id for c in a} | {c.run_id for c in b}
        finally:
            q1.close()
            q2.close()


def test_ack_and_wakeups(pg_url):
    with open_world(pg_url) as world:
        engine = Engine(world, App.load(FLEET_APP))
        hooked = engine.start("waitHook", ["q:1"], wait=True).run_id  # waits on its hook
        assert sql(pg_url, "SELECT count(*) FROM wfctl.run_queue WHERE run_id = %s", hooked)[0][
            0
        ] in (0, 1)
        q = PgRunQueue(world, visibility=30)
        try:
            claims = q.claim(10)
            for c in claims:  # the runs are parked on hooks: nothing left to do on their own
                q.ack(c, _driven(c.run_id))
            assert _queue(pg_url) == []
            # a hook payload enqueues the run (same transaction as hook_received) ...
            engine.resume_hook("q:1", {"n": 1}, drive=False)
            assert _queue(pg_url) == [(hooked, True, False, False)]
            (c,) = q.claim(10)
            # ... and one that arrives while the run is claimed sets `wakeup`: the ack makes it
            # due at once instead of dropping it
            world.create_event(hooked, "run_cancelled")
            assert _queue(pg_url) == [(hooked, False, True, True)]
            q.ack(c, _driven(hooked, next_due_ms=int((time.time() + 3600) * 1000)))
            assert _queue(pg_url) == [(hooked, True, False, False)]
            # a timer: the ack keeps the row for its due time
            (c,) = q.claim(10)
            q.ack(c, _driven(hooked, next_due_ms=int((time.time() + 3600) * 1000)))
            assert _queue(pg_url) == [(hooked, False, False, False)]
            # nothing else is due
            (c,) = q.claim(10) or [None]
            assert c is None
        finally:
            q.close()


def test_lost_notification_costs_latency_not_the_run(pg_url):
    """With the listener gone, a worker still wakes for the next due time (a timer)."""
    with open_world(pg_url) as world:
        q = PgRunQueue(world, visibility=30)
        q.close()  # stops the LISTEN thread: no notification will arrive
        q._listener.join(5)
        engine = Engine(world, App.load(FLEET_APP))
        run_id = engine.start("waitHook", ["q:2"], wait=False).run_id
        (c,) = q.claim(10)
        due = int((time.time() + 0.6) * 1000)
        q.ack(c, _driven(run_id, next_due_ms=due))
        wake = threading.Event()
        t0 = time.monotonic()
        q.wait(wake, None)
        took = time.monotonic() - t0
        assert 0.3 < took < 2.0, took
        assert [x.run_id for x in q.claim(10)] == [run_id]


def test_idle_postgres_worker_is_silent_and_cheap(pg_url, tmp_path):
    with open_world(pg_url) as world:
        engine = Engine(world, App.load(FLEET_APP))
        ids = [engine.start("waitHook", [f"idle:{k}"], wait=False).run_id for k in range(50)]
    worker = spawn_worker(pg_url, "--json", log=tmp_path / "w.log")
    try:
        with open_world(pg_url) as world:
            wait_until(lambda: len(world.list_hooks(limit=100).data) == 50, 120, "hooks")
            wait_until(lambda: not sql(pg_url, "SELECT 1 FROM wfctl.run_queue"), 30, "empty queue")
            time.sleep(0.5)
            cpu0, t0 = cpu_seconds(worker.pid), time.monotonic()
            time.sleep(3.0)
            used = (cpu_seconds(worker.pid) - cpu0) / (time.monotonic() - t0)
            assert used < 0.02, f"an idle worker used {used:.1%} of a core"
            # NOTIFY wakes it: a payload from here is picked up promptly
            Engine(world, App.load(FLEET_APP)).resume_hook("idle:3", {"n": 1}, drive=False)
            t1 = time.monotonic()
            wait_until(
                lambda: world.get_run(ids[3])["status"] == "completed", 30, "the resumed run"
            )
            assert time.monotonic() - t1 < 5
    finally:
        stop(worker)
    lines = [ln for ln in worker.stdout.read().decode().splitlines() if ln.strip()]
    assert 1 <= len(lines) <= 6, lines  # passes that drove something; none while idle
