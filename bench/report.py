"""Render the benchmark report: the main table, the growth section, extra sections."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from bench.workloads import GROWTH_KEYS, RUNTIMES


def _ms(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}" if v >= 10 else f"{v:,.2f}"


def _int(v: float | None) -> str:
    return "—" if v is None else f"{v:,.0f}"


def _kb(v: float | None) -> str:
    return "—" if not v else f"{v / 1024:,.0f} KiB" if v < 10 << 20 else f"{v / (1 << 20):,.1f} MiB"


def _mb(kb: float | None) -> str:
    return "—" if kb is None else f"{kb / 1024:,.0f}"


def growth(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-step overhead of N sequential steps at N = 10, 200, 1000, and the ratio 1000/10."""
    out: dict[str, Any] = {}
    for rt in RUNTIMES:
        per: dict[str, float | None] = {}
        for n, key in GROWTH_KEYS.items():
            row = next((r for r in rows if r["workload"] == key and r["runtime"] == rt), None)
            per[str(n)] = row["median"]["perStepMs"] if row and row.get("runs") else None
        lo, hi = per.get("10"), per.get("1000")
        ratio = (hi / lo) if (lo and hi) else None
        mid = per.get("200")
        out[rt] = {
            "perStepMs": per,
            "ratio1000to10": ratio,
            "ratio200to10": (mid / lo) if (lo and mid) else None,
        }
    return out


def main_table(rows: list[dict[str, Any]], title: str) -> Table:
    t = Table(title=title, title_justify="left", header_style="bold")
    t.add_column("workload")
    t.add_column("runtime")
    t.add_column("N", justify="right")
    t.add_column("workflow ms", justify="right")
    t.add_column("wall ms", justify="right")
    t.add_column("ms/step", justify="right")
    t.add_column("events", justify="right")
    t.add_column("snap saves", justify="right")
    t.add_column("bytes/save", justify="right")
    t.add_column("snap bytes/run", justify="right")
    t.add_column("peak RSS MB", justify="right")
    t.add_column("runs", justify="right")
    prev = None
    for r in rows:
        m = r["median"]
        label = r["label"] if r["workload"] != prev else ""
        if prev is not None and r["workload"] != prev:
            t.add_section()
        prev = r["workload"]
        if not r.get("runs"):
            status = r["status"] if r["status"] != "ok" else "no runs"
            t.add_row(
                label,
                r["runtime"],
                str(r["n"]),
                f"[red]{status}[/]",
                *["—"] * 6,
                _mb(r.get("peakRssKb")),
                f"0/{r['runsRequested']}",
            )
            continue
        runs = f"{r['runs']}/{r['runsRequested']}"
        if r["status"] != "ok":
            runs += f" [yellow]{r['status']}[/]"
        t.add_row(
            label,
            r["runtime"],
            str(r["n"]),
            _ms(m["workflowMs"]),
            _ms(m["wallMs"]),
            _ms(m["perStepMs"]),
            _int(m["events"]),
            _int(m["snapshotSaves"]) if r["runtime"] == "snapshot" else "—",
            _kb(m["snapshotBytesPerSave"]),
            _kb(m["snapshotBytesPerRun"]),
            _mb(r.get("peakRssKb")),
            runs,
        )
    return t


def growth_table(g: dict[str, Any]) -> Table:
    t = Table(
        title="Growth: per-step overhead (workflow ms / N) of N sequential steps",
        title_justify="left",
        header_style="bold",
    )
    t.add_column("runtime")
    for n in GROWTH_KEYS:
        t.add_column(f"N={n}", justify="right")
    t.add_column("ratio 200/10", justify="right")
    t.add_column("ratio 1000/10", justify="right")
    for rt, v in g.items():
        ratio = v["ratio1000to10"]
        t.add_row(
            rt,
            *[_ms(v["perStepMs"][str(n)]) for n in GROWTH_KEYS],
            "—" if v["ratio200to10"] is None else f"×{v['ratio200to10']:.2f}",
            "—" if ratio is None else f"×{ratio:.2f}",
        )
    return t


def extra_table(name: str, data: Any) -> Table:
    t = Table(title=f"Extra: {name}", title_justify="left", header_style="bold")
    if isinstance(data, dict) and "error" in data and len(data) <= 2:
        t.add_column("error")
        t.add_row(str(data["error"]))
        return t
    t.add_column("metric")
    t.add_column("value", justify="right")
    for k, v in _flatten(data):
        t.add_row(k, f"{v:,.3f}" if isinstance(v, float) else str(v))
    return t


def _flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(data, dict):
        out: list[tuple[str, Any]] = []
        for k, v in data.items():
            out.extend(_flatten(v, f"{prefix}{k}." if isinstance(v, dict) else f"{prefix}{k}"))
        return out
    return [(prefix.rstrip("."), data)]


def render(report: dict[str, Any], console: Console) -> None:
    meta = report["meta"]
    console.print(
        main_table(
            report["rows"],
            f"wfctl bench — medians of {meta['repeat']} run(s) per row"
            + (
                f" ({meta['repeatLarge']} for N ≥ 1000)"
                if meta["repeatLarge"] != meta["repeat"]
                else ""
            )
            + ", "
            f"fsync {'on' if meta['fsync'] else 'off'}",
        )
    )
    console.print(
        "[dim]workflow ms = run completedAt − createdAt; wall ms = engine.start (+ hook resumes); "
        "ms/step = workflow ms / N; events = events in the run's log; snap = snapshot saves / bytes "
        "written (compressed heap deltas), default policy unless the workload says otherwise; "
        "peak RSS = ru_maxrss of the row's process.\n"
        "[1] WFCTL_SNAPSHOT_EVERY=1: the heap is saved at every suspension (the default policy saves "
        "only when the run leaves the process, or every WFCTL_SNAPSHOT_EVERY=500 events).\n"
        "[2] default policy: the run leaves the process at each hook (heap saved) and a new drive "
        "restores it when the hook is resumed.[/]"
    )
    console.print()
    console.print(growth_table(report["growth"]))
    failed = [r for r in report["rows"] if r["status"] not in ("ok",)]
    if failed:
        console.print()
        console.print("[bold]Rows not fully measured:[/]")
        for r in failed:
            console.print(
                f"  {r['workload']} / {r['runtime']}: {r['status']}"
                + (f" — {r['error']}" if r.get("error") else "")
            )
    for name, data in report.get("extras", {}).items():
        console.print()
        console.print(extra_table(name, data))
    console.print()
    console.print(
        f"total bench wall time: {report['meta']['totalSeconds']:.1f} s; report: {report['meta']['path']}"
    )
