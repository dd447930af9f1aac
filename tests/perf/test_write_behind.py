"""The journal-only hot path keeps its guarantees (issue 9), with real processes and `kill -9`.

While a process holds a run's lease, step events are committed by the journal append alone
(group-committed, without an fsync of their own) and their reference files are written behind
it. These tests kill the driving process at random moments -- with the projection held back for
the whole run, so every kill lands between the journal append and the projection, and with a
background projector flushing every few milliseconds, so kills also land mid-projection -- and
check that recovery (the next `wfctl worker`) loses no completed step and leaves reference
files equal to the journal's fold and shaped like the DevKit's own (tests/world/golden).
Racing processes, one of them writing behind under the lease, still create each step once.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from worlds import open_world
from worlds.local.files import loads
from worlds.rules import RunState

ROOT = Path(__file__).resolve().parents[2]
T_APP = ROOT / "tests" / "apps" / "t_engine"
GOLDEN = ROOT / "tests" / "world" / "golden"
RACER = Path(__file__).resolve().parent / "_racer.py"
N_STEPS = 30
STEP_MS = 15
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def shape(value):
    """Key order, types, date format and Uint8Array tags (as tests/world/test_shapes.py)."""
    if isinstance(value, dict):
        if value.get("__type") == "Uint8Array":
            return "<Uint8Array>"
        return [(k, shape(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [shape(v) for v in value]
    assert value is not None, "unset fields are omitted, never null"
    if isinstance(value, str):
        return "<date>" if DATE.match(value) else "<str>"
    return f"<{type(value).__name__}>"


def read(path: Path):
    return loads(path.read_bytes())


def golden(kind: str, pred) -> dict:
    return next(read(p) for p in sorted((GOLDEN / kind).glob("*.json")) if pred(read(p)))


def golden_event(kind: str) -> dict:
    return next(
        e for p in sorted((GOLDEN / "events").glob("*.json")) if (e := read(p))["eventType"] == kind
    )


def journal(data: Path, run_id: str) -> list[dict]:
    raw = (data.with_name(data.name + ".wfctl") / "journal" / f"{run_id}.jsonl").read_bytes()
    raw = raw[: raw.rfind(b"\n") + 1]  # a torn last line was never committed
    return [loads(line) for line in raw.splitlines()]


def wfctl(data: Path, *args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "wfctl.cli", "--data-dir", str(data), *args, "--app", str(T_APP)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        **kw,
    )


def assert_projection_is_the_journal(data: Path, run_id: str) -> None:
    """Reference files == the fold of the journal, and shaped like the DevKit's."""
    lines = journal(data, run_id)
    state = RunState(run_id)
    for line in lines:
        state.apply(line)
    files = {p.name: read(p) for p in (data / "events").glob(f"{run_id}-*.json")}
    expected = {
        f"{run_id}-{x['eventId']}.json": {k: v for k, v in x.items() if k != "_wfctl"}
        for x in lines
    }
    assert files == expected
    steps = {p.name: read(p) for p in (data / "steps").glob(f"{run_id}-*.json")}
    assert steps == {f"{run_id}-{k}.json": v for k, v in state.steps.items()}
    assert read(data / "runs" / f"{run_id}.json") == state.run
    for cid in state.steps:
        assert (data / ".locks" / "steps" / f"{run_id}-{cid}.created").exists()
        assert (data / ".locks" / "steps" / f"{run_id}-{cid}.terminal").exists()
    completed_step = golden("steps", lambda s: s["status"] == "completed" and "error" not in s)
    assert {json.dumps(shape(s)) for s in steps.values()} == {json.dumps(shape(completed_step))}

    def no_context(run: dict) -> dict:  # executionContext: wfctl's own fields, not a shape
        return {k: v for k, v in run.items() if k != "executionContext"}

    assert shape(no_context(state.run)) == shape(
        no_context(golden("runs", lambda r: r["status"] == "completed"))
    )
    for event in files.values():
        if event["eventType"] == "run_created":
            continue  # carries the engine's executionContext: not written behind, not a shape
        assert shape(event) == shape(golden_event(event["eventType"])), event["eventType"]


ROUNDS = [("60", 0), ("60", 1), ("0.005", 2), ("0.005", 3)]


@pytest.mark.parametrize(("delay", "round_"), ROUNDS, ids=[f"delay{d}-{r}" for d, r in ROUNDS])
def test_kill9_between_journal_append_and_projection(tmp_path: Path, delay: str, round_: int):
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    data = tmp_path / "data"
    run_id = "wrun_" + __import__("ulid").ULID().__str__()
    env = {"WFCTL_PROJECTION_DELAY": delay}
    proc = wfctl(
        data, "start", "slowSeq", str(N_STEPS), str(STEP_MS), "--run-id", run_id, "--json", env=env
    )
    target = rng.randint(1, N_STEPS - 5)
    context = f"delay {delay}, killed after {target}+ completed steps (seed {seed})"
    jpath = data.with_name(data.name + ".wfctl") / "journal" / f"{run_id}.jsonl"
    deadline = time.monotonic() + 60
    while not (
        jpath.exists()
        and sum(x["eventType"] == "step_completed" for x in journal(data, run_id)) >= target
    ):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.002)
    time.sleep(rng.uniform(0, STEP_MS / 1000))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, context
    before = journal(data, run_id)
    if delay == "60":  # the whole run was between its journal appends and their projection
        unprojected = [
            x for x in before if not (data / "events" / f"{run_id}-{x['eventId']}.json").exists()
        ]
        assert any(x["eventType"] == "step_completed" for x in unprojected), context
    for path in data.rglob("*.json"):
        json.loads(path.read_bytes())  # nothing half-written: temp + rename

    worker = wfctl(data, "worker", "--until-idle", "--json")
    out, err = worker.communicate(timeout=120)
    assert worker.returncode == 0, (context, err)

    after = journal(data, run_id)
    assert [x["eventId"] for x in after[: len(before)]] == [x["eventId"] for x in before], context
    kinds = Counter(x["eventType"] for x in after)
    assert kinds["step_created"] == kinds["step_completed"] == N_STEPS, (context, kinds)
    assert kinds["run_completed"] == 1, (context, kinds)
    created = Counter(x["correlationId"] for x in after if x["eventType"] == "step_created")
    assert set(created.values()) == {1}, context
    world = open_world(data)
    try:
        assert world.get_run(run_id)["status"] == "completed"
    finally:
        world.close()
    assert_projection_is_the_journal(data, run_id)


def test_racing_processes_create_each_step_once_while_one_writes_behind(tmp_path: Path):
    data = tmp_path / "data"
    world = open_world(data)
    run_id = world.create_event(
        None,
        "run_created",
        event_data={
            "deploymentId": "wfctl",
            "workflowName": "workflow//./w//f",
            "input": b"devl[[]]",
        },
    ).run["runId"]
    world.create_event(run_id, "run_started")
    go = tmp_path / "go"
    count = 40
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(RACER),
                str(data),
                run_id,
                str(go),
                str(count),
                *(["lease"] if i == 0 else []),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "WFCTL_PROJECTION_DELAY": "60"},
        )
        for i in range(4)
    ]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.extend(json.loads(line) for line in out.splitlines() if line.startswith("{"))
    winners = Counter(r["i"] for r in results if r["won"])
    assert winners == {i: 1 for i in range(count)}
    created = Counter(
        x["correlationId"] for x in journal(data, run_id) if x["eventType"] == "step_created"
    )
    assert created == {f"step_{i}": 1 for i in range(count)}
    # the lease holder flushed at release: every step has its reference files and lock file
    for i in range(count):
        assert (data / ".locks" / "steps" / f"{run_id}-step_{i}.created").exists()
        assert (data / "steps" / f"{run_id}-step_{i}.json").exists()
    files = {p.name for p in (data / "events").glob(f"{run_id}-*.json")}
    assert files == {f"{run_id}-{x['eventId']}.json" for x in journal(data, run_id)}
    world.close()
