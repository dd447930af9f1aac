"""Human output for entity lists.

On a terminal: a borderless table that fits the terminal (80 columns and up). Id columns are
never broken or shortened (a user copies them); other columns are cut with an ellipsis, and
some only appear with ``--wide``. Not a terminal: plain tab-separated rows, one per line, no
header, no colour, every column (the ``--wide`` set) — for ``cut``, ``awk`` and ``grep``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from wfctl.cli.view import VIEW
from wfctl.engine.app import short_name

STATUS_STYLE = {
    "pending": "blue",
    "running": "blue",
    "completed": "green",
    "failed": "red",
    "cancelled": "yellow strike",
}


@dataclass
class Col:
    header: str
    value: Callable[[dict[str, Any]], Any]
    is_id: bool = False  # never truncated, never wrapped
    wide_only: bool = False  # terminal tables show it only with --wide
    max_width: int | None = None  # terminal tables cut longer values
    style_status: bool = False


_view = VIEW


def status_text(status: str) -> str:
    style = STATUS_STYLE.get(status, "")
    return f"[{style}]{status}[/]" if style else status


def compact(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def short_time(iso: str | None) -> str:
    """'14:25:39' today, else '2026-12-01 14:25' (local time) — narrow tables only."""
    if not iso:
        return ""
    try:
        dt = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone()
    except ValueError:
        return iso
    if dt.date() == datetime.now().astimezone().date():
        return dt.strftime("%H:%M:%S")
    return dt.strftime("%Y-%m-%d %H:%M")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def tsv_field(value: Any) -> str:
    """One field of a tab-separated row: no tabs or newlines inside."""
    return _cell(value).replace("\t", " ").replace("\r", " ").replace("\n", " ")


def table(console: Console, title: str, cols: list[Col], rows: list[dict[str, Any]]) -> None:
    if not _view.tty:
        out = console.file
        for r in rows:
            out.write("\t".join(tsv_field(c.value(r)) for c in cols) + "\n")
        out.flush()
        return
    shown = [c for c in cols if _view.wide or not c.wide_only]
    values = [[_cell(c.value(r)) for c in shown] for r in rows]
    id_width = sum(
        max([len(c.header)] + [len(v[i]) for v in values]) + 1
        for i, c in enumerate(shown)
        if c.is_id
    )
    width = 10_000 if _view.wide else max(console.width, id_width + 8)
    t = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        header_style="bold",
    )
    for c in shown:
        if c.is_id or _view.wide:
            t.add_column(c.header, no_wrap=True, overflow="ignore", min_width=len(c.header))
        else:
            t.add_column(c.header, no_wrap=True, overflow="ellipsis", max_width=c.max_width)
    for v in values:
        cells = []
        for c, text in zip(shown, v, strict=True):
            cells.append(status_text(text) if c.style_status else text.replace("[", r"\["))
        t.add_row(*cells)
    Console(file=console.file, width=width, highlight=False, force_terminal=True).print(t)


def _when(key: str) -> Callable[[dict[str, Any]], str]:
    def get(r: dict[str, Any]) -> str:
        return short_time(r.get(key)) if _view.tty and not _view.wide else r.get(key) or ""

    return get


def runs_table(console: Console, runs: list[dict[str, Any]]) -> None:
    cols = [
        Col("runId", lambda r: r["runId"], is_id=True),
        Col("workflow", lambda r: short_name(r.get("workflowName", "?")), max_width=20),
        Col("status", lambda r: r["status"], style_status=True),
        Col("created", _when("createdAt")),
        Col("completed", _when("completedAt"), wide_only=True),
    ]
    table(console, "Runs", cols, runs)


def step_error_text(step: dict[str, Any]) -> str:
    """The step's error as 'Type: message' (the last line of its traceback when there is one)."""
    err = step.get("error")
    if not isinstance(err, dict):
        return ""
    stack = str(err.get("stack") or "").rstrip()
    last = stack.splitlines()[-1].strip() if stack else ""
    if last and not last.startswith(("File ", "at ", "Traceback")):
        return last
    return str(err.get("message") or "")


def steps_table(console: Console, steps: list[dict[str, Any]]) -> None:
    cols = [
        Col("stepId", lambda s: s["stepId"], is_id=True),
        Col("step", lambda s: short_name(s.get("stepName", "?")), max_width=16),
        Col("status", lambda s: s["status"], style_status=True),
        Col("try", lambda s: str(s.get("attempt", 0))),
        Col("started", _when("startedAt"), wide_only=True),
        Col("completed", _when("completedAt"), wide_only=True),
        Col("error", step_error_text),
    ]
    table(console, "Steps", cols, steps)


def events_table(console: Console, events: list[dict[str, Any]]) -> None:
    cols = [
        Col("eventId", lambda e: e["eventId"], is_id=True),
        Col("eventType", lambda e: e["eventType"]),
        Col("correlationId", lambda e: e.get("correlationId") or "", is_id=True),
        Col("createdAt", lambda e: e["createdAt"], wide_only=True),
    ]
    table(console, "Events", cols, events)


def hooks_table(console: Console, hooks: list[dict[str, Any]]) -> None:
    cols = [
        Col("hookId", lambda h: h["hookId"], is_id=True),
        Col("runId", lambda h: h["runId"], is_id=True),
        Col("token", lambda h: h["token"], is_id=True),
        Col("createdAt", _when("createdAt"), wide_only=True),
    ]
    table(console, "Hooks", cols, hooks)


def sleeps_table(console: Console, sleeps: list[dict[str, Any]]) -> None:
    cols = [
        Col("waitId", lambda s: s["correlationId"], is_id=True),
        Col("resumeAt", _when("resumeAt")),
        Col("completedAt", lambda s: _when("completedAt")(s) or "waiting"),
    ]
    table(console, "Sleeps", cols, sleeps)


def logs_lines(console: Console, lines: list[dict[str, Any]]) -> None:
    """``wfctl inspect logs``: one line per log line, source first."""
    for e in lines:
        who = "workflow" if e.get("source") == "workflow" else f"step {e.get('stepName')}"
        if e.get("source") == "step":
            who += f"#{e.get('attempt', 1)}"
        if not _view.tty:
            fields = [e.get("at", ""), who, e.get("level", ""), e.get("text", "")]
            console.file.write("\t".join(tsv_field(f) for f in fields) + "\n")
            continue
        style = "red" if e.get("level") in ("error", "warn") else "dim"
        console.print(
            f"[dim]{short_time(e.get('at'))}[/] [{style}]{who:<18}[/] ", end="", markup=True
        )
        console.print(e.get("text", ""), markup=False, highlight=False)
