"""Local-world-only transition behaviour: token claim files, lock files, DevKit stores."""

from __future__ import annotations

import pytest

from worlds import HookNotFoundError, InvalidTransitionError, RunNotSupportedError

from .conftest import new_run
from .contract.test_transitions import FAR, STEP, ev


def test_token_claim_and_marker_files(world, store):
    a, b = new_run(world), new_run(world)
    world.create_event(a, "hook_created", correlation_id="hook_a", event_data={"token": "T"})
    claim = store / "hooks" / "tokens"
    assert len(list(claim.iterdir())) == 1
    world.create_event(a, "hook_disposed", correlation_id="hook_a")
    assert list(claim.iterdir()) == []
    assert (store / ".locks" / "hooks" / "hook_a.disposed").exists()
    world.create_event(b, "hook_created", correlation_id="hook_b", event_data={"token": "T"})
    world.create_event(b, "wait_created", correlation_id="wait_b", event_data={"resumeAt": FAR})
    assert len(list(claim.iterdir())) == 1 and any((store / "waits").iterdir())
    world.create_event(b, "run_completed", event_data={"output": b""})
    assert list(claim.iterdir()) == []
    assert not any((store / "waits").iterdir())
    with pytest.raises(HookNotFoundError):
        world.get_hook_by_token("T")


def test_stale_token_claims_are_taken_over(world, store):
    """A claim whose run does not exist, whose hook is not in the journal, or whose run ended."""
    from worlds.local.files import dumps_compact
    from worlds.local.layout import token_key

    run_id = new_run(world)
    tokens = store / "hooks" / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    owner = new_run(world)
    cases = {
        "orphan-run": {
            "token": "orphan-run",
            "hookId": "hook_z",
            "runId": "wrun_01M80ZV5GZAM3KWFZ0HHM06WER",
        },
        "orphan-hook": {"token": "orphan-hook", "hookId": "hook_never", "runId": owner},
        "garbage": None,
    }
    for token, claim in cases.items():
        text = "{not json" if claim is None else dumps_compact(claim)
        (tokens / f"{token_key(token)}.json").write_text(text)
    for i, token in enumerate(cases):
        r = world.create_event(
            run_id, "hook_created", correlation_id=f"hook_{i}", event_data={"token": token}
        )
        assert r.event["eventType"] == "hook_created", token
        assert world.get_hook_by_token(token)["hookId"] == f"hook_{i}"


def test_orphaned_lock_files_do_not_wedge_a_run(world, store):
    """Duplicates are decided from the journal: lock files alone never reject an event."""
    run_id = new_run(world)
    locks = store / ".locks"
    for kind, name in [
        ("steps", f"{run_id}-step_a.created"),
        ("steps", f"{run_id}-step_a.terminal"),
        ("waits", f"{run_id}-wait_a.created"),
        ("waits", f"{run_id}-wait_a.completed"),
        ("hooks", "hook_a.disposed"),
    ]:
        (locks / kind).mkdir(parents=True, exist_ok=True)
        (locks / kind / name).touch()
    world.create_event(run_id, "step_created", correlation_id="step_a", event_data=STEP)
    world.create_event(
        run_id, "step_completed", correlation_id="step_a", event_data={"result": b"1"}
    )
    world.create_event(
        run_id, "wait_created", correlation_id="wait_a", event_data={"resumeAt": FAR}
    )
    world.create_event(run_id, "wait_completed", correlation_id="wait_a")
    world.create_event(run_id, "hook_created", correlation_id="hook_a", event_data={"token": "x"})
    world.create_event(run_id, "hook_disposed", correlation_id="hook_a")


@pytest.mark.parametrize(
    ("spec", "kind", "expected"),
    [
        (4, "hook_received", RunNotSupportedError),
        (1, "step_created", InvalidTransitionError),
        (1, "hook_received", None),  # legacy runs still take hook payloads
    ],
)
def test_spec_versions_of_foreign_runs(tmp_path, spec, kind, expected):
    """Runs written by other DevKit versions: too new -> RunNotSupportedError; legacy: limited."""
    import json
    import shutil

    from worlds import open_world

    from .conftest import GOLDEN

    store = tmp_path / "devkit"
    shutil.copytree(GOLDEN, store)
    run_id = "wrun_01M80ZV71E13GC9MERZXMSWXWM"  # pendingApproval: running, one live hook
    for path in (store / "events").glob(f"{run_id}-*.json"):
        event = json.loads(path.read_text())
        if event["eventType"] == "run_created":
            event["specVersion"] = spec
            path.write_text(json.dumps(event, indent=2))
    world = open_world(store)
    hook_id = world.get_hook_by_token("pending:o2")["hookId"]
    data = {"payload": b"x"} if kind == "hook_received" else STEP
    corr = hook_id if kind == "hook_received" else "step_new"
    if expected is None:
        assert ev(world, run_id, kind, corr, data).event["eventType"] == kind
    else:
        with pytest.raises(expected):
            ev(world, run_id, kind, corr, data)
