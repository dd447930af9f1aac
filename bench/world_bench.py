"""Benchmark of the filesystem world: event append latency and listing one run in a big store.

    python bench/world_bench.py

Measures, in a temporary directory on the same filesystem as ``$TMPDIR``:

- ``append_fsync_ms`` / ``append_nofsync_ms``: median wall time of one ``create_event``
  (``step_created`` on a running run) with fsync on (default) and with ``WFCTL_FSYNC=0``;
- ``list_1000_cold_ms``: median ``list_events`` of a 1,000-event run through a *new* world
  object (journal parsed from the file; OS page cache warm), while the store holds 100,000
  events of 1,000 other runs;
- ``list_1000_warm_ms``: the same through one long-lived world (journal cached in memory);
- ``scan_1000_ms``: for comparison, what a reference-style listing costs: ``listdir(events/)``
  over 101,000 files, keep the ``<runId>-`` prefix, read and parse those 1,000 files.

The 100,000 background events are written directly (journal lines + event files + run files,
produced by the world's own encoders, no entity projection, no fsync), which takes seconds
instead of the minutes the full write path would need; the listed run is written through the
real API with ``WFCTL_FSYNC=0``.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from worlds.local import LocalWorld  # noqa: E402
from worlds.local.files import dumps_pretty, loads  # noqa: E402
from worlds.local.ids import ULIDS, iso_from_ms, now_ms  # noqa: E402
from worlds.local.journal import encode_line  # noqa: E402

RUN_DATA = {"deploymentId": "wfctl", "workflowName": "workflow//./bench//f", "input": b"devl[[]]"}


def _world(root: Path, fsync: bool) -> LocalWorld:
    old = os.environ.get("WFCTL_FSYNC")
    os.environ["WFCTL_FSYNC"] = "1" if fsync else "0"
    try:
        return LocalWorld(root)
    finally:
        if old is None:
            del os.environ["WFCTL_FSYNC"]
        else:
            os.environ["WFCTL_FSYNC"] = old


def _new_run(world: LocalWorld) -> str:
    run_id = world.create_event(None, "run_created", event_data=RUN_DATA).run["runId"]
    world.create_event(run_id, "run_started")
    return run_id


def _append_median_ms(root: Path, fsync: bool, count: int) -> float:
    world = _world(root, fsync)
    run_id = _new_run(world)
    times = []
    for i in range(count):
        t0 = time.perf_counter()
        world.create_event(
            run_id,
            "step_created",
            correlation_id=f"step_{i}",
            event_data={"stepName": "step//./bench//s", "input": b"devl[1]"},
        )
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def _build_background(root: Path, runs: int, events_per_run: int) -> None:
    """Write runs x events_per_run events directly (journal + event files + run files)."""
    events_dir, journal_dir, runs_dir = (
        root / "events",
        root.with_name(root.name + ".wfctl") / "journal",
        root / "runs",
    )
    for d in (events_dir, journal_dir, runs_dir):
        d.mkdir(parents=True, exist_ok=True)
    ms = now_ms() - 3_600_000
    for _ in range(runs):
        run_id = f"wrun_{ULIDS.new(ms)}"
        created = iso_from_ms(ms)
        lines = []
        for j in range(events_per_run):
            ms += 1
            event = {
                "eventType": "run_created" if j == 0 else "step_created",
                "specVersion": 3,
                **({} if j == 0 else {"correlationId": f"step_{j}"}),
                "eventData": RUN_DATA if j == 0 else {"stepName": "s", "input": b"devl[1]"},
                "runId": run_id,
                "eventId": f"evnt_{ULIDS.new(ms)}",
                "createdAt": iso_from_ms(ms),
            }
            lines.append(encode_line(event))
            path = events_dir / f"{run_id}-{event['eventId']}.json"
            path.write_text(dumps_pretty(event))
        (journal_dir / f"{run_id}.jsonl").write_bytes(b"".join(lines))
        run = {"runId": run_id, "deploymentId": "wfctl", "status": "pending"}
        run |= {"workflowName": RUN_DATA["workflowName"], "specVersion": 3}
        (runs_dir / f"{run_id}.json").write_text(
            dumps_pretty(run | {"createdAt": created, "updatedAt": created})
        )


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def _scan(root: Path, run_id: str) -> list:
    prefix = f"{run_id}-"
    names = [n for n in os.listdir(root / "events") if n.startswith(prefix) and n.endswith(".json")]
    return [loads((root / "events" / n).read_bytes()) for n in names]


def run(append_count: int = 300, background_runs: int = 1000, events_per_run: int = 100) -> dict:
    with tempfile.TemporaryDirectory(prefix="wfctl-world-bench-") as tmp:
        tmp_path = Path(tmp)
        result = {
            "append_fsync_ms": _append_median_ms(tmp_path / "a", True, append_count),
            "append_nofsync_ms": _append_median_ms(tmp_path / "b", False, append_count),
        }
        big = tmp_path / "big"
        t0 = time.perf_counter()
        _build_background(big, background_runs, events_per_run)
        result["build_background_s"] = time.perf_counter() - t0
        writer = _world(big, fsync=False)
        target = _new_run(writer)
        for i in range(998):
            writer.create_event(
                target, "step_created", correlation_id=f"step_{i}", event_data={"stepName": "s"}
            )
        assert len(writer.list_events(target).data) == 1000
        assert len(os.listdir(big / "events")) == background_runs * events_per_run + 1000
        result["store_events"] = background_runs * events_per_run + 1000
        result["list_1000_cold_ms"] = _median_ms(
            lambda: _world(big, False).list_events(target), repeat=15
        )
        warm = _world(big, False)
        result["list_1000_warm_ms"] = _median_ms(lambda: warm.list_events(target), repeat=15)
        assert len(_scan(big, target)) == 1000
        result["scan_1000_ms"] = _median_ms(lambda: _scan(big, target), repeat=5)
        return result


if __name__ == "__main__":
    results = run()
    print(f"{'measure':<24}{'value':>12}")
    for key, value in results.items():
        print(f"{key:<24}{value:>12.3f}" if isinstance(value, float) else f"{key:<24}{value:>12}")
