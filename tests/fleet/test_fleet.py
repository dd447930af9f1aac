"""The fleet: 4 `wfctl worker` processes on one PostgreSQL database drive 200 runs that mix
sequential steps, Promise.all, retries, sleeps and hooks (payloads delivered by another
process). Every run completes with the right output, exactly one terminal event each, no
duplicate step_created, and — from the lease history — no run was ever driven by two workers
at once."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from fleet_support import (
    FLEET_APP,
    assert_one_driver_at_a_time,
    check_logs,
    expected_mix,
    lease_intervals,
    owner_pid,
    spawn_worker,
    sql,
    stop,
    wait_until,
)

from wfctl.engine.app import App
from wfctl.engine.engine import Engine
from wfctl.serde import payload
from worlds import open_world

N_RUNS = 200
N_WORKERS = 4
ENV = {"WFCTL_RETRY_DELAY": "0.2"}


def test_four_workers_two_hundred_runs(pg_url, tmp_path):
    with open_world(pg_url) as world:
        engine = Engine(world, App.load(FLEET_APP))
        ids = [engine.start("mix", [i], wait=False).run_id for i in range(N_RUNS)]
    n_hooks = sum(1 for i in range(N_RUNS) if i % 5 == 4)

    t0 = time.monotonic()
    logs = [tmp_path / f"worker{k}.log" for k in range(N_WORKERS)]
    workers = [spawn_worker(pg_url, "--concurrency", "4", env=ENV, log=log) for log in logs]
    resumer = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_resumer.py")), pg_url, str(n_hooks)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def finished() -> bool:
            rows = sql(
                pg_url,
                "SELECT count(*) FROM wfctl.runs WHERE status <> 'running' AND status <> 'pending'",
            )
            return rows[0][0] == N_RUNS

        wait_until(finished, 240, "every run to finish", every=0.25)
        elapsed = time.monotonic() - t0
        out, err = resumer.communicate(timeout=30)
        assert resumer.returncode == 0, err
        assert int(out) == n_hooks
    finally:
        stop(resumer)
        for w in workers:
            stop(w)
    print(f"fleet: {N_RUNS} runs on {N_WORKERS} workers in {elapsed:.1f} s")

    with open_world(pg_url) as world:
        for i, run_id in enumerate(ids):
            run = world.get_run(run_id)
            assert run["status"] == "completed", (i, run.get("error"))
            assert payload.decode(run["output"]) == expected_mix(i), i
    check_logs(pg_url, ids)

    intervals = lease_intervals(pg_url, ids)
    assert_one_driver_at_a_time(intervals)
    # no takeover happened: every lease was released by its holder before the next began
    unreleased = [(r, lv[0]) for r, ls in intervals.items() for lv in ls if not lv[4]]
    assert not unreleased, unreleased[:5]
    # the work was shared, and runs moved between workers (hooks, sleeps, retries)
    pids = Counter(owner_pid(lv[1]) for ls in intervals.values() for lv in ls)
    assert set(pids) == {w.pid for w in workers}, pids
    moved = sum(1 for ls in intervals.values() if len({lv[1] for lv in ls}) > 1)
    assert moved > 0
    for log in logs:
        text = log.read_text()
        assert "Traceback" not in text and "error" not in text.lower(), text
