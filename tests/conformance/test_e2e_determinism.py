"""Determinism and cross-runtime equivalence (not numbered in the catalogue; §5.3–§5.4, §8.6).

1. Values a workflow draws before a suspension (Math.random, Date.now, new Date) are the
   same when the workflow goes on after it — whether the VM was restored from a snapshot or
   re-executed from the log — and equal what the log recorded (step inputs) on the first pass.
2. A fresh replay of a finished run's whole log reproduces the stored output byte for byte,
   whichever runtime produced the log.
3. The same workflow with the same input and run id, run once per runtime in two data
   directories, yields the same trace: event types, the order primitives were scheduled in,
   step names, decoded step inputs, results and errors, hook payloads, and the output.
   Correlation ids cannot be equal (they are seeded with startedAt, which differs), so they
   are compared by first-appearance label ("step#0", "wait#1", ...), and each run's ids are
   checked against the seeding rule: time part == startedAt, random parts consecutive.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e_support import (
    APP,
    assert_completed,
    decode,
    events,
    iso_ms,
    trace,
    ulid_random,
    ulid_time_ms,
)
from ulid import ULID

from wfctl.engine.app import App
from wfctl.engine.engine import Engine, workflow_context
from wfctl.runtime.events import EventFeed
from wfctl.runtime.replay import ReplayRuntime
from wfctl.serde import payload
from worlds import open_world

APPS = Path(__file__).resolve().parent.parent / "apps"
T = 20


def offline_replay(engine: Engine, run_id: str):
    """Re-execute the run's whole stored log in a fresh VM (nothing is written)."""
    run = engine.world.get_run(run_id)
    rt = ReplayRuntime(engine.app.bundle, workflow_context(run, None), EventFeed(None))
    try:
        return rt.advance(events(engine, run_id))
    finally:
        rt.close()


@pytest.mark.parametrize("leave", [False, True], ids=["in-process", "leave-and-resume"])
def test_determinism_across_suspension(engine, runtime, leave):
    if leave:
        # the run leaves the process at the sleep (snapshot saved / nothing kept) and a
        # later invocation restores the heap (snapshot) or re-executes the prefix (replay)
        res = engine.start("determinismWorkflow", [], runtime=runtime, wait=False)
        first = engine.drive(res.run_id, wait=False)
        assert first.status == "running"
        assert "wait_created" in [e["eventType"] for e in events(engine, res.run_id)]
        time.sleep(0.6)
        res = engine.drive(res.run_id)
        if runtime == "snapshot":
            assert res.stats.get("snapshotSource") == "snapshot", (res.stats, res.notes)
    else:
        res = engine.start("determinismWorkflow", [], runtime=runtime)
    out = assert_completed(engine, res)
    run = engine.world.get_run(res.run_id)
    before, after = out["before"], out["after"]
    # what the workflow returned equals what the log recorded before the sleep
    assert out["loggedBefore"] == before
    assert out["loggedAfter"] == after
    created = [e for e in events(engine, res.run_id) if e["eventType"] == "step_created"]
    assert decode(created[0]["eventData"]["input"])["args"] == [before]
    assert decode(created[1]["eventData"]["input"])["args"] == [after]
    # the clock starts at startedAt and follows the log
    assert before["now"] == iso_ms(run["startedAt"])
    assert iso_ms(before["date"]) == before["now"]
    assert after["now"] >= before["now"] + 500
    assert len(set(before["random"] + after["random"])) == 5
    assert all(0 <= r < 1 for r in before["random"] + after["random"])


def test_offline_replay_reproduces_output(engine, runtime):
    res = engine.start("determinismWorkflow", [], runtime=runtime)
    assert_completed(engine, res)
    state = offline_replay(engine, res.run_id)
    assert state.status == "completed"
    stored = engine.world.get_run(res.run_id)["output"]
    assert state.result == payload.unwrap_text(stored, None)


# -- cross-runtime equivalence ---------------------------------------------------------------


def _plain(name: str, *args):
    def drive(engine: Engine, runtime: str, run_id: str) -> None:
        engine.start(name, list(args), runtime=runtime, run_id=run_id, timeout=T)

    return drive


def _hook_workflow(engine: Engine, runtime: str, run_id: str) -> None:
    token = f"equiv-{run_id}"
    engine.start("hookWorkflow", [token, "cd"], runtime=runtime, run_id=run_id, timeout=T)
    for p in ({"message": "1"}, {"message": "2"}, {"message": "3", "done": True}):
        engine.resume_hook(token, p, timeout=T)


def _hook_final_step(engine: Engine, runtime: str, run_id: str) -> None:
    token = f"equiv-final-{run_id}"
    engine.start(
        "hookWithSleepFinalStepWorkflow", [token], runtime=runtime, run_id=run_id, timeout=T
    )
    engine.resume_hook(token, {"type": "x", "id": 1}, drive=False)
    engine.resume_hook(token, {"type": "x", "id": 2, "done": True}, drive=False)
    engine.drive(run_id, timeout=T)


def _hook_dispose(engine: Engine, runtime: str, run_id: str) -> None:
    token = f"equiv-dispose-{run_id}"
    engine.start(
        "hookDisposeTestWorkflow", [token, "cd", "200ms"], runtime=runtime, run_id=run_id, timeout=T
    )
    engine.resume_hook(token, {"message": "m", "customData": "cd"}, timeout=T)


SCENARIOS: dict[str, Callable[[Engine, str, str], None]] = {
    "addTen": _plain("addTenWorkflow", 123),
    "promiseAll": _plain("promiseAllWorkflow"),
    "raceStress": _plain("promiseRaceStressTestWorkflow", 50),
    "nullByte": _plain("nullByteWorkflow"),
    "sleepWithSequentialSteps": _plain("sleepWithSequentialStepsWorkflow"),
    "errorStepBasic": _plain("errorStepBasic"),
    "errorRetrySuccess": _plain("errorRetrySuccess"),
    "errorFatalCatchable": _plain("errorFatalCatchable"),
    "maxRetriesZero": _plain("maxRetriesZeroWorkflow"),
    "stepFatalErrorWithCause": _plain("stepFatalErrorWithCause"),
    "stepNotRegisteredCatchable": _plain("stepNotRegisteredCatchable"),
    "errorWorkflowNested": _plain("errorWorkflowNested"),
    "errorRetryFatal": _plain("errorRetryFatal"),
    "workflowThrowsNonError": _plain("workflowThrowsNonError"),
    "hookWorkflow": _hook_workflow,
    "hookWithSleepFinalStep": _hook_final_step,
    "hookDispose": _hook_dispose,
}


def _check_correlation_ids(engine: Engine, run_id: str) -> None:
    run = engine.world.get_run(run_id)
    started = iso_ms(run["startedAt"])
    cids = list(
        dict.fromkeys(e["correlationId"] for e in events(engine, run_id) if e.get("correlationId"))
    )
    ulids = [c.split("_", 1)[1] for c in cids]
    assert all(ulid_time_ms(u) == started for u in ulids), (started, cids)
    rand = sorted(ulid_random(u) for u in ulids)
    if not rand:
        return
    assert rand == list(range(rand[0], rand[0] + len(rand))), cids  # one monotonic factory


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_runtimes_produce_the_same_trace(tmp_path, scenario):
    run_id = f"wrun_{ULID()}"
    traces = {}
    for runtime in ("snapshot", "replay"):
        world = open_world(tmp_path / runtime)
        try:
            engine = Engine(world, App.load(APPS / APP))
            engine.check_steps = False  # the fixture app has unregistered steps on purpose
            SCENARIOS[scenario](engine, runtime, run_id)
            run = world.get_run(run_id)
            assert run["status"] in ("completed", "failed"), run
            assert run["executionContext"]["workflowRuntime"] == runtime
            traces[runtime] = trace(engine, run_id)
            _check_correlation_ids(engine, run_id)
            # the stored log replays to the same end in a fresh VM, whichever runtime wrote it
            state = offline_replay(engine, run_id)
            assert state.status == run["status"]
            if run["status"] == "completed":
                assert state.result == payload.unwrap_text(run["output"], None)
        finally:
            world.close()
    snap, replay = traces["snapshot"], traces["replay"]
    assert snap["types"] == replay["types"]
    assert snap["scheduled"] == replay["scheduled"]
    assert snap["per_op"] == replay["per_op"]
    assert snap.get("output") == replay.get("output")
    assert snap.get("error") == replay.get("error")
    assert snap["status"] == replay["status"]
