"""wfctl benchmark suite: ``make bench`` / ``python -m bench``.

For every workload (``bench/workloads.py``) × runtime (snapshot, replay) a fresh subprocess
(``python -m bench.one``) runs the workflow R times, each in a fresh data directory, and
reports per run: workflow time (completedAt − createdAt), wall time of ``engine.start``,
events in the log, snapshot bytes written (per save and per run), and its peak RSS. This
process collects the medians, prints a table and the growth section, and writes a JSON report
to ``bench/results/bench-<timestamp>.json``.

    python -m bench                     # full suite, 3 runs per row, fsync on
    python -m bench --quick             # CI-sized: N ≤ 50, 1 run per row
    python -m bench --only seq- --runtime snapshot --repeat 5
    python -m bench --headline --data-dir /mnt/disk/bench   # issue table + growth + CLI only
    python -m bench --headline --compare /tmp/wfctl-old     # the same rows for older code too

Every repetition is preceded by the fsync probe (one durable small append, ``bench/probe.py``)
in the same data directory, and the headline table divides the engine's per-step time by it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.report import growth, headline, render
from bench.runner import ROOT, run_row
from bench.workloads import GROWTH_KEYS, HEADLINE_KEYS, RUNTIMES, WORKLOADS, Workload

RESULTS = Path(__file__).resolve().parent / "results"
EXTRAS = {  # optional, written by others
    "vm": "bench.vm_bench",
    "world": "bench.world_bench",
    "postgres": "bench.postgres_bench",  # the Postgres column: per-step overhead, fleet runs/s
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per workload × runtime (default 3)")
    ap.add_argument(
        "--repeat-large",
        type=int,
        default=None,
        metavar="R",
        help="runs for rows with N ≥ 1000 (default: --repeat)",
    )
    ap.add_argument(
        "--quick", action="store_true", help="CI-sized subset: N ≤ 50, 1 run per row, no extras"
    )
    ap.add_argument(
        "--max-seconds",
        type=float,
        default=600.0,
        metavar="S",
        help="time budget per row; a row over it is recorded as skipped (default 600)",
    )
    ap.add_argument("--no-fsync", action="store_true", help="run the world with WFCTL_FSYNC=0")
    ap.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TEXT",
        help="only workloads whose key contains TEXT (repeatable)",
    )
    ap.add_argument(
        "--runtime", action="append", choices=RUNTIMES, default=[], help="only this runtime"
    )
    ap.add_argument("--no-extras", action="store_true", help="skip the VM / world micro-benchmarks")
    ap.add_argument(
        "--headline",
        action="store_true",
        help="only the issue-9 rows (sequential 10/50/200, Promise.all 50, 50 × 10 KB), the "
        "growth rows (N = 10/200/1000, both runtimes) and the CLI section",
    )
    ap.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="write the runs' data (and the fsync probe) under DIR (default: the system temp dir)",
    )
    ap.add_argument(
        "--compare",
        type=Path,
        default=None,
        metavar="DIR",
        help="also run every selected row (interleaved) with the wfctl code in DIR, e.g. "
        "`git archive OLD | tar -x -C DIR`: before/after in one run",
    )
    ap.add_argument("--no-cli", action="store_true", help="skip the whole-process CLI section")
    ap.add_argument(
        "--cli-count", type=int, default=7, metavar="K", help="starts per CLI command (default 7)"
    )
    ap.add_argument("--no-warmup", action="store_true", help="do not warm each row's process first")
    ap.add_argument(
        "--output", type=Path, default=None, help="report path (default bench/results/…)"
    )
    opts = ap.parse_args(argv)
    if opts.quick:
        opts.repeat = 1
        opts.repeat_large = 1
    if opts.repeat < 1:
        ap.error("--repeat must be ≥ 1")
    return opts


def _matches(key: str, only: list[str]) -> bool:
    keys = {w.key for w in WORKLOADS}
    # An exact key selects that row only (seq-10 is not seq-1000); other text is a substring.
    return any(key == s if s in keys else s in key for s in only)


def select(opts: argparse.Namespace) -> list[tuple[Workload, str]]:
    out = []
    growth_keys = set(GROWTH_KEYS.values())
    for wl in WORKLOADS:
        if opts.quick and not wl.quick:
            continue
        if opts.only and not _matches(wl.key, opts.only):
            continue
        for rt in opts.runtime or RUNTIMES:
            if opts.headline and not (
                (wl.key in HEADLINE_KEYS and rt == "snapshot") or wl.key in growth_keys
            ):
                continue
            out.append((wl, rt))
    return out


def run_extra(module: str, timeout: float) -> dict[str, Any] | None:
    path = ROOT / (module.replace(".", "/") + ".py")
    if not path.is_file():
        return None
    code = (
        "import json, sys\n"
        f"from {module} import run\n"
        "r = run()\n"
        "sys.stdout.write('\\n@@BENCH-JSON@@' + json.dumps(r, default=str) + '\\n')\n"
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    except subprocess.TimeoutExpired:
        return {"error": f"skipped (budget {timeout:.0f} s)"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("@@BENCH-JSON@@"):
            return json.loads(line[len("@@BENCH-JSON@@") :])
    return {"error": f"exit {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-1500:]}"}


def git_info() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--", "wfctl", "worlds")),
    }


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    t_start = time.monotonic()
    stamp = datetime.now(UTC)
    console = Console() if sys.stdout.isatty() else Console(width=160)
    jobs = select(opts)
    if not jobs:
        console.print("no workloads selected")
        return 2
    repeat_large = opts.repeat_large or opts.repeat

    from wfctl import __version__
    from wfctl.runtime.snapshot import checkpoint_every

    rows: list[dict[str, Any]] = []
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not sys.stdout.isatty(),
    )
    with progress:
        codes: list[Path | None] = [None] if opts.compare is None else [opts.compare, None]
        task = progress.add_task("bench", total=len(jobs) * len(codes))
        before: list[dict[str, Any]] = []
        for wl, rt in jobs:
            for code in codes:  # interleaved: old and new code see the same disk, same minute
                progress.update(
                    task, description=f"{wl.key} / {rt}" + (" (compare)" if code else "")
                )
                row = run_row(
                    wl,
                    rt,
                    repeat=repeat_large if wl.n >= 1000 else opts.repeat,
                    fsync=not opts.no_fsync,
                    max_seconds=opts.max_seconds,
                    warmup=not opts.no_warmup,
                    data_dir=opts.data_dir,
                    code=code,
                )
                (before if code else rows).append(row)
                progress.advance(task)
        extras: dict[str, Any] = {}
        cli: dict[str, Any] = {}
        if not opts.no_cli:
            from bench import cli_bench

            progress.update(task, description="CLI whole-process times")
            cli["this"] = cli_bench.run(opts.cli_count, opts.data_dir)
            if opts.compare is not None:
                cli["compare"] = cli_bench.run(opts.cli_count, opts.data_dir, opts.compare)
        if not opts.no_extras and not opts.quick and not opts.headline:
            for name, module in EXTRAS.items():
                progress.update(task, description=f"extra: {module}")
                res = run_extra(module, opts.max_seconds)
                if res is not None:
                    extras[name] = res

    path = opts.output or RESULTS / f"bench-{stamp.strftime('%Y%m%dT%H%M%SZ')}.json"
    import wasmtime

    report: dict[str, Any] = {
        "meta": {
            "timestamp": stamp.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "wfctl": __version__,
            "git": git_info(),
            "python": sys.version.split()[0],
            "wasmtime": getattr(wasmtime, "__version__", None) or _dist_version("wasmtime"),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "repeat": opts.repeat,
            "repeatLarge": repeat_large,
            "quick": opts.quick,
            "fsync": not opts.no_fsync,
            "maxSecondsPerRow": opts.max_seconds,
            "warmup": not opts.no_warmup,
            "snapshotEveryDefault": checkpoint_every(),
            "stepConcurrency": os.environ.get("WFCTL_STEP_CONCURRENCY", "8"),
            "dataDir": str(opts.data_dir) if opts.data_dir else tempfile.gettempdir(),
            "compare": str(opts.compare) if opts.compare else None,
            "path": str(path),
        },
        "rows": rows,
        "compareRows": before,
        "cli": cli,
        "growth": growth(rows),
        "extras": extras,
    }
    report["headline"] = headline(report)
    report["meta"]["totalSeconds"] = time.monotonic() - t_start
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    render(report, console)
    # a budget skip is a measurement; a failed workload is not
    return 1 if any(r["status"] in ("failed", "error") for r in rows) else 0


def _dist_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    sys.exit(main())
