"""Fault cases of the worker fleet on a real PostgreSQL server, with real worker processes and
real signals: a worker killed with SIGKILL, a worker paused past its lease (SIGSTOP/SIGCONT),
and the database restarted under running workers.

Leases are short here (WFCTL_LEASE_TTL=2 s) so takeovers happen within seconds.
"""

from __future__ import annotations

import signal
import time

from fleet_support import (
    FLEET_APP,
    assert_one_driver_at_a_time,
    check_logs,
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

TTL = "2"
ENV = {"WFCTL_LEASE_TTL": TTL, "WFCTL_RETRY_DELAY": "0.1"}


def _start(url: str, workflow: str, args_list: list[list]) -> list[str]:
    with open_world(url) as world:
        engine = Engine(world, App.load(FLEET_APP))
        return [engine.start(workflow, args, wait=False).run_id for args in args_list]


def _outputs(url: str, ids: list[str]) -> list:
    with open_world(url) as world:
        runs = [world.get_run(r) for r in ids]
    assert all(r["status"] == "completed" for r in runs), [(r["runId"], r["status"]) for r in runs]
    return [payload.decode(r["output"]) for r in runs]


def _all_done(url: str, ids: list[str]) -> bool:
    rows = sql(
        url, "SELECT count(*) FROM wfctl.runs WHERE run_id = ANY(%s) AND status = 'completed'", ids
    )
    return rows[0][0] == len(ids)


def _held_by(url: str, pid: int) -> set[str]:
    rows = sql(url, "SELECT run_id, owner FROM wfctl.run_leases WHERE owner IS NOT NULL")
    return {r for r, owner in rows if owner_pid(owner) == pid}


def _count(url: str, run_id: str, event_type: str) -> int:
    return sql(
        url,
        "SELECT count(*) FROM wfctl.events WHERE run_id = %s AND event_type = %s",
        run_id,
        event_type,
    )[0][0]


def _steps_done(url: str, run_id: str) -> int:
    return _count(url, run_id, "step_completed")


def test_kill9_worker_runs_taken_over_after_ttl(pg_url, tmp_path):
    ids = _start(pg_url, "slow", [[6, 250]] * 4)
    a = spawn_worker(pg_url, "--concurrency", "4", env=ENV, log=tmp_path / "a.log")
    b = None
    try:
        # A holds every run and has made progress on each
        wait_until(lambda: _held_by(pg_url, a.pid) == set(ids), 60, "worker A to hold every run")
        wait_until(lambda: all(_steps_done(pg_url, r) >= 1 for r in ids), 60, "progress under A")
        b = spawn_worker(pg_url, "--concurrency", "4", env=ENV, log=tmp_path / "b.log")
        time.sleep(0.5)  # B is up (and finds every run busy)
        a.kill()
        a.wait(10)
        killed_at = time.monotonic()
        wait_until(lambda: _all_done(pg_url, ids), 60, "worker B to finish every run")
        took = time.monotonic() - killed_at
    finally:
        stop(a)
        if b is not None:
            stop(b)
    assert _outputs(pg_url, ids) == [6] * len(ids)
    check_logs(pg_url, ids)
    intervals = lease_intervals(pg_url, ids)
    assert_one_driver_at_a_time(intervals)
    for run_id in ids:
        owners = [owner_pid(o) for _, o, *_ in intervals[run_id]]
        assert a.pid in owners and owners[-1] == b.pid, (run_id, owners)
        # A never released its lease: B got it only once it had expired
        a_last = [lv for lv in intervals[run_id] if owner_pid(lv[1]) == a.pid][-1]
        assert not a_last[4], f"{run_id}: the killed worker released its lease?"
    assert took < 30, f"takeover and completion took {took:.1f} s"
    assert "Traceback" not in (tmp_path / "b.log").read_text()


def test_sigstop_past_ttl_then_sigcont_is_fenced(pg_url, tmp_path):
    (run_id,) = _start(pg_url, "slowTagged", [[3, 1500]])
    a = spawn_worker(pg_url, env=ENV, log=tmp_path / "a.log")
    b = None
    try:
        # pause A in the middle of its second step
        wait_until(lambda: _steps_done(pg_url, run_id) >= 1, 60, "A's first step")

        def started(n: int) -> bool:
            return _count(pg_url, run_id, "step_started") >= n

        wait_until(lambda: started(2), 30, "A to start its second step")
        time.sleep(0.3)
        a.send_signal(signal.SIGSTOP)
        b = spawn_worker(pg_url, env=ENV, log=tmp_path / "b.log")
        # B takes over once A's lease expired, and re-runs the interrupted step (attempt 2)
        wait_until(lambda: _held_by(pg_url, b.pid) == {run_id}, 30, "B to take the lease over")
        wait_until(lambda: started(3), 30, "B to start the interrupted step again")
        a.send_signal(signal.SIGCONT)
        # A's step finishes now, while B still runs the same step: A's write must be fenced
        wait_until(lambda: _all_done(pg_url, [run_id]), 60, "the run to complete under B")
        time.sleep(0.5)
    finally:
        if a.poll() is None:
            a.send_signal(signal.SIGCONT)
        stop(a)
        if b is not None:
            stop(b)
    assert _outputs(pg_url, [run_id]) == [3]
    check_logs(pg_url, [run_id])
    # every recorded step result came from B from the interrupted step on: A's was rejected
    results = sql(
        pg_url,
        "SELECT correlation_id, doc FROM wfctl.events WHERE run_id = %s "
        "AND event_type = 'step_completed' ORDER BY seq",
        run_id,
    )
    assert len(results) == 3
    with open_world(pg_url) as world:
        steps = world.list_steps(run_id, limit=100, sort="asc").data
    pids = [payload.decode(s["output"])["pid"] for s in steps]
    assert pids[0] == a.pid and set(pids[1:]) == {b.pid}, pids
    intervals = lease_intervals(pg_url, [run_id])
    assert_one_driver_at_a_time(intervals)
    assert [owner_pid(o) for _, o, *_ in intervals[run_id]][:2] == [a.pid, b.pid]
    # A's heartbeat had renewed its lease while it ran (the lease outlived one TTL) ...
    _, _, acquired, a_end, released = intervals[run_id][0]
    assert not released and (a_end - acquired).total_seconds() > float(TTL), intervals
    # ... and B got it only after that expiry
    assert intervals[run_id][1][2] >= a_end
    a_log = (tmp_path / "a.log").read_text()
    assert "Traceback" not in a_log, a_log
    assert "Lost the lease" in a_log or "lease" in a_log, a_log


def test_database_restart_mid_run(pg_server, pg_url, tmp_path):
    ids = _start(pg_url, "slow", [[5, 200]] * 8)
    logs = [tmp_path / f"w{k}.log" for k in range(2)]
    workers = [spawn_worker(pg_url, "--concurrency", "4", env=ENV, log=log) for log in logs]
    try:
        wait_until(
            lambda: sum(_steps_done(pg_url, r) for r in ids) >= 8, 60, "progress before restart"
        )
        pg_server.restart("immediate")
        wait_until(lambda: _all_done(pg_url, ids), 90, "every run to complete after the restart")
    finally:
        for w in workers:
            stop(w)
    assert _outputs(pg_url, ids) == [5] * len(ids)
    check_logs(pg_url, ids)
    assert_one_driver_at_a_time(lease_intervals(pg_url, ids))

    def outage_lines(text: str) -> int:  # the world's retry or the worker's own back-off
        return sum(("unreachable" in ln or "unavailable" in ln) for ln in text.splitlines())

    for log in logs:
        text = log.read_text()
        assert "Traceback" not in text, text
        assert outage_lines(text) <= 1, text  # said once per worker, not per connection/write
    assert sum(outage_lines(log.read_text()) for log in logs) >= 1, "nobody noticed?"


def test_sigterm_hands_runs_over_without_waiting_for_the_ttl(pg_url, tmp_path):
    """A worker stopped with SIGTERM releases its leases and re-queues its runs: another worker
    continues them at once, although the lease TTL (30 s) has not passed."""
    env = {"WFCTL_LEASE_TTL": "30"}
    ids = _start(pg_url, "slow", [[8, 250]] * 3)
    a = spawn_worker(pg_url, "--concurrency", "4", env=env, log=tmp_path / "a.log")
    b = None
    try:
        wait_until(lambda: _held_by(pg_url, a.pid) == set(ids), 60, "worker A to hold every run")
        wait_until(lambda: all(_steps_done(pg_url, r) >= 1 for r in ids), 60, "progress under A")
        a.terminate()
        assert a.wait(15) == 0, (tmp_path / "a.log").read_text()
        assert not _held_by(pg_url, a.pid), "A left leases behind"
        b = spawn_worker(pg_url, "--concurrency", "4", env=env, log=tmp_path / "b.log")
        t0 = time.monotonic()
        wait_until(lambda: _all_done(pg_url, ids), 25, "worker B to finish every run")
        assert time.monotonic() - t0 < 25  # well before A's leases would have expired
    finally:
        stop(a)
        if b is not None:
            stop(b)
    assert _outputs(pg_url, ids) == [8] * len(ids)
    check_logs(pg_url, ids)
    intervals = lease_intervals(pg_url, ids)
    assert_one_driver_at_a_time(intervals)
    assert all(lv[4] for ls in intervals.values() for lv in ls), "a lease was not released"
    assert "Traceback" not in (tmp_path / "a.log").read_text()
