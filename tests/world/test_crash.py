"""kill -9 of writers mid-write, torn journal lines, lost projections and lost indexes."""

from __future__ import annotations

import collections
import json
import random
import time

from worlds import open_world
from worlds.local.files import loads
from worlds.local.state import RunState

from .conftest import all_json_files, new_run, spawn

ROUNDS = 10


def assert_all_json_valid(store) -> None:
    for path in all_json_files(store):
        json.loads(path.read_bytes())  # raises on a half-written file


def journal_state(store, run_id) -> tuple[list[dict], RunState]:
    """An independent fold of the journal file as it is on disk."""
    raw = (store.with_name(store.name + ".wfctl") / "journal" / f"{run_id}.jsonl").read_bytes()
    raw = raw[: raw.rfind(b"\n") + 1]  # a torn last line is not committed
    lines = [loads(line) for line in raw.splitlines()]
    state = RunState(run_id)
    for line in lines:
        state.apply(line)
    return lines, state


def read(path):
    return loads(path.read_bytes())


def assert_projection_matches_journal(world, store, run_id) -> None:
    lines, state = journal_state(store, run_id)
    # events: one file per journal line, same content (minus wfctl's private key)
    files = {p.name: read(p) for p in (store / "events").glob(f"{run_id}-*.json")}
    expected = {f"{run_id}-{line['eventId']}.json": line for line in lines}
    for line in expected.values():
        line.pop("_wfctl", None)
    assert files == expected
    assert world.list_events(run_id).data == list(expected.values())
    # entities
    assert world.get_run(run_id) == state.run
    steps = {p.name: read(p) for p in (store / "steps").glob(f"{run_id}-*.json")}
    assert steps == {f"{run_id}-{k}.json": v for k, v in state.steps.items()}
    hooks = {h["hookId"]: h for h in world.list_hooks(run_id=run_id, limit=10_000).data}
    assert hooks == state.hooks
    for hook in hooks.values():
        assert world.get_hook_by_token(hook["token"]) == hook
    waits = {p.name: read(p) for p in (store / "waits").glob(f"{run_id}-*.json")}
    assert waits == {f"{run_id}-{k}.json": v for k, v in state.waits.items()}
    # every live hook holds its claim. (A claim written just before a crash that beat the
    # journal append may remain for a hook that never existed: it is stale and taken over,
    # see test_stale_token_claims_are_taken_over.)
    claims = [read(p) for p in (store / "hooks" / "tokens").glob("*.json")]
    claimed = {c["hookId"] for c in claims if c["runId"] == run_id}
    assert set(hooks) <= claimed
    assert not (claimed - set(hooks)) & set(state.hook_tokens)


def test_kill_9_writers_mid_write(world, store):
    """Writers (one or two at once) appending in a tight loop, SIGKILLed at random moments."""
    run_id = new_run(world)
    rng = random.Random(1234)
    for round_no in range(ROUNDS):
        writers = [spawn("churn", str(store), run_id) for _ in range(1 + round_no % 2)]
        for writer in writers:
            assert writer.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.15))
        for writer in writers:
            writer.kill()
            writer.wait()
        # every reader works on whatever the crash left
        assert_all_json_valid(store)
        fresh = open_world(store)
        assert fresh.get_run(run_id)["status"] == "running"
        assert fresh.list_runs().data
        events = fresh.list_events(run_id).data
        assert events[0]["eventType"] == "run_created"
        fresh.list_steps(run_id, limit=10_000)
        fresh.list_hooks(limit=10_000)
        fresh.list_waits(run_id)
        # the next write rolls the last event forward; then journal and projection agree
        fresh.create_event(
            run_id,
            "step_created",
            correlation_id=f"step_check_{round_no}",
            event_data={"stepName": "s"},
        )
        assert_projection_matches_journal(fresh, store, run_id)
    assert len(world.list_events(run_id).data) > 2 * ROUNDS


def test_token_uniqueness_survives_kills(world, store):
    """4 processes fight over 5 tokens (create/dispose) and are SIGKILLed, several rounds."""
    runs = [new_run(world) for _ in range(4)]
    rng = random.Random(99)
    for _ in range(4):
        procs = [spawn("tokens", str(store), run_id) for run_id in runs]
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.25))
        for p in procs:
            p.kill()
            p.wait()
        assert_all_json_valid(store)
        holders = collections.defaultdict(list)
        for run_id in runs:
            _, state = journal_state(store, run_id)
            for hook in state.hooks.values():
                holders[hook["token"]].append((run_id, hook["hookId"]))
        for token, owners in holders.items():
            assert len(owners) == 1, (token, owners)  # one live hook per token, ever
            claim = world._claims.read(token)  # claimed before the commit, so never behind
            assert (claim["runId"], claim["hookId"]) == owners[0]


def test_roll_forward_of_a_lost_projection(world, store):
    run_id = new_run(world)
    world.create_event(
        run_id, "step_created", correlation_id="step_a", event_data={"stepName": "s"}
    )
    last = world.create_event(run_id, "step_started", correlation_id="step_a").event
    # the state a crash right after the journal fsync leaves: no step update, no event file
    (store / "events" / f"{run_id}-{last['eventId']}.json").unlink()
    step_file = store / "steps" / f"{run_id}-step_a.json"
    step_file.unlink()
    other = open_world(store)
    assert other.list_events(run_id).data[-1] == last  # committed: visible already
    other.create_event(
        run_id, "step_completed", correlation_id="step_a", event_data={"result": b"r"}
    )
    assert_projection_matches_journal(other, store, run_id)
    assert read(step_file)["attempt"] == 1


def test_roll_forward_of_hook_and_terminal_events(world, store):
    run_id = new_run(world)
    created = world.create_event(
        run_id, "hook_created", correlation_id="hook_a", event_data={"token": "tk"}
    )
    (store / "events" / f"{run_id}-{created.event['eventId']}.json").unlink()
    (store / "hooks" / "hook_a.json").unlink()
    open_world(store).create_event(
        run_id,
        "wait_created",
        correlation_id="wait_a",
        event_data={"resumeAt": "2099-01-01T00:00:00.000Z"},
    )
    assert world.get_hook("hook_a") == created.hook
    ended = world.create_event(run_id, "run_completed", event_data={"output": b""})
    # crash before the deletions and the event file: roll-forward redoes them
    (store / "events" / f"{run_id}-{ended.event['eventId']}.json").unlink()
    (store / "hooks" / "hook_a.json").write_text(json.dumps({"stale": True}))
    other = open_world(store)
    other.reproject_run(run_id)
    assert_projection_matches_journal(other, store, run_id)
    assert not (store / "hooks" / "hook_a.json").exists()
    assert not list((store / "waits").glob("*.json"))


def test_torn_journal_line_is_ignored_then_truncated(world, store):
    run_id = new_run(world)
    journal = store.with_name(store.name + ".wfctl") / "journal" / f"{run_id}.jsonl"
    with open(journal, "ab") as f:
        f.write(b'{"eventType":"step_created","specVersion":3,"corr')  # a write cut by kill -9
    reader = open_world(store)
    assert [e["eventType"] for e in reader.list_events(run_id).data] == [
        "run_created",
        "run_started",
    ]
    reader.create_event(
        run_id, "step_created", correlation_id="step_a", event_data={"stepName": "s"}
    )
    assert journal.read_bytes().count(b"\n") == 3
    assert_projection_matches_journal(reader, store, run_id)
    assert [e["eventType"] for e in world.list_events(run_id).data][-1] == "step_created"


def test_lost_journal_is_rebuilt_from_event_files(world, store):
    run_id = new_run(world)
    world.create_event(
        run_id, "step_created", correlation_id="step_a", event_data={"stepName": "s"}
    )
    world.create_event(run_id, "step_started", correlation_id="step_a")
    before = world.list_events(run_id).data
    (store.with_name(store.name + ".wfctl") / "journal" / f"{run_id}.jsonl").unlink()
    other = open_world(store)
    assert other.list_events(run_id).data == before
    assert (store.with_name(store.name + ".wfctl") / "journal" / f"{run_id}.jsonl").exists()
    other.create_event(
        run_id, "step_completed", correlation_id="step_a", event_data={"result": b"1"}
    )
    assert_projection_matches_journal(other, store, run_id)
