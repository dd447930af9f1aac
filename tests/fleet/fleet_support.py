"""Helpers of the worker-fleet tests: worker subprocesses, CPU use, the fixture app."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
FLEET_APP = TESTS / "apps" / "t_fleet"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def expected_mix(i: int, n: int | None = None) -> dict[str, int]:
    """The output of ``mix(i)`` (tests/apps/t_fleet/workflows.js); hooks get ``{n}``."""
    v = i + 1
    kind = i % 5
    if kind == 0:
        v += 3
    elif kind == 1:
        v = 3 * v + 6
    elif kind == 2:
        v += 2
    elif kind == 3:
        v += 1
    else:
        v = v + (1000 + i if n is None else n) + 1
    return {"i": i, "v": v}


def spawn_worker(
    world: str, *args: str, env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen:
    """``wfctl worker`` in its own process (stderr to ``log`` when given, else a pipe)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    stderr: Any = open(log, "ab") if log else subprocess.PIPE  # noqa: SIM115 - the child owns it
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wfctl.cli",
            "--world",
            world,
            "worker",
            "--app",
            str(FLEET_APP),
            *args,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=full_env,
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (and its reaped children) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLK_TCK


def wait_until(cond: Callable[[], Any], limit: float, what: str, every: float = 0.05) -> Any:
    """Poll ``cond`` until it returns something truthy (a guard against hangs, not a timing
    assertion)."""
    deadline = time.monotonic() + limit
    while True:
        got = cond()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out after {limit} s waiting for {what}"
        time.sleep(every)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# ------------------------------------------------------------------ checks on a Postgres world


def sql(url: str, query: str, *args: Any) -> list[tuple]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, args).fetchall()


def check_logs(url: str, run_ids: list[str]) -> None:
    """Every run: exactly one terminal event, no duplicate step_created, every created step
    finished exactly once."""
    rows = sql(
        url,
        """SELECT run_id,
                  count(*) FILTER (WHERE event_type IN ('run_completed','run_failed','run_cancelled')),
                  count(*) FILTER (WHERE event_type = 'step_created'),
                  count(DISTINCT correlation_id) FILTER (WHERE event_type = 'step_created'),
                  count(*) FILTER (WHERE event_type IN ('step_completed','step_failed'))
             FROM wfctl.events WHERE run_id = ANY(%s) GROUP BY run_id""",
        run_ids,
    )
    assert len(rows) == len(run_ids), "some runs have no events"
    for run_id, terminal, created, distinct, finished in rows:
        assert terminal == 1, f"{run_id}: {terminal} terminal events"
        assert created == distinct, f"{run_id}: duplicate step_created"
        assert finished == created, f"{run_id}: {created} steps created, {finished} finished"


def lease_intervals(url: str, run_ids: list[str]) -> dict[str, list[tuple]]:
    """run id -> [(epoch, owner, acquired_at, end, released)] in epoch order; ``end`` is the
    release time, or the last expiry of a lease its holder never released."""
    rows = sql(
        url,
        """SELECT run_id, epoch, owner, acquired_at, coalesce(released_at, expires_at),
                  released_at IS NOT NULL
             FROM wfctl.lease_history WHERE run_id = ANY(%s) ORDER BY run_id, epoch""",
        run_ids,
    )
    out: dict[str, list[tuple]] = {}
    for run_id, *rest in rows:
        out.setdefault(run_id, []).append(tuple(rest))
    return out


def assert_one_driver_at_a_time(intervals: dict[str, list[tuple]]) -> None:
    """Per run, epochs grow by one and each lease began only after the previous one ended
    (released, or expired on the database clock): never two holders at once."""
    for run_id, leases in intervals.items():
        for prev, nxt in zip(leases, leases[1:], strict=False):
            assert nxt[0] == prev[0] + 1, f"{run_id}: epochs {prev[0]} -> {nxt[0]}"
            assert nxt[2] >= prev[3], (
                f"{run_id}: epoch {nxt[0]} ({nxt[1]}) acquired at {nxt[2]} while epoch "
                f"{prev[0]} ({prev[1]}) held it until {prev[3]}"
            )


def owner_pid(owner: str) -> int:
    """The pid in a lease owner ``host:pid:nonce``."""
    return int(owner.split(":")[1])
