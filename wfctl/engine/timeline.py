"""A run's story from its event log: steps (with every attempt), sleeps and hooks as spans, and
what the run waits on. Pure functions of the events, so the live view, ``inspect run --follow``,
``inspect run`` and the web UI tell the same story, whichever process drove the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

TERMINAL = {"run_completed": "completed", "run_failed": "failed", "run_cancelled": "cancelled"}


def ms(iso: str | None) -> int | None:
    if not iso:
        return None
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def iso(ms_value: int) -> str:
    dt = datetime.fromtimestamp(ms_value / 1000, UTC)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def short(name: str | None) -> str:
    text = str(name or "?")
    return text[text.rfind("//") + 2 :] if "//" in text else text


@dataclass
class Attempt:
    number: int
    start_ms: int
    end_ms: int | None = None
    outcome: str = "running"  # running | completed | retrying | failed
    message: str = ""
    error_type: str = ""  # the exception type the step raised (when the error is readable)
    retry_at_ms: int | None = None

    @property
    def duration_ms(self) -> int | None:
        return None if self.end_ms is None else self.end_ms - self.start_ms


@dataclass
class Span:
    kind: str  # step | sleep | hook
    id: str  # correlation id
    name: str  # step name, "sleep", or the hook token
    start_ms: int
    end_ms: int | None = None
    status: str = "pending"  # step: pending|running|retrying|completed|failed; sleep: waiting|
    #                          completed; hook: waiting|received|disposed|conflict
    attempts: list[Attempt] = field(default_factory=list)
    resume_at_ms: int | None = None  # sleep: when it ends; step: the next retry
    received: int = 0  # hook: payloads received

    @property
    def retries(self) -> int:
        return max(0, len(self.attempts) - 1)


@dataclass
class Happening:
    """One thing worth a line in a live view."""

    kind: str  # step_started | step_completed | step_retrying | step_failed | sleep | woke |
    #            hook_created | hook_received | hook_disposed | run_started | run_<terminal>
    span: Span | None
    at_ms: int
    attempt: Attempt | None = None
    event: dict[str, Any] | None = None


ErrorReader = Callable[[dict[str, Any]], tuple[str, str]]


def innermost(err: Any) -> Any:
    """'Step x failed after N retries' wraps what the step raised: that is the interesting one."""
    from wfctl.serde.values import JSError

    while (
        isinstance(err, JSError)
        and err.name == "FatalError"
        and err.message.startswith('Step "')
        and isinstance(err.cause, JSError)
    ):
        err = err.cause
    return err


def step_failure_of(
    events: list[dict[str, Any]], step_id: str, key: bytes | None
) -> tuple[Any, dict[str, Any]]:
    """(the innermost ``JSError`` a step failed with, or None when its payload cannot be
    decoded — e.g. encrypted and no key —; the ``eventData`` of its last ``step_failed``)."""
    from wfctl.serde import payload
    from wfctl.serde.values import JSError

    ev = next(
        (
            e
            for e in reversed(events)
            if e["eventType"] == "step_failed" and e.get("correlationId") == step_id
        ),
        None,
    )
    data = (ev or {}).get("eventData") or {}
    try:
        err = innermost(payload.decode(data.get("error"), key=key))
    except Exception:
        err = None
    return (err if isinstance(err, JSError) else None), data


def error_reader(key: bytes | None) -> ErrorReader:
    """(type, message) of a step_retrying/step_failed event's error, decoding it with ``key``."""
    from wfctl.serde import payload

    def read(data: dict[str, Any]) -> tuple[str, str]:
        try:
            err = innermost(payload.decode(data.get("error"), key=key))
        except Exception:  # encrypted without the key, or odd data: the plain text, if any
            return "", str(data.get("message") or "")
        name = str(getattr(err, "name", "") or "")
        message = getattr(err, "message", None)
        return name, str(message if message is not None else err)

    return read


class Tracker:
    """Folds events (in log order) into spans; ``feed`` returns the happenings they make."""

    def __init__(self, read_error: ErrorReader | None = None) -> None:
        self.read_error = read_error
        self.spans: dict[str, Span] = {}
        self.status = "pending"
        self.created_ms: int | None = None
        self.started_ms: int | None = None
        self.ended_ms: int | None = None
        self.workflow_name: str | None = None
        self.count = 0
        self.last_cursor: str | None = None

    def feed(self, events: list[dict[str, Any]]) -> list[Happening]:
        out: list[Happening] = []
        for ev in events:
            self.count += 1
            self.last_cursor = f"{ev['createdAt']}|{ev['eventId']}"
            h = self._one(ev)
            if h is not None:
                h.event = ev
                out.append(h)
        return out

    def _one(self, ev: dict[str, Any]) -> Happening | None:
        t = ev["eventType"]
        at = ms(ev["createdAt"]) or 0
        cid = ev.get("correlationId") or ""
        data = ev.get("eventData") or {}
        span = self.spans.get(cid)
        if t == "run_created":
            self.created_ms = at
            self.workflow_name = data.get("workflowName")
            return None
        if t == "run_started":
            self.started_ms = at
            self.status = "running"
            return Happening("run_started", None, at)
        if t in TERMINAL:
            self.status = TERMINAL[t]
            self.ended_ms = at
            for s in self.spans.values():  # a terminal run leaves nothing open
                if s.end_ms is None and s.kind != "step":
                    s.end_ms = at
            return Happening(t, None, at)
        if t == "step_created":
            self.spans[cid] = Span("step", cid, short(data.get("stepName")), at)
            return None
        if t == "wait_created":
            s = self.spans[cid] = Span("sleep", cid, "sleep", at, status="waiting")
            s.resume_at_ms = ms(data.get("resumeAt"))
            return Happening("sleep", s, at)
        if t == "hook_created":
            s = self.spans[cid] = Span(
                "hook", cid, str(data.get("token", "")), at, status="waiting"
            )
            return Happening("hook_created", s, at)
        if t == "hook_conflict":
            s = self.spans[cid] = Span("hook", cid, str(data.get("token", "")), at, at, "conflict")
            return Happening("hook_disposed", s, at)
        if span is None:
            return None
        if t == "step_started":
            a = Attempt(len(span.attempts) + 1, at)
            span.attempts.append(a)
            span.status = "running"
            span.resume_at_ms = None
            return Happening("step_started", span, at, a)
        if t in ("step_completed", "step_retrying", "step_failed"):
            a = span.attempts[-1] if span.attempts else Attempt(1, at)
            if not span.attempts:
                span.attempts.append(a)
            a.end_ms = at
            a.message = str(data.get("message") or "")
            if self.read_error is not None and t != "step_completed":
                a.error_type, a.message = self.read_error(data)
            if t == "step_completed":
                a.outcome = span.status = "completed"
                span.end_ms = at
            elif t == "step_failed":
                a.outcome = span.status = "failed"
                span.end_ms = at
            else:
                a.outcome = span.status = "retrying"
                a.retry_at_ms = span.resume_at_ms = ms(data.get("retryAfter"))
            return Happening(t, span, at, a)
        if t == "wait_completed":
            span.end_ms = at
            span.status = "completed"
            return Happening("woke", span, at)
        if t == "hook_received":
            span.received += 1
            span.status = "received"
            span.end_ms = at
            return Happening("hook_received", span, at)
        if t == "hook_disposed":
            span.status = "disposed"
            span.end_ms = span.end_ms or at
            return Happening("hook_disposed", span, at)
        return None

    # -- questions ----------------------------------------------------------------------

    def ordered(self) -> list[Span]:
        return sorted(self.spans.values(), key=lambda s: (s.start_ms, s.id))

    def waiting_on(self) -> list[dict[str, Any]]:
        """What a non-terminal run waits on, most actionable first."""
        if self.status in ("completed", "failed", "cancelled"):
            return []
        out: list[dict[str, Any]] = []
        for s in self.ordered():
            if s.kind == "hook" and s.status == "waiting":
                out.append({"kind": "hook", "token": s.name, "hookId": s.id})
        for s in self.ordered():
            if s.kind == "sleep" and s.status == "waiting":
                out.append({"kind": "timer", "waitId": s.id, "resumeAt": s.resume_at_ms})
            elif s.kind == "step" and s.status == "retrying":
                out.append(
                    {"kind": "retry", "stepId": s.id, "stepName": s.name, "at": s.resume_at_ms}
                )
            elif s.kind == "step" and s.status in ("pending", "running"):
                out.append({"kind": "step", "stepId": s.id, "stepName": s.name})
        return out

    def failing_step(self) -> Span | None:
        failed = [s for s in self.ordered() if s.kind == "step" and s.status == "failed"]
        return failed[-1] if failed else None


def tracker_for(events: list[dict[str, Any]]) -> Tracker:
    t = Tracker()
    t.feed(events)
    return t


def describe_waiting(item: dict[str, Any], now_ms: int | None = None) -> str:
    """One phrase for a ``waiting_on`` item: 'hook approve:1', 'timer until 12:00:05 (in 3s)'."""
    from wfctl.engine.timefmt import clock, relative

    kind = item["kind"]
    if kind == "hook":
        return f"hook {item['token']}"
    if kind == "timer":
        at = item.get("resumeAt")
        return f"timer until {clock(at)} ({relative(at, now_ms)})" if at else "timer"
    if kind == "retry":
        at = item.get("at")
        when = f" at {clock(at)} ({relative(at, now_ms)})" if at else ""
        return f"retry of step {item['stepName']}{when}"
    return f"step {item['stepName']}"
