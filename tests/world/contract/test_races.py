"""Several real processes (and threads) writing one store at once, on every world."""

from __future__ import annotations

import collections
import threading

import pytest

from worlds import EntityConflictError, LeaseBusyError, open_world

from ..conftest import new_run, read_json_lines, spawn

PROCS = 5
IDS = 25


def _race(store, tmp_path, kind, run_ids):
    """Start one worker per run id, release them together, return their result lines."""
    go = tmp_path / f"go-{kind}"
    procs = [spawn("race", str(store), kind, run_id, str(go), str(IDS)) for run_id in run_ids]
    for p in procs:  # everyone is imported and waiting: maximise contention
        assert p.stdout.readline().strip() == "ready"
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.extend(read_json_lines(out))
    assert not [r for r in results if "error" in r], results
    return results


@pytest.mark.parametrize("kind", ["step", "wait", "hook"])
def test_processes_race_to_create_the_same_entity(world, store, tmp_path, kind):
    run_id = new_run(world)
    results = _race(store, tmp_path, kind, [run_id] * PROCS)
    winners = collections.Counter(r["i"] for r in results if "ok" in r)
    assert winners == {i: 1 for i in range(IDS)}
    assert sum(1 for r in results if r.get("conflict")) == IDS * (PROCS - 1)
    created = collections.Counter(
        e["correlationId"]
        for e in world.list_events(run_id).data
        if e["eventType"] == f"{kind}_created"
    )
    assert sorted(created) == sorted(f"{kind}_{i}" for i in range(IDS))
    assert set(created.values()) == {1}


def test_processes_race_for_the_same_hook_token(world, store, tmp_path):
    runs = [new_run(world) for _ in range(PROCS)]
    results = _race(store, tmp_path, "token", runs)
    by_token = collections.defaultdict(list)
    for r in results:
        by_token[r["i"]].append(r["ok"])
    for i in range(IDS):
        assert sorted(by_token[i]) == ["hook_conflict"] * (PROCS - 1) + ["hook_created"]
        hook = world.get_hook_by_token(f"shared-{i}")
        live = [h for h in world.list_hooks(limit=1000).data if h["token"] == f"shared-{i}"]
        assert [h["hookId"] for h in live] == [hook["hookId"]]
    # every journal agrees: one hook_created per token across all runs
    created = collections.Counter(
        e["eventData"]["token"]
        for run_id in runs
        for e in world.list_events(run_id).data
        if e["eventType"] == "hook_created"
    )
    assert created == {f"shared-{i}": 1 for i in range(IDS)}


def test_threads_race_in_one_process(world, store):
    run_id = new_run(world)
    outcomes = collections.Counter()
    lock = threading.Lock()

    def worker():
        # each thread opens its own world on the same directory, like separate components
        w = open_world(store)
        for i in range(IDS):
            try:
                w.create_event(
                    run_id,
                    "step_created",
                    correlation_id=f"step_{i}",
                    event_data={"stepName": "s", "input": b""},
                )
                key = "ok"
            except EntityConflictError:
                key = "conflict"
            with lock:
                outcomes[key] += 1
        w.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == {"ok": IDS, "conflict": IDS * 3}
    steps = world.list_steps(run_id, limit=100).data
    assert len(steps) == IDS


def test_pagination_while_another_process_appends(world, store):
    run_id = new_run(world)
    total = 300
    writer = spawn("append", str(store), run_id, str(total))
    seen, cursor = [], None
    while True:
        running = writer.poll() is None
        page = world.list_events(run_id, cursor=cursor, limit=7)
        seen.extend(page.data)
        cursor = page.cursor or cursor
        if not page.data and not running:
            break
    assert writer.wait() == 0, writer.stderr.read()
    full = world.list_events(run_id).data
    assert len(full) == total + 2
    assert [e["eventId"] for e in seen] == [e["eventId"] for e in full]
    assert seen == full


def test_lease_excludes_processes_and_is_taken_over_after_kill(world, store):
    run_id = new_run(world)
    # A dead holder's lease must come free: at once for flock, after the TTL for a lease row.
    holder = spawn("lease", str(store), run_id, env={"WFCTL_LEASE_TTL": "1"})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LeaseBusyError):
            with world.lease(run_id):
                pass
        with pytest.raises(LeaseBusyError):
            with world.lease(run_id, wait=0.2):
                pass
        holder.kill()  # SIGKILL: no release; flock dies with it, a lease row expires
        holder.wait()
        with world.lease(run_id, wait=30):
            other = open_world(store)
            with pytest.raises(LeaseBusyError):
                with other.lease(run_id):
                    pass
            other.close()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    with world.lease(run_id):  # released on exit
        pass


def test_lease_excludes_threads(world):
    run_id = new_run(world)
    entered = threading.Event()
    release = threading.Event()

    def hold():
        with world.lease(run_id):
            entered.set()
            release.wait(30)

    t = threading.Thread(target=hold)
    t.start()
    assert entered.wait(30)
    with pytest.raises(LeaseBusyError):
        with world.lease(run_id):
            pass
    release.set()
    t.join()
    with world.lease(run_id, wait=None):
        pass


def test_threads_share_one_world_instance(world):
    """One World used by many threads (the engine's step executor): same-run writes serialize,
    duplicates are refused once each, other runs proceed in parallel."""
    runs = [new_run(world) for _ in range(3)]
    outcomes = collections.Counter()
    lock = threading.Lock()

    def worker(seed: int) -> None:
        for i in range(IDS):
            run_id = runs[(i + seed) % len(runs)]
            try:
                world.create_events(
                    run_id,
                    [
                        ("step_created", f"step_{i}", {"stepName": "s", "input": b""}),
                        ("step_started", f"step_{i}", None),
                    ],
                )
                key = "ok"
            except EntityConflictError:  # step_started of a step another thread started
                key = "conflict"
            with lock:
                outcomes[key] += 1

    threads = [threading.Thread(target=worker, args=(0,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # every run got each of its steps created exactly once and started at least once
    for run_id in runs:
        events = world.list_events(run_id).data
        created = collections.Counter(
            e["correlationId"] for e in events if e["eventType"] == "step_created"
        )
        assert set(created.values()) == {1}
        ids = [e["eventId"] for e in events]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert sum(len(world.list_steps(r, limit=100).data) for r in runs) == IDS
