"""Catalogue §10.2 "Basics & control flow" (#1, #4, #5, #6, #11, #12, #14) plus large payloads."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime

import pytest
from e2e_support import (
    assert_completed,
    decode,
    event_types,
    events,
    iso_ms,
    step_named,
    steps,
)


def test_add_ten_workflow(engine, runtime):  # 1
    res = engine.start("addTenWorkflow", [123], runtime=runtime)
    assert res.status == "completed"
    assert assert_completed(engine, res) == 133
    run = engine.world.get_run(res.run_id)
    assert decode(run["input"]) == [123]
    assert run["workflowName"] == "workflow//./workflows//addTenWorkflow"
    assert run["executionContext"]["workflowRuntime"] == runtime
    ss = steps(engine, res.run_id)
    assert [s["stepName"] for s in ss] == ["step//./steps//add"] * 3
    assert all(s["status"] == "completed" and s["attempt"] == 1 for s in ss)
    assert [decode(s["input"])["args"] for s in ss] == [[123, 2], [125, 3], [128, 5]]
    assert [decode(s["output"]) for s in ss] == [125, 128, 133]
    types = event_types(engine, res.run_id)
    assert types == [
        "run_created",
        "run_started",
        *(["step_created", "step_started", "step_completed"] * 3),
        "run_completed",
    ]


def test_promise_all_workflow(engine, runtime):  # 4
    res = engine.start("promiseAllWorkflow", [], runtime=runtime)
    assert assert_completed(engine, res) == "ABC"
    counts = Counter(event_types(engine, res.run_id))
    assert counts["step_created"] == 3
    assert counts["step_completed"] == 3
    # all three steps are scheduled in one suspension, before any of them completes
    types = event_types(engine, res.run_id)
    assert types.index("step_completed") > max(
        i for i, t in enumerate(types) if t == "step_created"
    )
    # results follow call order, not completion order
    created = [e for e in events(engine, res.run_id) if e["eventType"] == "step_created"]
    assert [decode(e["eventData"]["input"])["args"] for e in created] == [["a"], ["b"], ["c"]]


def test_promise_race_workflow(engine, runtime):  # 5
    res = engine.start("promiseRaceWorkflow", [], runtime=runtime)
    assert assert_completed(engine, res) == "B"
    run = engine.world.get_run(res.run_id)
    evs = events(engine, res.run_id)
    # the run completes when the race settles: before the slow steps could have finished
    started = {
        e["correlationId"]: iso_ms(e["createdAt"]) for e in evs if e["eventType"] == "step_started"
    }
    assert len(started) == 3
    assert iso_ms(run["completedAt"]) < min(started.values()) + 800
    b = [
        e
        for e in evs
        if e["eventType"] == "step_completed" and decode(e["eventData"]["result"]) == "B"
    ]
    assert len(b) == 1
    assert event_types(engine, res.run_id).count("run_completed") == 1


def test_promise_any_workflow(engine, runtime):  # 6
    res = engine.start("promiseAnyWorkflow", [], runtime=runtime)
    assert assert_completed(engine, res) == "B"
    failed = step_named(engine, res.run_id, "step_that_fails")
    assert len(failed) == 1
    assert failed[0]["status"] == "failed"
    assert failed[0]["attempt"] == 1  # FatalError: no retry


def test_null_byte_workflow(engine, runtime):  # 11
    res = engine.start("nullByteWorkflow", [], runtime=runtime)
    assert assert_completed(engine, res) == "null byte \0"


def test_workflow_and_step_metadata(engine, runtime):  # 12
    res = engine.start("workflowAndStepMetadataWorkflow", [], runtime=runtime)
    out = assert_completed(engine, res)
    run = engine.world.get_run(res.run_id)
    wf = out["workflowMetadata"]
    st = out["stepMetadata"]
    # workflow side
    assert (
        wf["workflowName"]
        == run["workflowName"]
        == "workflow//./workflows//workflowAndStepMetadataWorkflow"
    )
    assert wf["workflowRunId"] == res.run_id
    assert isinstance(wf["workflowStartedAt"], datetime)
    assert int(wf["workflowStartedAt"].timestamp() * 1000) == iso_ms(run["startedAt"])
    assert isinstance(wf["features"]["encryption"], bool) and wf["features"]["encryption"] is False
    assert "stepId" not in wf and "attempt" not in wf
    assert out["sameAfterStep"] is True
    assert out["keys"] == ["features", "workflowName", "workflowRunId", "workflowStartedAt"]
    # step side (wfctl: get_step_metadata() carries run id and workflow name too)
    assert st["workflow_name"] == wf["workflowName"]
    assert st["run_id"] == wf["workflowRunId"]
    assert st["step_name"] == "step_with_metadata"
    assert st["attempt"] == 1
    (step,) = steps(engine, res.run_id)
    assert st["step_id"] == step["stepId"]
    assert st["step_id"].startswith("step_")
    assert isinstance(st["started_at"], datetime)
    assert int(st["started_at"].timestamp() * 1000) == iso_ms(step["startedAt"])
    assert st["started_at"] >= wf["workflowStartedAt"]


def test_promise_race_stress(engine, runtime):  # 14
    res = engine.start("promiseRaceStressTestWorkflow", [100], runtime=runtime)
    assert assert_completed(engine, res) == [0, 1, 2, 3, 4]
    counts = Counter(event_types(engine, res.run_id))
    assert counts["step_created"] == 5 and counts["step_completed"] == 5


def test_large_payloads(engine, runtime):  # not in the catalogue: 1 MB through every boundary
    size = 1 << 20
    big = ("wfctl-" * (size // 6 + 1))[:size]
    res = engine.start("largePayloadWorkflow", [big], runtime=runtime)
    out = assert_completed(engine, res)
    made = ("0123456789abcdef" * (size // 16 + 1))[:size]
    assert out == {
        "inputLength": size,
        "echoedSame": True,
        "madeLength": size,
        "measured": {"length": size, "sha256": hashlib.sha256(made.encode()).hexdigest()},
        "head": made[:16],
    }
    echo = step_named(engine, res.run_id, "echo")[0]
    assert decode(echo["output"]) == big


def test_imported_step_only(engine, runtime):  # 7 (adapted to Python modules)
    res = engine.start("importedStepOnlyWorkflow", [], runtime=runtime)
    assert assert_completed(engine, res) == "imported-step-only-ok"


def test_metadata_from_helper(engine, runtime):  # 66
    res = engine.start("metadataFromHelperWorkflow", ["from-helper"], runtime=runtime)
    out = assert_completed(engine, res)
    (step,) = steps(engine, res.run_id)
    assert out == {
        "label": "from-helper",
        "workflowRunId": res.run_id,
        "stepId": step["stepId"],
        "attempt": 1,
    }


def test_step_direct_call(engine):  # 67 (adapted: no HTTP route; a step is a plain function)
    add = engine.app.steps["add"].fn
    assert add(3, 5) == 8
    with pytest.raises(RuntimeError, match="outside of a running step"):
        engine.app.steps["step_with_metadata"].fn()
