"""Live progress in the terminal: ``wfctl start`` / ``hook resume`` / ``worker`` (as an engine
observer) and ``wfctl inspect run --follow`` (from the run's events, for a run another process
drives). Both turn :class:`~wfctl.engine.timeline.Happening` s into one line each.

Progress lines go to stdout and only on a terminal (scripts see the unchanged output); log
lines go to stderr, marked with run and workflow, unless ``--quiet``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape

from wfctl.engine import hotpath
from wfctl.engine.observer import RunObserver
from wfctl.engine.runlogs import read_logs, real_stream
from wfctl.engine.timefmt import clock, duration, relative
from wfctl.engine.timeline import (
    Happening,
    Tracker,
    describe_waiting,
    error_reader,
    ms,
    short,
)
from worlds import World

TERMINAL = ("completed", "failed", "cancelled")


def now_ms() -> int:
    return int(time.time() * 1000)


class LineWriter:
    """Formats happenings and log lines; shared by the live observer and --follow."""

    def __init__(
        self,
        *,
        progress: bool,
        logs: bool,
        key_for: Callable[[str], bytes | None],
        prefix_runs: bool = False,
    ) -> None:
        self.progress = progress
        self.logs = logs
        self.key_for = key_for
        self.prefix_runs = prefix_runs  # the worker drives many runs: say which
        self.out = Console(file=real_stream("stdout"), highlight=False, soft_wrap=True)
        self.err = Console(file=real_stream("stderr"), highlight=False, soft_wrap=True)
        self.names: dict[str, str] = {}  # runId -> workflow short name
        self.lock = threading.Lock()

    def _say(self, run_id: str, at_ms: int, text: str) -> None:
        if not self.progress:
            return
        who = f"[cyan]{run_id}[/] " if self.prefix_runs else ""
        with self.lock:
            self.out.print(f"[dim]{clock(at_ms)}[/] {who}{text}")

    def happening(self, run_id: str, h: Happening) -> None:
        if not self.progress:
            return
        s, a = h.span, h.attempt
        name = escape(s.name) if s else ""
        if h.kind == "run_started":
            wf = self.names.get(run_id, "")
            self._say(run_id, h.at_ms, f"[bold]▶ run {run_id}[/] {escape(wf)} started")
        elif h.kind == "step_started" and a is not None:
            self._say(run_id, h.at_ms, f"  [blue]→[/] {name} #{a.number} started")
        elif h.kind == "step_completed" and a is not None:
            self._say(
                run_id, h.at_ms, f"  [green]✓[/] {name} #{a.number} {duration(a.duration_ms)}"
            )
        elif h.kind == "step_retrying" and a is not None:
            reason = escape(f"{a.error_type}: {a.message}" if a.error_type else a.message)
            when = (
                f"retry #{a.number + 1} at {clock(a.retry_at_ms)} ({relative(a.retry_at_ms)})"
                if a.retry_at_ms
                else f"retry #{a.number + 1}"
            )
            self._say(
                run_id,
                h.at_ms,
                f"  [yellow]↻[/] {name} #{a.number} failed after {duration(a.duration_ms)}: "
                f"{reason} — {when}",
            )
        elif h.kind == "step_failed" and a is not None:
            reason = escape(f"{a.error_type}: {a.message}" if a.error_type else a.message)
            self._say(run_id, h.at_ms, f"  [red]✗[/] {name} #{a.number} failed: {reason}")
        elif h.kind == "sleep" and s is not None:
            at = s.resume_at_ms
            self._say(run_id, h.at_ms, f"  [magenta]⏸[/] sleep until {clock(at)} ({relative(at)})")
        elif h.kind == "woke" and s is not None:
            self._say(
                run_id, h.at_ms, f"  [magenta]⏵[/] sleep over ({duration(h.at_ms - s.start_ms)})"
            )
        elif h.kind == "hook_created" and s is not None:
            self._say(run_id, h.at_ms, f"  [cyan]⚑[/] hook {name} created")
        elif h.kind == "hook_received" and s is not None:
            self._say(run_id, h.at_ms, f"  [cyan]⚑[/] hook {name} received a payload")
        elif h.kind.startswith("run_"):
            status = h.kind[4:]
            style = {"completed": "green", "failed": "red"}.get(status, "yellow")
            self._say(run_id, h.at_ms, f"[bold {style}]■ run {status}[/]")

    def log(self, entry: dict[str, Any]) -> None:
        if not self.logs:
            return
        run_id = entry.get("runId", "")
        wf = short(entry.get("workflowName"))
        where = f"{run_id} {wf}"
        if entry.get("source") == "step":
            where += f" › {entry.get('stepName')}#{entry.get('attempt', 1)}"
        style = "red" if entry.get("level") in ("warn", "error") else "dim"
        with self.lock:
            for line in str(entry.get("text", "")).splitlines() or [""]:
                self.err.print(f"[{style}]\\[{escape(where)}][/] {escape(line)}")

    def waiting(self, run_id: str, waiting: list[dict[str, Any]]) -> None:
        if not self.progress or not waiting:
            return
        now = now_ms()
        for item in waiting:
            hint = ""
            if item["kind"] == "hook":
                hint = f" — continue: wfctl hook resume {item['token']} [PAYLOAD_JSON]"
            elif item["kind"] in ("timer", "retry"):
                hint = " — continue: wfctl worker (or wfctl start waits for it in-process)"
            self._say(
                run_id,
                now,
                f"  [yellow]⧗ waiting on {escape(describe_waiting(item, now))}[/]{escape(hint)}",
            )


class LiveObserver(RunObserver):
    """The engine observer of an interactive CLI process."""

    def __init__(self, writer: LineWriter) -> None:
        self.w = writer
        self.trackers: dict[str, Tracker] = {}
        self.last_run: str | None = None
        self.announced: set[tuple[str, int]] = set()
        self.lock = threading.Lock()

    def _tracker(self, run_id: str) -> Tracker:
        with self.lock:
            t = self.trackers.get(run_id)
            if t is None:
                t = self.trackers[run_id] = Tracker(error_reader(self.w.key_for(run_id)))
            return t

    def run_events(self, run_id: str, events: list[dict[str, Any]]) -> None:
        self.last_run = run_id
        t = self._tracker(run_id)
        first = t.count == 0
        happenings = t.feed(events)
        if t.workflow_name:
            self.w.names[run_id] = short(t.workflow_name)
        if first:
            # The log so far is history: say where the run stands, not everything it did.
            done = sum(1 for s in t.spans.values() if s.kind == "step" and s.status == "completed")
            if t.count > 2:
                self.w._say(
                    run_id,
                    now_ms(),
                    f"[bold]▶ run {run_id}[/] {escape(self.w.names.get(run_id, ''))} resumed "
                    f"({t.count} events, {done} step(s) done)",
                )
            happenings = [h for h in happenings if h.kind == "run_started"] if t.count <= 2 else []
        for h in happenings:
            if h.kind == "step_started" and h.span and h.attempt:
                if (h.span.id, h.attempt.number) in self.announced:
                    continue
            self.w.happening(run_id, h)

    def step_submitted(self, run_id: str, step_id: str, step_name: str) -> None:
        t = self._tracker(run_id)
        span = t.spans.get(step_id)
        number = (len(span.attempts) if span else 0) + 1
        self.announced.add((step_id, number))
        self.w._say(run_id, now_ms(), f"  [blue]→[/] {escape(short(step_name))} #{number} started")

    def run_left(self, run: dict[str, Any], waiting: list[dict[str, Any]]) -> None:
        run_id = run["runId"]
        t = self._tracker(run_id)
        tail = run.get("status")
        if tail in TERMINAL and t.status not in TERMINAL:
            self.w.happening(
                run_id, Happening(f"run_{tail}", None, ms(run.get("completedAt")) or now_ms())
            )
        if tail not in TERMINAL:
            self.w.waiting(run_id, waiting)

    def log(self, entry: dict[str, Any]) -> None:
        self.w.log(entry)


# ---------------------------------------------------------------------------- --follow


def follow(
    world: World,
    run_id: str,
    writer: LineWriter,
    *,
    until_end: bool,
    key: bytes | None,
    history: Callable[[Tracker], None] | None = None,
    max_delay: float = 1.0,
) -> str:
    """Watch one run's events (and logs) until it ends — or, without ``until_end``, until it
    waits on a hook. Polls only this run's log after a cursor, backing off from 50 ms to
    ``max_delay`` while nothing happens. Returns the run status it stopped on, or "waiting"."""
    tracker = Tracker(error_reader(key))
    page = world.list_events(run_id)
    tracker.feed(page.data)
    writer.names[run_id] = short(tracker.workflow_name)
    if history is not None:
        history(tracker)
    logs, next_chunk, _ = read_logs(world, run_id, key)
    delay = 0.05
    quiet_polls = 0
    while True:
        if tracker.status in TERMINAL:
            return tracker.status
        waiting = tracker.waiting_on()
        on_hook = any(w["kind"] == "hook" for w in waiting) and not any(
            w["kind"] == "step" for w in waiting
        )
        if on_hook and not until_end and quiet_polls >= 1:
            writer.waiting(run_id, waiting)
            return "waiting"
        time.sleep(delay)
        page = world.list_events(run_id, cursor=tracker.last_cursor)
        new_logs, next_chunk, _ = read_logs(world, run_id, key, start=next_chunk)
        for entry in new_logs:
            writer.log(entry)
        if page.data:
            for h in tracker.feed(page.data):
                writer.happening(run_id, h)
            delay, quiet_polls = 0.05, 0
        else:
            delay = min(delay * 2, max_delay)
            quiet_polls += 1


def interrupted_message(world: World, run_id: str | None) -> list[str]:
    """What Ctrl-C left behind, and how to go on."""
    if run_id is None:
        return ["interrupted before a run was created"]
    try:
        run = world.get_run(run_id)
        events = world.list_events(run_id).data
    except Exception:
        return [f"interrupted; inspect the run with: wfctl inspect run {run_id}"]
    status = run["status"]
    if status in TERMINAL:
        return [f"interrupted; run {run_id} had already {status}"]
    t = Tracker()
    t.feed(events)
    lines = [
        f"interrupted: run {run_id} is left {status} (nothing is lost; it continues where it stopped)"
    ]
    waiting = t.waiting_on()
    for item in waiting:
        lines.append(f"  it waits on {describe_waiting(item)}")
    if not waiting:
        lines.append("  it is ready to go on (its last step finished)")
    hooks = [w["token"] for w in t.waiting_on() if w["kind"] == "hook"]
    if hooks:
        lines.append(f"continue it with: wfctl hook resume {hooks[0]} [PAYLOAD_JSON]")
    else:
        lines.append(
            "continue it with: wfctl worker   (or watch it: wfctl inspect run "
            + run_id
            + " --follow)"
        )
    return lines


def live_observer(st: Any) -> LiveObserver:
    """The observer of a CLI process: progress on a terminal (not with --json), logs unless
    --quiet. ``key_for`` is set by the caller once the engine exists."""
    return LiveObserver(
        LineWriter(progress=st.interactive, logs=not st.quiet, key_for=lambda _run_id: None)
    )


@contextmanager
def ctrl_c(err: Console, world: World, observer: RunObserver) -> Iterator[None]:
    """While a command drives a run: the first Ctrl-C stops after the running steps finish
    (they record their outcome); a second one leaves at once — a step cut short that way is
    simply retried by whoever drives the run next."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    presses = 0

    def handler(signum: int, frame: Any) -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            err.print(
                "stopping: steps already running finish first (Ctrl-C again to leave now; "
                "they will be retried)",
                markup=False,
            )
            if hotpath.defer_interrupt():  # a step runs on this thread: raised after it
                return
            raise KeyboardInterrupt
        for line in interrupted_message(world, getattr(observer, "last_run", None)):
            err.print(line, markup=False)
        err.file.flush()
        os._exit(130)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
