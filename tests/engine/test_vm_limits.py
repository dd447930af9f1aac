"""VM limits seen through the engine (SPEC §5 "VM limits"): workflow code that loops forever,
recurses without end or exhausts memory fails its run with a clear error — the engine, the
Python process and the data directory survive; timers and fetch are absent with a clear error."""

from __future__ import annotations

import pytest

from wfctl.serde import payload


@pytest.fixture
def limited(make_engine, monkeypatch):
    monkeypatch.setenv("WFCTL_VM_BUDGET", "0.5")
    monkeypatch.setenv("WFCTL_VM_MEMORY_MB", "32")
    return make_engine("t_limits")


def _error(engine, res) -> str:
    events = engine.world.list_events(res.run_id).data
    failed = [e for e in events if e["eventType"] == "run_failed"]
    assert len(failed) == 1, [e["eventType"] for e in events]
    return payload.decode(failed[0]["eventData"]["error"]).message


def test_runaway_loop_fails_the_run(limited, runtime):
    res = limited.start("spin", [], runtime=runtime)
    assert res.status == "failed"
    assert res.run["error"]["code"] == "RUNTIME_ERROR"
    assert "execution budget" in _error(limited, res)
    # the step before the loop is kept, and the engine goes on working
    steps = limited.world.list_steps(res.run_id).data
    assert [s["status"] for s in steps] == ["completed"]
    assert limited.start("hog", [], runtime=runtime).status == "completed"


def test_unbounded_recursion_fails_the_run(limited, runtime):
    res = limited.start("recurse", [], runtime=runtime)
    assert res.status == "failed"
    message = _error(limited, res)
    assert message, res.run
    assert limited.start("spin", [], runtime=runtime).status == "failed"  # still usable


def test_memory_bomb_is_catchable_in_the_workflow(limited, runtime):
    res = limited.start("hog", [], runtime=runtime)
    assert res.status == "completed", res.run
    out = payload.decode(res.run["output"])
    assert "out of memory" in out["caught"]


@pytest.mark.parametrize("workflow, word", [("usesTimers", "setTimeout"), ("usesFetch", "fetch")])
def test_timers_and_fetch_are_absent(make_engine, runtime, workflow, word):
    engine = make_engine("t_limits")
    res = engine.start(workflow, [], runtime=runtime)
    assert res.status == "failed"
    message = _error(engine, res)
    assert word in message and "not available inside a workflow" in message
