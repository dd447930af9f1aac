"""Catalogue sleeps and cancellation: #9, #10, #75, #76, #80, #81."""

from __future__ import annotations

import threading
from collections import Counter

from e2e_support import assert_completed, event_types, events, iso_ms, wait_for


def test_sleeping_workflow(engine, runtime):  # 9 (10 s shortened to 1 s)
    res = engine.start("sleepingWorkflow", [1000], runtime=runtime)
    out = assert_completed(engine, res)
    # workflow Date.now() follows the logged time: across the sleep it advances by >= 1 s
    assert out["endTime"] - out["startTime"] >= 1000
    evs = events(engine, res.run_id)
    created = [e for e in evs if e["eventType"] == "wait_created"]
    completed = [e for e in evs if e["eventType"] == "wait_completed"]
    assert len(created) == 1 and len(completed) == 1
    assert created[0]["correlationId"] == completed[0]["correlationId"]
    resume_at = iso_ms(created[0]["eventData"]["resumeAt"])
    assert resume_at == out["startTime"] + 1000
    assert iso_ms(completed[0]["createdAt"]) >= resume_at
    assert out["endTime"] >= resume_at


def test_parallel_sleep_workflow(engine, runtime):  # 10
    res = engine.start("parallelSleepWorkflow", [], runtime=runtime)
    out = assert_completed(engine, res)
    elapsed = out["endTime"] - out["startTime"]
    assert 999 < elapsed < 5000  # ten 1 s sleeps run concurrently
    counts = Counter(event_types(engine, res.run_id))
    assert counts["wait_created"] == 10 and counts["wait_completed"] == 10


def test_sleep_in_loop_workflow(engine, runtime):  # 80 (3 s sleeps shortened to 500 ms)
    res = engine.start("sleepInLoopWorkflow", [500], runtime=runtime)
    out = assert_completed(engine, res)
    ts = out["timestamps"]
    assert len(ts) == 3
    # real step clock: every iteration waited for its sleep
    assert ts[1] - ts[0] >= 490 and ts[2] - ts[1] >= 490
    assert out["totalElapsed"] >= 990
    counts = Counter(event_types(engine, res.run_id))
    assert counts["wait_created"] == 2 and counts["wait_completed"] == 2
    assert counts["step_completed"] == 3


def test_sleep_with_sequential_steps(engine, runtime):  # 81
    # the concurrent sleep('1d') never completes; the engine must not wait for it
    res = engine.start("sleepWithSequentialStepsWorkflow", [], runtime=runtime, timeout=20)
    assert assert_completed(engine, res) == {"a": 3, "b": 6, "c": 10, "shouldCancel": False}
    counts = Counter(event_types(engine, res.run_id))
    assert counts["wait_created"] == 1 and counts["wait_completed"] == 0
    assert counts["step_completed"] == 3


def test_cancel_running_workflow(engine, runtime):  # 75
    res = engine.start("longSleepWorkflow", ["30s"], runtime=runtime, wait=False)
    run_id = res.run_id
    outcome = {}

    def drive() -> None:
        outcome["result"] = engine.drive(run_id)  # sleeps in-process until the timer is due

    t = threading.Thread(target=drive, daemon=True)
    t.start()
    assert wait_for(lambda: "wait_created" in event_types(engine, run_id), timeout=20)
    cancelled = engine.cancel(run_id)
    assert cancelled.status == "cancelled"
    t.join(timeout=15)
    assert not t.is_alive(), "the driving invocation did not notice the cancellation"
    run = engine.world.get_run(run_id)
    assert run["status"] == "cancelled"
    counts = Counter(event_types(engine, run_id))
    assert counts["run_cancelled"] == 1
    assert counts["run_completed"] == 0 and counts["wait_completed"] == 0
    assert outcome["result"].status == "cancelled"
    # driving a cancelled run again is a no-op
    assert engine.drive(run_id).status == "cancelled"


def test_cancel_via_cli(engine, runtime, cli, world_env):  # 76
    res = engine.start("longSleepWorkflow", ["30s"], runtime=runtime, wait=False)
    engine.drive(res.run_id, wait=False)  # leaves the run sleeping
    assert engine.world.get_run(res.run_id)["status"] == "running"
    proc = cli("cancel", res.run_id, env=world_env)
    assert proc.returncode == 0, proc.stderr
    assert engine.world.get_run(res.run_id)["status"] == "cancelled"
    assert event_types(engine, res.run_id).count("run_cancelled") == 1
    proc = cli("inspect", "run", res.run_id, "--json", env=world_env)
    assert proc.returncode == 0, proc.stderr
    assert '"cancelled"' in proc.stdout
