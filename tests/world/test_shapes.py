"""Files match what the real DevKit writes (golden store from world-local 5.0.0-beta.3).

``golden/`` is a copy of ``world-local-samples/5.0.0-beta.4`` (see its README in the reference
folder): every file there was written by the DevKit.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from worlds import EntityConflictError, open_world
from worlds.local import LocalWorld
from worlds.local.files import dumps_compact, dumps_pretty, loads
from worlds.local.layout import VERSION_TEXT

from .conftest import GOLDEN

DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
FANOUT = "wrun_01M80ZV5PKBAWQEPA30QHQ5EAW"  # two run_completed events (DevKit race)


def shape(value):
    """Key order, types, date format and Uint8Array tags; ids and times abstracted away."""
    if isinstance(value, dict):
        if value.get("__type") == "Uint8Array":
            assert list(value) == ["__type", "data"]
            return "<Uint8Array>"
        return [(k, shape(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [shape(v) for v in value]
    assert value is not None, "unset fields are omitted, never null"
    if isinstance(value, str):
        return "<date>" if DATE.match(value) else "<str>"
    return f"<{type(value).__name__}>"


def raw(path: Path):
    return json.loads(path.read_text())


def golden_events() -> dict[str, dict]:
    """One golden event per type (hook_created: the one with metadata)."""
    found: dict[str, dict] = {}
    for path in sorted((GOLDEN / "events").glob("*.json")):
        event = raw(path)
        kind = event["eventType"]
        if kind == "hook_created" and "metadata" not in event["eventData"]:
            continue
        found.setdefault(kind, event)
    return found


def golden_entity(kind: str, pred) -> dict:
    return next(raw(p) for p in sorted((GOLDEN / kind).glob("*.json")) if pred(raw(p)))


@pytest.mark.parametrize(
    "path",
    sorted(p for p in GOLDEN.rglob("*.json")),
    ids=lambda p: str(p.relative_to(GOLDEN)),
)
def test_encoder_reproduces_devkit_bytes(path):
    text = path.read_text()
    value = loads(text)
    encode = dumps_compact if path.parent.name == "tokens" else dumps_pretty
    assert encode(value) == text


def test_fold_reproduces_devkit_entities():
    """Folding the DevKit's own events gives its entity files, key order included."""
    world = LocalWorld(GOLDEN)
    runs = [loads(p.read_bytes()) for p in sorted((GOLDEN / "runs").glob("*.json"))]
    assert len(runs) == 12
    for run in runs:
        _, state = world._fold_event_files(run["runId"])
        if run["runId"] != FANOUT:
            assert list(state.run.items()) == list(run.items())
        for path in (GOLDEN / "steps").glob(f"{run['runId']}-*.json"):
            step = loads(path.read_bytes())
            assert list(state.steps[step["stepId"]].items()) == list(step.items())
        for path in (GOLDEN / "waits").glob(f"{run['runId']}-*.json"):
            wait = loads(path.read_bytes())
            assert list(state.waits[wait["waitId"].split("-", 1)[1]].items()) == list(wait.items())
        for path in (GOLDEN / "hooks").glob("*.json"):
            hook = loads(path.read_bytes())
            if hook["runId"] == run["runId"]:
                assert list(state.hooks[hook["hookId"]].items()) == list(hook.items())


def _run(world, workflow="sumTo", input_=b"devl[[1],3]"):
    ctx = {
        "traceCarrier": {},
        "workflowCoreVersion": "5.0.0-beta.4",
        "features": {"encryption": False},
    }
    data = {
        "deploymentId": "dpl_local@5.0.0-beta.3",
        "workflowName": f"workflow//./workflows//{workflow}",
        "input": input_,
        "executionContext": ctx,
    }
    run_id = world.create_event(None, "run_created", event_data=data).run["runId"]
    world.create_event(run_id, "run_started")
    return run_id


def _step(world, run_id, step_id):
    world.create_event(
        run_id,
        "step_created",
        correlation_id=step_id,
        event_data={"stepName": "step//./workflows//add", "input": b"devl[1]"},
    )
    world.create_event(run_id, "step_started", correlation_id=step_id)


def test_written_files_match_devkit_shapes(world, store):
    g = golden_events()
    stack = "Error: kaboom x\n    at boom (file:///app/x.js:1:1)"
    written: dict[str, Path] = {}

    def keep(result):
        if result.event is not None:
            e = result.event
            written[e["eventType"]] = store / "events" / f"{e['runId']}-{e['eventId']}.json"
        return result

    # sumTo: completed run and step
    a = _run(world)
    _step(world, a, "step_a")
    keep(
        world.create_event(
            a, "step_completed", correlation_id="step_a", event_data={"result": b"devl[1]"}
        )
    )
    keep(world.create_event(a, "run_completed", event_data={"output": b"devl[6]"}))
    ev = world.list_events(a).data
    for e in ev:
        written.setdefault(e["eventType"], store / "events" / f"{a}-{e['eventId']}.json")
    assert shape(raw(store / "runs" / f"{a}.json")) == shape(
        golden_entity("runs", lambda r: r["status"] == "completed")
    )
    assert shape(raw(store / "steps" / f"{a}-step_a.json")) == shape(
        golden_entity("steps", lambda s: s["status"] == "completed" and "error" not in s)
    )

    # retrying: a completed step keeps its retry's error
    r = _run(world)
    _step(world, r, "step_r")
    keep(
        world.create_event(
            r,
            "step_retrying",
            correlation_id="step_r",
            event_data={"error": "flaky", "stack": stack},
        )
    )
    world.create_event(r, "step_started", correlation_id="step_r")
    world.create_event(r, "step_completed", correlation_id="step_r", event_data={"result": b"ok"})
    assert shape(raw(store / "steps" / f"{r}-step_r.json")) == shape(
        golden_entity("steps", lambda s: s["status"] == "completed" and "error" in s)
    )

    # stepFails: failed step and run, DevKit-shaped error data
    f = _run(world)
    _step(world, f, "step_f")
    keep(
        world.create_event(
            f,
            "step_failed",
            correlation_id="step_f",
            event_data={"error": "kaboom x", "stack": stack},
        )
    )
    keep(
        world.create_event(
            f,
            "run_failed",
            event_data={
                "error": {"message": "kaboom x", "stack": stack},
                "errorCode": "USER_ERROR",
            },
        )
    )
    assert shape(raw(store / "steps" / f"{f}-step_f.json")) == shape(
        golden_entity("steps", lambda s: s["status"] == "failed")
    )
    assert shape(raw(store / "runs" / f"{f}.json")) == shape(
        golden_entity("runs", lambda r: r["status"] == "failed")
    )

    # pendingApproval: running run, live hook, token claim
    h = _run(world)
    keep(
        world.create_event(
            h,
            "hook_created",
            correlation_id="hook_h",
            event_data={"token": "pending:o2", "metadata": b"devl[1]", "isWebhook": False},
        )
    )
    keep(
        world.create_event(
            h, "hook_received", correlation_id="hook_h", event_data={"payload": b"devl[2]"}
        )
    )
    assert shape(raw(store / "runs" / f"{h}.json")) == shape(
        golden_entity("runs", lambda r: r["status"] == "running")
    )
    assert shape(raw(store / "hooks" / "hook_h.json")) == shape(
        golden_entity("hooks", lambda _: True)
    )
    claims = list((store / "hooks" / "tokens").glob("*.json"))
    golden_claim = next((GOLDEN / "hooks" / "tokens").glob("*.json"))
    assert [c.name for c in claims] == [golden_claim.name]  # sha256 of the same token
    assert list(raw(claims[0])) == list(raw(golden_claim))
    assert "\n" not in claims[0].read_text() and " " not in claims[0].read_text()

    # conflicting: hook_conflict; disposing: hook_disposed
    c = _run(world)
    keep(
        world.create_event(
            c,
            "hook_created",
            correlation_id="hook_c",
            event_data={"token": "pending:o2", "isWebhook": False},
        )
    )
    keep(world.create_event(h, "hook_disposed", correlation_id="hook_h"))

    # longNap / napping: waits
    n = _run(world)
    keep(
        world.create_event(
            n,
            "wait_created",
            correlation_id="wait_n",
            event_data={"resumeAt": "2026-11-22T07:42:07.609Z"},
        )
    )
    assert shape(raw(store / "waits" / f"{n}-wait_n.json")) == shape(
        golden_entity("waits", lambda _: True)
    )
    keep(world.create_event(n, "wait_completed", correlation_id="wait_n"))

    # cancelMe
    x = _run(world)
    keep(world.create_event(x, "run_cancelled"))
    assert shape(raw(store / "runs" / f"{x}.json")) == shape(
        golden_entity("runs", lambda r: r["status"] == "cancelled")
    )

    assert sorted(written) == sorted(g), "one written event per golden event type"
    for kind, path in written.items():
        assert shape(raw(path)) == shape(g[kind]), kind

    # formatting of everything written: 2-space JSON, no trailing newline, no temp leftovers
    for path in store.rglob("*.json"):
        text = path.read_text()
        expected = (
            dumps_compact(loads(text))
            if path.parent.name == "tokens"
            else dumps_pretty(loads(text))
        )
        assert text == expected and not text.endswith("\n"), path
    assert not [p for p in store.rglob("*") if ".tmp." in p.name]
    assert (
        (store / "version.txt").read_text() == VERSION_TEXT == (GOLDEN / "version.txt").read_text()
    )
    for lock in (store / ".locks").rglob("*"):
        assert lock.is_dir() or lock.stat().st_size == 0


def test_wfctl_error_events_keep_the_reference_entity_shape(world, store):
    """The engine passes serialized errors plus message/stack; entities get plain objects."""
    run_id = _run(world)
    _step(world, run_id, "step_e")
    failed = world.create_event(
        run_id,
        "step_failed",
        correlation_id="step_e",
        event_data={"error": b"devl[...]", "stack": "FatalError: no\n    at f", "message": "no"},
    )
    assert list(failed.event["eventData"]) == ["error", "stack"]
    assert raw(store / "steps" / f"{run_id}-step_e.json")["error"] == {
        "message": "no",
        "stack": "FatalError: no\n    at f",
    }
    world.create_event(
        run_id,
        "run_failed",
        event_data={
            "error": b"devl[...]",
            "errorCode": "USER_ERROR",
            "message": "no",
            "stack": "FatalError: no",
        },
    )
    run = raw(store / "runs" / f"{run_id}.json")
    assert run["error"] == {"message": "no", "stack": "FatalError: no", "code": "USER_ERROR"}
    assert shape(run) == shape(golden_entity("runs", lambda r: r["status"] == "failed"))


def test_reads_and_continues_a_devkit_store(tmp_path):
    store = tmp_path / "devkit"
    shutil.copytree(GOLDEN, store)
    world = open_world(store)
    runs = world.list_runs(limit=100).data
    assert len(runs) == 12
    assert [r["createdAt"] for r in runs] == sorted((r["createdAt"] for r in runs), reverse=True)
    for run in runs:
        files = [loads(p.read_bytes()) for p in (store / "events").glob(f"{run['runId']}-*.json")]
        files.sort(key=lambda e: (e["createdAt"], e["eventId"]))
        assert world.list_events(run["runId"]).data == files
    assert (
        store.with_name(store.name + ".wfctl") / "journal"
    ).is_dir()  # the lost index was rebuilt
    hook = world.get_hook_by_token("pending:o2")
    pending = hook["runId"]
    assert world.get_run(pending)["status"] == "running"
    nap = next(r["runId"] for r in runs if r["workflowName"].endswith("longNap"))
    assert [w["status"] for w in world.list_waits(nap)] == ["waiting"]
    # the DevKit's live hook still owns its token
    mine = _run(world)
    clash = world.create_event(
        mine, "hook_created", correlation_id="hook_m", event_data={"token": "pending:o2"}
    )
    assert clash.event["eventType"] == "hook_conflict"
    # continue the DevKit's run with wfctl
    world.create_event(
        pending, "hook_received", correlation_id=hook["hookId"], event_data={"payload": b"devl[1]"}
    )
    world.create_event(pending, "run_completed", event_data={"output": b"devl[1]"})
    assert world.list_hooks().data == []
    assert world.create_event(
        mine, "hook_created", correlation_id="hook_m2", event_data={"token": "pending:o2"}
    ).hook
    with pytest.raises(EntityConflictError):
        world.create_event(FANOUT, "run_completed", event_data={"output": b""})
    # the DevKit's own runs are still listed with their events after our writes
    assert len(world.list_events(pending).data) == 5
