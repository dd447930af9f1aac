"""Render the benchmark report: the main table, the growth section, extra sections."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from bench.workloads import GROWTH_KEYS, HEADLINE_KEYS, RUNTIMES


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


def _row(rows: list[dict[str, Any]], key: str, rt: str = "snapshot") -> dict[str, Any] | None:
    r = next((r for r in rows if r["workload"] == key and r["runtime"] == rt), None)
    return r if r and r.get("runs") else None


def _span(r: dict[str, Any] | None) -> str:
    if r is None:
        return "—"
    m = r["median"]["workflowMs"]
    lo, hi = r.get("workflowMsMin"), r.get("workflowMsMax")
    if lo is None or hi is None or r["runs"] < 2:
        return _ms(m)
    return f"{_ms(m)} ({_ms(lo)}–{_ms(hi)})"


def _x(v: float | None) -> str:
    return "—" if v is None else f"×{v:.2f}"


def headline(report: dict[str, Any]) -> dict[str, Any]:
    """The issue-9 numbers: per-step time against the fsync probe, and the goal ratios."""
    rows, before = report["rows"], report.get("compareRows") or []
    out: dict[str, Any] = {"rows": {}, "ratios": {}}
    probes = [r["probeMs"] for r in rows if r.get("probeMs") is not None]
    out["probeMs"] = {
        "median": sorted(probes)[len(probes) // 2] if probes else None,
        "min": min(probes, default=None),
        "max": max(probes, default=None),
    }
    for key in HEADLINE_KEYS:
        r, b = _row(rows, key), _row(before, key)
        if r is None and b is None:
            continue
        per = r["median"]["perStepMs"] if r else None
        probe = r.get("probeMs") if r else None
        out["rows"][key] = {
            "label": (r or b)["label"],
            "workflowMs": r["median"]["workflowMs"] if r else None,
            "perStepMs": per,
            "probeMs": probe,
            "perStepOverProbe": (per / probe) if (per and probe) else None,
            "beforeWorkflowMs": b["median"]["workflowMs"] if b else None,
            "afterOverBefore": (
                r["median"]["workflowMs"] / b["median"]["workflowMs"] if (r and b) else None
            ),
        }

    def ratio(a: str, z: str) -> float | None:
        ra, rz = _row(rows, a), _row(rows, z)
        if ra is None or rz is None:
            return None
        return ra["median"]["workflowMs"] / rz["median"]["workflowMs"]

    out["ratios"] = {
        "all50OverSeq50": ratio("all-50", "seq-50"),
        "payload50OverSeq50": ratio("seq-payload-50", "seq-50"),
        "growth1000over10": {rt: g["ratio1000to10"] for rt, g in report["growth"].items()},
    }
    return out


def headline_table(report: dict[str, Any]) -> Table:
    h = report["headline"]
    compare = bool(report.get("compareRows"))
    t = Table(
        title="Issue 9: snapshot runtime, fsync on — workflow ms median (min–max), per step vs "
        "one fsync'd append measured just before each run",
        title_justify="left",
        header_style="bold",
    )
    t.add_column("workload")
    t.add_column("workflow ms", justify="right")
    t.add_column("ms/step", justify="right")
    t.add_column("probe ms", justify="right")
    t.add_column("step ÷ probe", justify="right")
    if compare:
        t.add_column("before ms", justify="right")
        t.add_column("after ÷ before", justify="right")
    for key, v in h["rows"].items():
        cells = [
            v["label"],
            _span(_row(report["rows"], key)),
            _ms(v["perStepMs"]),
            "—" if v["probeMs"] is None else f"{v['probeMs']:.3f}",
            _x(v["perStepOverProbe"]),
        ]
        if compare:
            cells += [_span(_row(report["compareRows"], key)), _x(v["afterOverBefore"])]
        t.add_row(*cells)
    return t


def cli_table(cli: dict[str, Any]) -> Table:
    from bench.cli_bench import TARGETS

    t = Table(
        title="Whole-process CLI time, ms: median (min–max) of fresh processes",
        title_justify="left",
        header_style="bold",
    )
    t.add_column("command")
    t.add_column("ms", justify="right")
    t.add_column("goal", justify="right")
    if "compare" in cli:
        t.add_column("before ms", justify="right")
    for name, v in cli["this"].items():
        cells = [
            name + ("" if v.get("exit", 0) == 0 else f" [red](exit {v['exit']})[/]"),
            f"{v['medianMs']:.0f} ({v['minMs']:.0f}–{v['maxMs']:.0f})",
            f"≤ {TARGETS[name]:.0f}" if name in TARGETS else "floor",
        ]
        if "compare" in cli:
            b = cli["compare"].get(name)
            cells.append(
                "—" if b is None else f"{b['medianMs']:.0f} ({b['minMs']:.0f}–{b['maxMs']:.0f})"
            )
        t.add_row(*cells)
    return t


def render_headline(report: dict[str, Any], console: Console) -> None:
    h = report.get("headline")
    if h and h["rows"]:
        console.print(headline_table(report))
        p, r = h["probeMs"], h["ratios"]
        if p["median"] is not None:
            console.print(
                f"fsync probe (one O_APPEND write + fsync of a ~200-byte line, in the data dir): "
                f"median {p['median']:.3f} ms over rows (min {p['min']:.3f}, max {p['max']:.3f})"
            )
        console.print(
            f"goals: step ÷ probe ≤ ×2 · Promise.all 50 ÷ sequential 50 = {_x(r['all50OverSeq50'])} "
            f"(≤ ×2) · 50 × 10 KB ÷ sequential 50 = {_x(r['payload50OverSeq50'])} (≤ ×2) · "
            "growth 1000/10: "
            + ", ".join(f"{rt} {_x(v)}" for rt, v in r["growth1000over10"].items())
            + " (snapshot ≤ ×1.2)"
        )
        console.print()
    if report.get("cli"):
        console.print(cli_table(report["cli"]))
        console.print()


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
    console.print()
    render_headline(report, console)
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
