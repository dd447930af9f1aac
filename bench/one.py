"""Run one workload × runtime, R times, in this (fresh) process; print one JSON line per run.

    python -m bench.one WORKLOAD_KEY RUNTIME [--repeat R] [--budget SECONDS] [--no-warmup]
                        [--data-dir DIR] [--code DIR]

Each repetition gets a fresh data directory under ``--data-dir`` (default: the system temp dir),
and right before it the fsync probe (``bench/probe.py``) runs in that same directory, so every
repetition carries the cost of one durable append measured on its disk at that moment.
``--code DIR`` runs the wfctl/worlds packages found in DIR instead of this checkout's (e.g. a
``git archive`` of an older commit: before/after numbers measured in the same bench run). Lines on stdout (flushed as they happen, so a
parent that kills this process on a time budget keeps the finished repetitions):

    {"type": "rep", "index": i, ...measurements..., "peakRssKb": ...}
    {"type": "done", "peakRssKb": ..., "stoppedForBudget": bool}

Environment (WFCTL_FSYNC, WFCTL_SNAPSHOT_EVERY, ...) is set by the parent before this starts:
the world and the snapshot runtime read it when they are created.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.probe import probe
from bench.workloads import APP_DIR, BY_KEY, Workload


def _ms(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


def peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def run_once(app: Any, wl: Workload, runtime: str, data_dir: Path) -> dict[str, Any]:
    from wfctl.engine.engine import Engine
    from wfctl.serde import payload
    from worlds import open_world

    world = open_world(data_dir)
    try:
        engine = Engine(world, app)
        saves: list[int] = []
        notes: list[str] = []
        invocations = []
        t0 = time.perf_counter()
        res = engine.start(wl.workflow, list(wl.args), runtime=runtime, wait=True)
        invocations.append(res.stats)
        notes.extend(res.notes)
        for i in range(wl.hooks):
            if res.status != "running":
                break
            res = engine.resume_hook(f"bench-hook-{i}", i)
            invocations.append(res.stats)
            notes.extend(res.notes)
        wall_ms = (time.perf_counter() - t0) * 1000
        for st in invocations:
            saves.extend(st.get("snapshotSizes") or [])
        run = world.get_run(res.run_id)
        events = world.list_events(res.run_id).data
        out: dict[str, Any] = {
            "status": run["status"],
            "wallMs": wall_ms,
            "events": len(events),
            "engineEventsWritten": sum(st.get("eventsWritten", 0) for st in invocations),
            "invocations": len(invocations),
            "snapshotSaves": len(saves),
            "snapshotSizes": saves,
            "snapshotBytes": sum(saves),
            "snapshotSources": sorted(
                {st["snapshotSource"] for st in invocations if "snapshotSource" in st}
            ),
            "runtimeUsed": sorted({st["runtime"] for st in invocations if "runtime" in st}),
            "decodes": sum(st.get("decodes", 0) for st in invocations),
            "replays": sum(st.get("replays", 0) for st in invocations),
            "notes": notes,
        }
        if run.get("completedAt"):
            out["workflowMs"] = _ms(run["completedAt"]) - _ms(run["createdAt"])
            out["startDelayMs"] = (
                _ms(run["startedAt"]) - _ms(run["createdAt"]) if run.get("startedAt") else None
            )
        if run["status"] == "completed":
            value = payload.decode(run["output"])
            if value != wl.expect:
                out["error"] = f"unexpected result {value!r} (expected {wl.expect!r})"
        else:
            err = run.get("error")
            detail = ""
            if err is not None:
                try:
                    detail = repr(payload.decode(err))[:500]
                except Exception:  # noqa: BLE001 - best effort
                    detail = repr(err)[:200]
            out["error"] = f"run ended {run['status']}" + (f": {detail}" if detail else "")
        return out
    finally:
        world.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.one")
    ap.add_argument("workload", choices=sorted(BY_KEY))
    ap.add_argument("runtime", choices=["snapshot", "replay"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--budget", type=float, default=None, help="stop starting repetitions past this (s)"
    )
    ap.add_argument("--no-warmup", action="store_true")
    ap.add_argument("--data-dir", type=Path, default=None, help="parent of the runs' data dirs")
    ap.add_argument("--code", type=Path, default=None, help="import wfctl/worlds from DIR")
    ap.add_argument("--probe-count", type=int, default=20, help="fsync probes before each run")
    opts = ap.parse_args(argv)
    if opts.code is not None:
        # bench.* is already imported from this checkout; only wfctl/worlds come from DIR.
        sys.path.insert(0, str(opts.code.resolve()))
    wl = BY_KEY[opts.workload]
    started = time.monotonic()

    def emit(obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    from wfctl.engine.app import App

    app = App.load(APP_DIR)
    if opts.data_dir is not None:
        opts.data_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="wfctl-bench-", dir=opts.data_dir))
    stopped = False
    try:
        if not opts.no_warmup:
            # Warm the process: wasm module load, the app's VM template, the steps import.
            t = time.perf_counter()
            run_once(app, BY_KEY["no-steps"], opts.runtime, tmp / "warmup")
            emit(
                {
                    "type": "warmup",
                    "wallMs": (time.perf_counter() - t) * 1000,
                    "peakRssKb": peak_rss_kb(),
                }
            )
            shutil.rmtree(tmp / "warmup", ignore_errors=True)
        last = 0.0
        for i in range(opts.repeat):
            elapsed = time.monotonic() - started
            if i and opts.budget is not None and elapsed + last > opts.budget:
                stopped = True
                break
            data = tmp / f"rep{i}"
            probed = probe(tmp, opts.probe_count) if opts.probe_count > 0 else None
            t = time.monotonic()
            try:
                rec = run_once(app, wl, opts.runtime, data)
            except Exception as exc:  # noqa: BLE001 - recorded in the report
                rec = {
                    "status": "error",
                    "error": f"{type(exc).__name__}: {exc}",
                    "traceback": traceback.format_exc(limit=8),
                }
            last = time.monotonic() - t
            rec.update(type="rep", index=i, peakRssKb=peak_rss_kb())
            if probed is not None:
                rec["probeMs"] = probed["medianMs"]
            emit(rec)
            shutil.rmtree(data, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    emit({"type": "done", "peakRssKb": peak_rss_kb(), "stoppedForBudget": stopped})
    return 0


if __name__ == "__main__":
    sys.exit(main())
