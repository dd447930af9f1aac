"""Catalogue "Hooks & webhooks" that apply to wfctl: #15, #19, #20, #21, #22, #23.

wfctl has no HTTP server, so hooks are resumed with ``Engine.resume_hook`` (the engine behind
``wfctl hook resume``); webhooks (#16–#18) are not applicable (docs/CONFORMANCE.md).
"""

from __future__ import annotations

from collections import Counter

import pytest
from e2e_support import assert_completed, assert_failed, decode, event_types, step_named

from wfctl.errors import NotFoundError
from worlds.errors import HookNotFoundError

# Hook runs also hold a timer that never fires (sleep('1d')) in some fixtures: a finite
# timeout makes the engine leave instead of sleeping in-process for a day.
T = 20


def _token(name: str, runtime: str) -> str:
    return f"{name}-{runtime}"


def test_hook_workflow(engine, runtime):  # 15
    token = _token("hook-workflow", runtime)
    res = engine.start("hookWorkflow", [token, "custom-data-123"], runtime=runtime, timeout=T)
    assert res.status == "running"  # waiting on the hook
    hook = engine.world.get_hook_by_token(token)
    assert hook["runId"] == res.run_id
    assert hook["token"] == token
    metadata = decode(hook["metadata"])
    assert metadata == {"customData": "custom-data-123"}

    with pytest.raises(HookNotFoundError):
        engine.world.get_hook_by_token("invalid")
    with pytest.raises(NotFoundError, match="not|no live hook"):
        engine.resume_hook("invalid", {"message": "x"})

    sent = [
        {"message": "one", "customData": metadata["customData"]},
        {"message": "two", "customData": metadata["customData"]},
        {"message": "three", "customData": metadata["customData"], "done": True},
    ]
    for i, p in enumerate(sent):
        r = engine.resume_hook(token, p, timeout=T)
        assert r.status == ("completed" if i == 2 else "running")
    assert assert_completed(engine, res) == sent
    counts = Counter(event_types(engine, res.run_id))
    assert counts["hook_created"] == 1 and counts["hook_received"] == 3
    # the token is released when the run ends
    with pytest.raises(HookNotFoundError):
        engine.world.get_hook_by_token(token)


def test_hook_cleanup_token_reuse_after_completion(engine, runtime):  # 19
    token = _token("hook-cleanup", runtime)
    r1 = engine.start("hookCleanupTestWorkflow", [token, "first"], runtime=runtime, timeout=T)
    assert r1.status == "running"
    engine.resume_hook(token, {"message": "msg-1", "customData": "first"}, timeout=T)
    assert assert_completed(engine, r1) == {
        "message": "msg-1",
        "customData": "first",
        "hookCleanupTestData": "workflow_completed",
    }
    r2 = engine.start("hookCleanupTestWorkflow", [token, "second"], runtime=runtime, timeout=T)
    assert r2.status == "running"
    assert engine.world.get_hook_by_token(token)["runId"] == r2.run_id
    engine.resume_hook(token, {"message": "msg-2", "customData": "second"}, timeout=T)
    assert assert_completed(engine, r2) == {
        "message": "msg-2",
        "customData": "second",
        "hookCleanupTestData": "workflow_completed",
    }


def test_concurrent_hook_token_conflict(engine, runtime):  # 20
    token = _token("hook-conflict", runtime)
    r1 = engine.start("hookCleanupTestWorkflow", [token, "first"], runtime=runtime, timeout=T)
    assert r1.status == "running"
    r2 = engine.start("hookCleanupTestWorkflow", [token, "second"], runtime=runtime, timeout=T)
    assert r2.status == "failed"
    error, thrown = assert_failed(engine, r2, "USER_ERROR")
    assert "already in use by another workflow" in error["message"]
    assert "already in use by another workflow" in thrown.message
    assert "hook_conflict" in event_types(engine, r2.run_id)
    # run1 still holds the token and completes
    assert engine.world.get_hook_by_token(token)["runId"] == r1.run_id
    engine.resume_hook(token, {"message": "msg-1", "customData": "first"}, timeout=T)
    assert assert_completed(engine, r1)["message"] == "msg-1"


def test_hook_dispose_token_reuse_while_running(engine, runtime):  # 21 (5 s sleep -> 1 s)
    token = _token("hook-dispose", runtime)
    r1 = engine.start("hookDisposeTestWorkflow", [token, "first", "1s"], runtime=runtime, timeout=T)
    assert r1.status == "running"
    # deliver, then drive without waiting: run1 disposes its hook and starts its sleep
    engine.resume_hook(token, {"message": "msg-1", "customData": "first"}, drive=False)
    left = engine.drive(r1.run_id, wait=False)
    assert left.status == "running"
    types = event_types(engine, r1.run_id)
    assert "hook_disposed" in types and "wait_created" in types
    with pytest.raises(HookNotFoundError):
        engine.world.get_hook_by_token(token)
    # run2 claims the same token while run1 is still running
    r2 = engine.start(
        "hookDisposeTestWorkflow", [token, "second", "1s"], runtime=runtime, timeout=T
    )
    assert r2.status == "running"
    assert engine.world.get_run(r1.run_id)["status"] == "running"
    assert engine.world.get_hook_by_token(token)["runId"] == r2.run_id
    engine.resume_hook(token, {"message": "msg-2", "customData": "second"}, timeout=T)
    out2 = assert_completed(engine, r2)
    engine.drive(r1.run_id, timeout=T)
    out1 = assert_completed(engine, r1)
    assert out1 == {
        "message": "msg-1",
        "customData": "first",
        "disposed": True,
        "hookDisposeTestData": "workflow_completed",
    }
    assert out2 == {
        "message": "msg-2",
        "customData": "second",
        "disposed": True,
        "hookDisposeTestData": "workflow_completed",
    }
    assert "hook_conflict" not in event_types(engine, r2.run_id)


def test_hook_with_concurrent_sleep(engine, runtime):  # 22
    token = _token("hook-sleep", runtime)
    res = engine.start("hookWithSleepWorkflow", [token], runtime=runtime, timeout=T)
    assert res.status == "running"
    sent = [{"type": "a", "id": 1}, {"type": "b", "id": 2}, {"type": "c", "id": 3, "done": True}]
    for p in sent:
        engine.resume_hook(token, p, timeout=T)
    assert assert_completed(engine, res) == [
        {"processed": True, "type": "a", "id": 1},
        {"processed": True, "type": "b", "id": 2},
        {"processed": True, "type": "c", "id": 3},
    ]
    counts = Counter(event_types(engine, res.run_id))
    assert counts["hook_received"] == 3 and counts["step_completed"] == 3
    assert counts["wait_created"] == 1 and counts["wait_completed"] == 0


def test_hook_with_sleep_final_step(engine, runtime):  # 23
    token = _token("hook-final", runtime)
    res = engine.start("hookWithSleepFinalStepWorkflow", [token], runtime=runtime, timeout=T)
    assert res.status == "running"
    # both payloads land in the log before the run is driven again
    engine.resume_hook(token, {"type": "x", "id": 1}, drive=False)
    engine.resume_hook(token, {"type": "x", "id": 2, "done": True}, drive=False)
    engine.drive(res.run_id, timeout=T)
    assert assert_completed(engine, res) == {
        "seen": [1, 2],
        "finalResult": {"processed": True, "type": "final", "id": 2},
    }
    types = [t for t in event_types(engine, res.run_id) if t in ("hook_received", "step_created")]
    assert types == ["hook_received", "hook_received", "step_created"]
    assert len(step_named(engine, res.run_id, "process_payload")) == 1


def test_hook_explicit_dispose_releases_token(engine, runtime):  # 21 (hook.dispose() by hand)
    token = _token("hook-explicit-dispose", runtime)
    r1 = engine.start("hookExplicitDisposeWorkflow", [token, "1s"], runtime=runtime, timeout=T)
    engine.resume_hook(token, {"n": 1}, drive=False)
    assert engine.drive(r1.run_id, wait=False).status == "running"
    with pytest.raises(HookNotFoundError):
        engine.world.get_hook_by_token(token)
    r2 = engine.start("hookExplicitDisposeWorkflow", [token, "1s"], runtime=runtime, timeout=T)
    assert r2.status == "running"
    engine.resume_hook(token, {"n": 2}, timeout=T)
    engine.drive(r1.run_id, timeout=T)
    assert assert_completed(engine, r1) == {"payload": {"n": 1}, "disposed": True}
    assert assert_completed(engine, r2) == {"payload": {"n": 2}, "disposed": True}
