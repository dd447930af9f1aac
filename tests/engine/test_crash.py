"""Crash safety and concurrent workers (SPEC §8), with real processes and `kill -9`.

A process killed at any point loses no completed step and corrupts no file; the next
`wfctl worker` finishes the run; steps are at-least-once, their recorded completion exactly
once. Several workers on one data directory never write two `step_created` for one
correlation id and never drive one run at once.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from engine_support import (
    T_APP,
    all_json_files_parse,
    assert_no_duplicate_creation,
    check_cli,
    events,
    journal_lines_parse,
    json_lines,
    new_run_id,
    one_json,
    output_of,
)

from worlds import open_world

N_STEPS = 24
STEP_MS = 50


def _spawn(data_dir: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "wfctl.cli", "--data-dir", str(data_dir), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def _wait_for_file(path: Path, proc: subprocess.Popen, limit: float = 60.0) -> None:
    """Block until `path` exists (a guard against hanging, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while not path.exists():
        assert proc.poll() is None, (
            f"the process ended before {path.name} appeared: {proc.stderr.read()}"
        )
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, (
        f"the process was not killed (exit {proc.returncode})"
    )


def _started_mid_run(data_dir: Path, runtime: str, rng: random.Random) -> tuple[str, float]:
    """Start slowSeq in a subprocess, kill -9 it at a random moment while it runs steps."""
    run_id = new_run_id()
    proc = _spawn(
        data_dir,
        "start",
        "slowSeq",
        str(N_STEPS),
        str(STEP_MS),
        "--runtime",
        runtime,
        "--run-id",
        run_id,
        "--app",
        str(T_APP),
        "--json",
    )
    _wait_for_file(data_dir / "runs" / f"{run_id}.json", proc)
    delay = rng.uniform(0.0, N_STEPS * STEP_MS / 1000 * 0.8)
    time.sleep(delay)
    _kill(proc)
    return run_id, delay


def _check_recovered(data_dir: Path, run_id: str, before: list[dict], context: str) -> None:
    world = open_world(data_dir)
    try:
        assert output_of(world, run_id) == N_STEPS, context
        after = events(world, run_id)
        after_ids = {e["eventId"] for e in after}
        lost = [
            e["eventId"]
            for e in before
            if e["eventType"] == "step_completed" and e["eventId"] not in after_ids
        ]
        assert not lost, f"{context}: completed steps lost: {lost}"
        # every event that existed at the kill is still there, in the same order
        assert [e["eventId"] for e in after[: len(before)]] == [e["eventId"] for e in before], (
            context
        )
        assert_no_duplicate_creation(world, run_id)
        kinds = Counter(e["eventType"] for e in after)
        assert kinds["step_created"] == N_STEPS and kinds["step_completed"] == N_STEPS, (
            context,
            kinds,
        )
        assert kinds["run_completed"] == 1, (context, kinds)
        steps = world.list_steps(run_id, limit=1000).data
        assert len(steps) == N_STEPS and all(s["status"] == "completed" for s in steps), context
    finally:
        world.close()
    all_json_files_parse(data_dir)
    journal_lines_parse(data_dir)


def _events_now(data_dir: Path, run_id: str) -> list[dict]:
    world = open_world(data_dir)
    try:
        return events(world, run_id)
    finally:
        world.close()


@pytest.mark.parametrize("round_", range(3))
@pytest.mark.parametrize("runtime", ["snapshot", "replay"])
def test_kill9_mid_run_then_worker_finishes(runtime, round_, data_dir, cli):
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    run_id, delay = _started_mid_run(data_dir, runtime, rng)
    context = (
        f"{runtime} round {round_}: killed {delay:.3f}s after the run was created (seed {seed})"
    )
    all_json_files_parse(data_dir)  # nothing torn at the moment of the kill
    journal_lines_parse(data_dir)
    before = _events_now(data_dir, run_id)

    proc = check_cli(
        cli("--data-dir", str(data_dir), "worker", "--until-idle", "--app", str(T_APP), "--json"), 0
    )
    assert sum(p["finished"] for p in json_lines(proc)) >= 1, (context, proc.stdout)
    _check_recovered(data_dir, run_id, before, context)


@pytest.mark.parametrize("runtime", ["snapshot", "replay"])
def test_kill9_of_the_start_and_of_the_first_worker(runtime, data_dir, cli):
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    run_id, delay = _started_mid_run(data_dir, runtime, rng)
    before = _events_now(data_dir, run_id)

    worker = _spawn(data_dir, "worker", "--until-idle", "--app", str(T_APP))
    # wait until the worker has made progress of its own, then kill it too
    target = len(before) + 4
    deadline = time.monotonic() + 60
    while len(_events_now(data_dir, run_id)) < target and worker.poll() is None:
        assert time.monotonic() < deadline, "the worker made no progress"
        time.sleep(0.02)
    if worker.poll() is None:
        _kill(worker)
    all_json_files_parse(data_dir)
    journal_lines_parse(data_dir)

    check_cli(cli("--data-dir", str(data_dir), "worker", "--until-idle", "--app", str(T_APP)), 0)
    _check_recovered(
        data_dir, run_id, before, f"{runtime}: start killed after {delay:.3f}s (seed {seed})"
    )


def test_two_workers_on_one_data_dir(data_dir, cli):
    n_runs, steps = 6, 6
    ids = []
    for i in range(n_runs):
        runtime = "snapshot" if i % 2 else "replay"
        doc = one_json(
            check_cli(
                cli(
                    "--data-dir",
                    str(data_dir),
                    "start",
                    "slowSeq",
                    str(steps),
                    "20",
                    "--runtime",
                    runtime,
                    "--no-wait",
                    "--app",
                    str(T_APP),
                    "--json",
                ),
                0,
            )
        )
        assert doc["status"] == "pending"
        ids.append(doc["runId"])

    workers = [
        _spawn(data_dir, "worker", "--until-idle", "--concurrency", "3", "--app", str(T_APP))
        for _ in range(2)
    ]
    for w in workers:
        _, err = w.communicate(timeout=180)
        assert w.returncode == 0, err
        assert "Traceback" not in err, err

    world = open_world(data_dir)
    try:
        for run_id in ids:
            assert output_of(world, run_id) == steps
            assert_no_duplicate_creation(world, run_id)
            evs = events(world, run_id)
            kinds = Counter(e["eventType"] for e in evs)
            assert kinds["run_completed"] == 1 and kinds["run_started"] == 1, kinds
            assert kinds["step_created"] == steps and kinds["step_completed"] == steps, kinds
            # one driver at a time: no step was started twice
            started = Counter(e["correlationId"] for e in evs if e["eventType"] == "step_started")
            assert set(started.values()) == {1}, started
    finally:
        world.close()
    all_json_files_parse(data_dir)
    journal_lines_parse(data_dir)
