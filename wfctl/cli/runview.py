"""``wfctl inspect run`` for people: header, timeline with duration bars, what the run waits on,
and for a failed run the failing step's exception and traceback."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from wfctl.cli import render
from wfctl.engine.app import short_name
from wfctl.engine.timefmt import clock, duration
from wfctl.engine.timeline import Span, Tracker, describe_waiting, ms, step_failure_of

SYMBOL = {
    "completed": "[green]✓[/]",
    "failed": "[red]✗[/]",
    "retrying": "[yellow]↻[/]",
    "running": "[blue]→[/]",
    "pending": "[blue]·[/]",
    "waiting": "[yellow]⧗[/]",
    "received": "[green]✓[/]",
    "disposed": "[dim]–[/]",
    "conflict": "[red]✗[/]",
}


def step_failure(events: list[dict[str, Any]], span: Span, key: bytes | None) -> dict[str, Any]:
    """{name, message, stack} of a failed step, from its step_failed event."""
    err, data = step_failure_of(events, span.id, key)
    if err is not None:
        return {"name": err.name, "message": err.message, "stack": err.stack or ""}
    return {"name": "Error", "message": data.get("message", ""), "stack": data.get("stack", "")}


def bar(span: Span, t0: int, t1: int, width: int) -> str:
    """The span on a [t0, t1] scale: █ attempts that ended well or run, ▒ failed attempts,
    · waiting (between retries, in a sleep or for a hook)."""
    total = max(1, t1 - t0)

    def col(t: int) -> int:
        return min(width - 1, max(0, int((t - t0) * width / total)))

    cells = [" "] * width
    end = span.end_ms if span.end_ms is not None else t1
    for i in range(col(span.start_ms), col(end) + 1):
        cells[i] = "·" if span.kind == "step" else "█"
    if span.kind == "hook" and span.status == "waiting":
        for i in range(col(span.start_ms), width):
            cells[i] = "·"
    for a in span.attempts:
        a_end = a.end_ms if a.end_ms is not None else t1
        ch = "▒" if a.outcome in ("retrying", "failed") else "█"
        for i in range(col(a.start_ms), col(a_end) + 1):
            cells[i] = ch
    return "".join(cells).rstrip()


def print_run(
    con: Console,
    doc: dict[str, Any],
    events: list[dict[str, Any]],
    key: bytes | None,
    *,
    decrypt: bool,
) -> None:
    tracker = Tracker()
    tracker.feed(events)
    status = doc["status"]
    con.print(
        f"[bold]{doc['runId']}[/]  {escape(short_name(doc['workflowName']))}  {render.status_text(status)}"
    )
    t0 = ms(doc.get("startedAt") or doc.get("createdAt")) or 0
    t1 = ms(doc.get("completedAt")) or max(
        [t0] + [ms(e["createdAt"]) or 0 for e in events] + [_now()]
    )
    facts = [f"created {clock(ms(doc.get('createdAt')))}"]
    if doc.get("startedAt"):
        facts.append(f"started {clock(ms(doc['startedAt']))}")
    if doc.get("completedAt"):
        facts.append(f"ended {clock(ms(doc['completedAt']))}")
        facts.append(f"took {duration(t1 - t0)}")
    con.print("  " + " · ".join(facts))
    con.print(f"  {doc['eventCount']} events · snapshot {doc.get('snapshotBytes') or 0} B")
    con.print(f"  input:  {escape(render.compact(doc.get('input'), 200))}")
    if "output" in doc and status == "completed":
        con.print(f"  output: {escape(render.compact(doc.get('output'), 200))}")

    spans = tracker.ordered()
    if spans:
        width = max(10, min(40, con.width - 48))  # 80 columns: label, time, bar, "N retries"
        con.print()
        con.print(f"[bold]Timeline[/]  [dim]{clock(t0)} → {clock(t1)} ({duration(t1 - t0)})[/]")
        for s in spans:
            label = s.name if s.kind != "hook" else f"hook {s.name}"
            if s.kind == "step" and s.retries:
                label += f" ×{len(s.attempts)}"
            if s.kind == "sleep" and s.resume_at_ms:
                label = f"sleep→{clock(s.resume_at_ms)}"
            label = label if len(label) <= 18 else label[:17] + "…"
            took = duration((s.end_ms or t1) - s.start_ms)
            note = ""
            if s.kind == "step" and s.retries:
                plural = "retry" if s.retries == 1 else "retries"
                note = f" [yellow]{s.retries} {plural}[/]"
            con.print(
                f"  {SYMBOL.get(s.status, ' ')} {escape(label):<18} {took:>7}  "
                f"[cyan]{bar(s, t0, t1, width)}[/]{note}",
                highlight=False,
            )

    waiting = tracker.waiting_on()
    if waiting and status not in ("completed", "failed", "cancelled"):
        con.print()
        for item in waiting:
            con.print(f"[yellow]waiting on {escape(describe_waiting(item))}[/]")
        hooks = [w for w in waiting if w["kind"] == "hook"]
        if hooks:
            con.print(f"  continue: wfctl hook resume {escape(hooks[0]['token'])} [PAYLOAD_JSON]")

    if status == "failed":
        con.print()
        failing = tracker.failing_step()
        show_key = key if decrypt else None
        if failing is not None:
            info = step_failure(events, failing, show_key)
            plural = "retry" if failing.retries == 1 else "retries"
            con.print(
                f"[bold red]failed at step {escape(failing.name)}[/] "
                f"(attempt {len(failing.attempts)}, {failing.retries} {plural})"
            )
        else:
            err = doc.get("error") or {}
            info = {
                "name": err.get("name", "Error"),
                "message": err.get("message", ""),
                "stack": err.get("stack", ""),
            }
            con.print("[bold red]the workflow failed[/]")
        con.print(f"  [red]{escape(str(info['name']))}: {escape(str(info['message']))}[/]")
        for line in str(info.get("stack") or "").splitlines():
            con.print("  " + line, markup=False, highlight=False)


def _now() -> int:
    import time

    return int(time.time() * 1000)
