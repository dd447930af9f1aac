"""Human output: rich tables for runs, steps, events, hooks, sleeps."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from wfctl.engine.app import short_name

STATUS_STYLE = {
    "pending": "blue",
    "running": "blue",
    "completed": "green",
    "failed": "red",
    "cancelled": "yellow strike",
}


def status_text(status: str) -> str:
    style = STATUS_STYLE.get(status, "")
    return f"[{style}]{status}[/]" if style else status


def compact(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def table(console: Console, title: str, columns: list[str], rows: list[list[Any]]) -> None:
    t = Table(title=title, title_justify="left", show_lines=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*[x if isinstance(x, str) else compact(x) for x in r])
    console.print(t)


def runs_table(console: Console, runs: list[dict[str, Any]]) -> None:
    rows = [
        [
            r["runId"],
            short_name(r.get("workflowName", "?")),
            status_text(r["status"]),
            r.get("createdAt", ""),
            r.get("completedAt", ""),
        ]
        for r in runs
    ]
    table(console, "Runs", ["runId", "workflow", "status", "createdAt", "completedAt"], rows)


def steps_table(console: Console, steps: list[dict[str, Any]]) -> None:
    rows = [
        [
            s["stepId"],
            short_name(s.get("stepName", "?")),
            status_text(s["status"]),
            str(s.get("attempt", 0)),
            s.get("startedAt", ""),
            s.get("completedAt", ""),
        ]
        for s in steps
    ]
    table(
        console, "Steps", ["stepId", "step", "status", "attempt", "startedAt", "completedAt"], rows
    )


def events_table(console: Console, events: list[dict[str, Any]]) -> None:
    rows = [
        [e["eventId"], e["eventType"], e.get("correlationId", ""), e["createdAt"]] for e in events
    ]
    table(console, "Events", ["eventId", "eventType", "correlationId", "createdAt"], rows)


def hooks_table(console: Console, hooks: list[dict[str, Any]]) -> None:
    rows = [[h["hookId"], h["runId"], h["token"], h.get("createdAt", "")] for h in hooks]
    table(console, "Hooks", ["hookId", "runId", "token", "createdAt"], rows)


def sleeps_table(console: Console, sleeps: list[dict[str, Any]]) -> None:
    rows = [
        [s["correlationId"], s.get("resumeAt", ""), s.get("completedAt") or "waiting"]
        for s in sleeps
    ]
    table(console, "Sleeps", ["waitId", "resumeAt", "completedAt"], rows)
