"""Run one workload × runtime in a fresh subprocess (``bench.one``) and summarise its runs."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.workloads import Workload

ROOT = Path(__file__).resolve().parent.parent
GRACE_S = 10.0  # process start-up and warm-up on top of the row budget before the hard kill


def child_env(wl: Workload, *, fsync: bool) -> dict[str, str]:
    """The row's environment: fsync as asked, the workload's own settings, this checkout first."""
    env = dict(os.environ)
    for k in ("WORKFLOW_RUNTIME", "WFCTL_SNAPSHOT_EVERY"):  # the row decides these
        env.pop(k, None)
    env["WFCTL_FSYNC"] = "1" if fsync else "0"
    env.update(wl.env)
    env["PYTHONPATH"] = str(ROOT) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    return env


def run_row(
    wl: Workload,
    runtime: str,
    *,
    repeat: int,
    fsync: bool,
    max_seconds: float | None,
    warmup: bool = True,
    data_dir: Path | None = None,
    code: Path | None = None,
) -> dict[str, Any]:
    """Run one workload × runtime in a fresh ``bench.one`` process; ``code``: wfctl from there."""
    cmd = [sys.executable, "-m", "bench.one", wl.key, runtime, "--repeat", str(repeat)]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    if code is not None:
        cmd += ["--code", str(code)]
    if max_seconds is not None:
        cmd += ["--budget", str(max_seconds)]
    if not warmup:
        cmd.append("--no-warmup")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=child_env(wl, fsync=fsync),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = False
    try:
        out, err = proc.communicate(timeout=None if max_seconds is None else max_seconds + GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        killed = True
    elapsed = time.monotonic() - t0
    lines = []
    for line in out.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    reps = [x for x in lines if x.get("type") == "rep"]
    done = next((x for x in lines if x.get("type") == "done"), None)
    warm = next((x for x in lines if x.get("type") == "warmup"), None)
    row = summarise(wl, runtime, reps, repeat=repeat)
    row["code"] = "this" if code is None else str(code)
    rss = [x["peakRssKb"] for x in lines if "peakRssKb" in x]
    row["peakRssKb"] = max(rss) if rss else None
    row["warmupWallMs"] = warm["wallMs"] if warm else None
    row["rowSeconds"] = elapsed
    row["env"] = dict(wl.env)
    stopped = killed or bool(done and done.get("stoppedForBudget"))
    if not reps:
        if killed:
            row["status"] = "skipped (budget)"
        else:
            row["status"] = "error"
            row["error"] = f"bench.one exited {proc.returncode}: {err.strip()[-2000:]}"
    elif stopped and len(reps) < repeat:
        row["status"] = "partial (budget)"
    if proc.returncode not in (0, None) and not killed and "stderr" not in row:
        row["stderr"] = err.strip()[-2000:]
    return row


def _median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(
    wl: Workload, runtime: str, reps: list[dict[str, Any]], *, repeat: int
) -> dict[str, Any]:
    ok = [r for r in reps if r.get("status") == "completed" and "error" not in r]
    bad = [r for r in reps if r not in ok]
    row: dict[str, Any] = {
        "workload": wl.key,
        "label": wl.label,
        "workflow": wl.workflow,
        "args": wl.args,
        "n": wl.n,
        "runtime": runtime,
        "note": wl.note,
        "runsRequested": repeat,
        "runs": len(ok),
        "status": "ok" if ok and not bad else ("failed" if bad else "ok"),
    }
    if bad:
        row["error"] = bad[0].get("error") or bad[0].get("status")
        if bad[0].get("traceback"):
            row["traceback"] = bad[0]["traceback"]
    saves = [s for r in ok for s in r.get("snapshotSizes", [])]
    wf = _median([r.get("workflowMs") for r in ok])
    row["median"] = {
        "workflowMs": wf,
        "wallMs": _median([r["wallMs"] for r in ok]),
        "perStepMs": (wf / wl.n) if (wf is not None and wl.n) else None,
        "perStepWallMs": (_median([r["wallMs"] for r in ok]) / wl.n) if (ok and wl.n) else None,
        "events": _median([r["events"] for r in ok]),
        "snapshotSaves": _median([r["snapshotSaves"] for r in ok]),
        "snapshotBytesPerRun": _median([r["snapshotBytes"] for r in ok]),
        "snapshotBytesPerSave": _median(saves),
        "decodes": _median([r.get("decodes", 0) for r in ok]),
        "replays": _median([r.get("replays", 0) for r in ok]),
    }
    flows = [r["workflowMs"] for r in ok if r.get("workflowMs") is not None]
    row["workflowMsMin"] = min(flows) if flows else None
    row["workflowMsMax"] = max(flows) if flows else None
    row["probeMs"] = _median([r.get("probeMs") for r in reps])
    row["snapshotBytesPerSaveMax"] = max(saves) if saves else None
    row["reps"] = reps
    return row
