"""The vocabulary and rules every world shares (reference §2.4-§2.5). Pure: no IO.

Event types, statuses, terminal sets; :class:`RunState`, a run's entities folded from its events
in commit order; the transition checks (:func:`check_request`, :func:`check`); building the stored
event (:func:`build_line`, :func:`conflict_line`) and the :class:`~worlds.world.EventResult` of
a write (:func:`result_of`); and the ``"<createdAt ISO>|<id>"`` cursor helpers, which only
worlds use (cursors are opaque above the World interface).

Every decision (does the step exist, is this a duplicate, is the run terminal) is taken from the
fold of the committed events, never from derived rows or files: a projection left behind by a
crash can therefore never wedge a run.
"""

from __future__ import annotations

from . import entities as E
from .errors import (
    EntityConflictError,
    HookNotFoundError,
    InvalidTransitionError,
    RunExpiredError,
    RunNotFoundError,
    RunNotSupportedError,
    StepNotFoundError,
    TooEarlyError,
    WaitNotFoundError,
)
from .ids import ULIDS, iso_from_ms, ms_from_iso, now_ms, to_iso, ulid_time_ms
from .world import EventResult

SPEC_VERSION_CURRENT = 3

RUN_EVENTS = ("run_created", "run_started", "run_completed", "run_failed", "run_cancelled")
STEP_EVENTS = ("step_created", "step_started", "step_completed", "step_failed", "step_retrying")
HOOK_EVENTS = ("hook_created", "hook_received", "hook_disposed", "hook_conflict")
WAIT_EVENTS = ("wait_created", "wait_completed")
EVENT_TYPES = frozenset(RUN_EVENTS + STEP_EVENTS + HOOK_EVENTS + WAIT_EVENTS)
TERMINAL_RUN_EVENTS = frozenset(("run_completed", "run_failed", "run_cancelled"))
TERMINAL_STATUSES = frozenset(("completed", "failed", "cancelled"))
ERROR_EVENTS = frozenset(("run_failed", "step_failed", "step_retrying"))
# Events whose correlationId names the entity; run events have none.
ENTITY_EVENTS = frozenset(STEP_EVENTS + HOOK_EVENTS + WAIT_EVENTS)

RUN_STATUSES = ("pending", "running", "completed", "failed", "cancelled")
STEP_STATUSES = ("pending", "running", "completed", "failed")
WAIT_STATUSES = ("waiting", "completed")
# The reference schemas require an eventData object on these (even when empty).
DATA_REQUIRED = frozenset(
    (
        "run_created",
        "run_completed",
        "run_failed",
        "step_created",
        "step_completed",
        "step_failed",
        "step_retrying",
        "hook_created",
        "hook_received",
        "wait_created",
    )
)
PRIVATE_KEY = "_wfctl"  # per-event data only the world keeps (never handed out)

IDEMPOTENT = "idempotent"  # check() verdict: run_started on a running run, write nothing


class RunState:
    """Entities of one run as the journal says they are (entity dicts are never mutated)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.run: dict | None = None
        self.steps: dict[str, dict] = {}
        self.hooks: dict[str, dict] = {}  # live hooks
        self.hook_tokens: dict[str, str] = {}  # every hook ever created -> its token
        self.disposed: set[str] = set()
        self.waits: dict[str, dict] = {}  # by correlationId; dropped when the run ends
        self.wait_ids: set[str] = set()  # every wait ever created
        self.completed_waits: set[str] = set()
        self.last_event_id: str | None = None
        self.last_created_ms = 0
        self.count = 0

    def copy(self) -> RunState:
        """An independent working copy (entity dicts are shared: they are never mutated)."""
        other = RunState(self.run_id)
        other.run = self.run
        other.steps = dict(self.steps)
        other.hooks = dict(self.hooks)
        other.hook_tokens = dict(self.hook_tokens)
        other.disposed = set(self.disposed)
        other.waits = dict(self.waits)
        other.wait_ids = set(self.wait_ids)
        other.completed_waits = set(self.completed_waits)
        other.last_event_id = self.last_event_id
        other.last_created_ms = self.last_created_ms
        other.count = self.count
        return other

    @property
    def terminal(self) -> bool:
        return self.run is not None and self.run.get("status") in TERMINAL_STATUSES

    def apply(self, line: dict) -> None:
        """Fold one committed journal line. Tolerant: it never rejects what was committed."""
        kind = line.get("eventType")
        now = line.get("createdAt")
        corr = line.get("correlationId")
        data = line.get("eventData") if isinstance(line.get("eventData"), dict) else {}
        hint = (line.get("_wfctl") or {}).get("message")
        spec = line.get("specVersion")
        self.count += 1
        event_id = line.get("eventId")
        if isinstance(event_id, str) and (
            self.last_event_id is None or event_id > self.last_event_id
        ):
            self.last_event_id = event_id
        self.last_created_ms = max(self.last_created_ms, ms_from_iso(now) or 0)

        run = self.run
        if kind == "run_created":
            if run is None:
                self.run = E.run_created(self.run_id, data, now, spec)
        elif run is None:
            pass
        elif kind == "run_started":
            if run.get("status") == "pending":
                self.run = E.run_started(run, now)
        elif kind in TERMINAL_RUN_EVENTS:
            if not self.terminal:
                self._end_run(kind, data, hint, now)
        elif kind in STEP_EVENTS:
            self._apply_step(kind, corr, data, hint, now, spec)
        elif kind == "hook_created":
            if corr not in self.hook_tokens:
                hook = E.hook_created(self.run_id, corr, data, now, spec)
                self.hooks[corr] = hook
                self.hook_tokens[corr] = hook.get("token", "")
        elif kind == "hook_disposed":
            self.hooks.pop(corr, None)
            self.disposed.add(corr)
        elif kind == "wait_created":
            if corr not in self.wait_ids:
                self.waits[corr] = E.wait_created(self.run_id, corr, data, now, spec)
                self.wait_ids.add(corr)
        elif kind == "wait_completed":
            if corr in self.waits:
                self.waits[corr] = E.wait_completed(self.waits[corr], now)
            self.completed_waits.add(corr)

    def _end_run(self, kind: str, data: dict, hint: str | None, now: str) -> None:
        run = self.run
        assert run is not None
        if kind == "run_completed":
            self.run = E.run_terminal(run, "completed", now, output=data.get("output"))
        elif kind == "run_failed":
            self.run = E.run_terminal(run, "failed", now, error=E.run_error(data, hint))
        else:
            self.run = E.run_terminal(run, "cancelled", now)
        # A terminal run keeps no hooks or waits (the reference deletes them).
        self.hooks.clear()
        self.waits.clear()

    def _apply_step(self, kind, corr, data, hint, now, spec) -> None:
        step = self.steps.get(corr)
        if kind == "step_created":
            if step is None:
                self.steps[corr] = E.step_created(self.run_id, corr, data, now, spec)
            return
        if step is None or step.get("status") in TERMINAL_STATUSES:
            return
        if kind == "step_started":
            self.steps[corr] = E.step_started(step, now)
        elif kind == "step_completed":
            self.steps[corr] = E.step_completed(step, now, data.get("result"))
        elif kind == "step_failed":
            self.steps[corr] = E.step_failed(step, now, E.step_error(data, hint))
        elif kind == "step_retrying":
            error = E.step_error(data, hint)
            self.steps[corr] = E.step_retrying(step, now, error, data.get("retryAfter"))


def check_request(event_type: str, run_id: str | None, corr: str | None, data: dict) -> None:
    """Request shape rules that need no state (unknown type, missing ids or fields)."""
    if event_type not in EVENT_TYPES:
        raise InvalidTransitionError(f'Unknown event type "{event_type}".')
    if event_type == "hook_conflict":
        raise InvalidTransitionError("hook_conflict events are written by the world only.")
    if event_type != "run_created" and run_id is None:
        raise InvalidTransitionError(f"{event_type} needs a run id.")
    if event_type in ENTITY_EVENTS and not corr:
        raise InvalidTransitionError(f"{event_type} needs a correlation id.")
    required = {
        "run_created": ("deploymentId", "workflowName"),
        "step_created": ("stepName",),
        "hook_created": ("token",),
        "wait_created": ("resumeAt",),
    }.get(event_type, ())
    for key in required:
        if not isinstance(data.get(key), str):
            raise InvalidTransitionError(f"{event_type} needs eventData.{key} (a string).")


def check(state: RunState, event_type: str, corr: str | None, now_ms: int) -> str | None:
    """Reject an event the run's state does not allow, in reference §2.5 order.

    Returns IDEMPOTENT when nothing is to be written, else None.
    """
    run = state.run
    run_id = state.run_id
    if event_type == "run_created":
        if run is not None:
            raise EntityConflictError(f'Workflow run "{run_id}" already exists.')
        return None
    if run is None:
        raise RunNotFoundError(f'Workflow run "{run_id}" not found.')

    spec = run.get("specVersion")
    if isinstance(spec, int | float) and spec > SPEC_VERSION_CURRENT:
        raise RunNotSupportedError(
            f'Workflow run "{run_id}" uses spec version {spec}; this world supports '
            f"{SPEC_VERSION_CURRENT}."
        )
    if not isinstance(spec, int | float) or spec <= 1:
        if event_type not in ("run_cancelled", "wait_completed", "hook_received"):
            raise InvalidTransitionError(
                f'Workflow run "{run_id}" is a legacy (spec 1) run; {event_type} is not allowed.'
            )

    status = run.get("status")
    if status in TERMINAL_STATUSES:
        if event_type == "run_cancelled" and status == "cancelled":
            return None  # allowed again: writes another event, changes nothing
        if event_type == "run_started":
            raise RunExpiredError(f'Workflow run "{run_id}" is already {status}.')
        if event_type in TERMINAL_RUN_EVENTS:
            raise EntityConflictError(f'Cannot transition run from terminal state "{status}".')
        if event_type in ("step_created", "hook_created", "wait_created"):
            raise EntityConflictError(
                f'Cannot create new entities on run in terminal state "{status}".'
            )
    if event_type == "run_started" and status == "running":
        return IDEMPOTENT

    if event_type in STEP_EVENTS:
        _check_step(state, event_type, corr, now_ms)
    elif event_type in HOOK_EVENTS:
        _check_hook(state, event_type, corr)
    elif event_type in WAIT_EVENTS:
        _check_wait(state, event_type, corr)
    return None


def _check_step(state: RunState, event_type: str, corr: str, now_ms: int) -> None:
    step = state.steps.get(corr)
    if event_type == "step_created":
        if step is not None:
            raise EntityConflictError(f'Step "{corr}" already created.')
        return
    if step is None:
        raise StepNotFoundError(f'Step "{corr}" not found.')
    step_status = step.get("status")
    if step_status in TERMINAL_STATUSES:
        raise EntityConflictError(f'Cannot modify step in terminal state "{step_status}".')
    # world-local reads the run for these two only (step_completed/step_retrying skip it).
    if event_type in ("step_started", "step_failed") and state.terminal:
        if step_status != "running":
            raise RunExpiredError(
                f"Cannot modify non-running step on run in terminal state "
                f'"{state.run.get("status")}".'
            )
    if event_type == "step_started":
        retry_ms = ms_from_iso(step.get("retryAfter"))
        if retry_ms is not None and retry_ms > now_ms:
            raise TooEarlyError(
                (retry_ms - now_ms) / 1000.0,
                f'Cannot start step "{corr}": its retryAfter has not been reached yet.',
            )


def _check_hook(state: RunState, event_type: str, corr: str) -> None:
    if event_type == "hook_created":
        if corr in state.hook_tokens:
            raise EntityConflictError(f'Hook "{corr}" already created.')
        return
    if event_type == "hook_disposed" and corr in state.disposed:
        raise EntityConflictError(f'Hook "{corr}" already disposed.')
    if corr not in state.hooks:
        raise HookNotFoundError(f'Hook "{corr}" not found.')


def _check_wait(state: RunState, event_type: str, corr: str) -> None:
    if event_type == "wait_created":
        if corr in state.wait_ids:
            raise EntityConflictError(f'Wait "{corr}" already exists.')
        return
    if corr in state.completed_waits:
        raise EntityConflictError(f'Wait "{corr}" already completed.')
    if corr not in state.waits:
        raise WaitNotFoundError(f'Wait "{corr}" not found.')


# -- requests and stored events -----------------------------------------------------------------

_RUN_ID_PAST_MS = 24 * 3600 * 1000
_RUN_ID_FUTURE_MS = 5 * 60 * 1000


def normalize_data(event_data: dict | None) -> dict:
    """Caller's eventData as stored: unset (None) keys dropped, datetimes as ISO, bytes as bytes."""
    data = {}
    for key, value in (event_data or {}).items():
        if value is None:
            continue  # unset: world-local never writes null for a missing field
        if isinstance(value, bytearray | memoryview):
            value = bytes(value)
        data[key] = to_iso(value)
    return data


def check_run_id_time(run_id: str) -> None:
    """A caller-chosen run id must be a ULID of about now (reference: 24 h back, 5 min ahead)."""
    raw = run_id[5:] if run_id.startswith("wrun_") else run_id
    ms = ulid_time_ms(raw)
    if ms is None:
        raise InvalidTransitionError(f'Invalid runId: "{run_id}" is not a valid ULID.')
    drift = now_ms() - ms
    if drift > _RUN_ID_PAST_MS or -drift > _RUN_ID_FUTURE_MS:
        direction = "past" if drift > 0 else "future"
        raise InvalidTransitionError(
            f'Invalid runId "{run_id}": its timestamp is {abs(drift) // 1000}s in the {direction}.'
        )


def new_run_id() -> str:
    return f"wrun_{ULIDS.new()}"


def build_line(state: RunState, kind: str, corr: str | None, data: dict, now: int) -> dict:
    """The stored event (reference key order) with a fresh ``eventId`` above the run's last.

    ``message`` of error events moves to the private key: it feeds the entity's error object
    only; the event keeps the reference shape ``{error, stack}``.
    """
    last = state.last_event_id
    after = last[5:] if last and last.startswith("evnt_") else None
    event_id = f"evnt_{ULIDS.new(now, after=after)}"
    stored = dict(data)
    private = {}
    if kind in ERROR_EVENTS and "message" in stored:
        message = stored.pop("message")
        if isinstance(message, str):
            private["message"] = message
    line: dict = {"eventType": kind, "specVersion": SPEC_VERSION_CURRENT}
    if corr is not None:
        line["correlationId"] = corr
    if kind != "run_started" and (stored or kind in DATA_REQUIRED):
        line["eventData"] = stored
    line["runId"] = state.run_id
    line["eventId"] = event_id
    line["createdAt"] = iso_from_ms(now)
    if private:
        line[PRIVATE_KEY] = private
    return line


def conflict_line(line: dict) -> dict:
    """The ``hook_conflict`` event stored instead of a ``hook_created`` whose token is taken.

    Same envelope, reference key order for hook_conflict (specVersion last).
    """
    return {
        "eventType": "hook_conflict",
        "correlationId": line["correlationId"],
        "eventData": {"token": line["eventData"]["token"]},
        "runId": line["runId"],
        "eventId": line["eventId"],
        "createdAt": line["createdAt"],
        "specVersion": SPEC_VERSION_CURRENT,
    }


def public_event(line: dict) -> dict:
    """The event as handed out (without the world's private key)."""
    if PRIVATE_KEY in line:
        return {k: v for k, v in line.items() if k != PRIVATE_KEY}
    return line


def result_of(line: dict, state: RunState) -> EventResult:
    """What a write returns: the event and the entity it created or changed (deep copies)."""
    kind = line["eventType"]
    corr = line.get("correlationId")
    result = EventResult(event=E.clone(public_event(line)))
    if kind in RUN_EVENTS:
        result.run = E.clone(state.run)
    elif kind in STEP_EVENTS:
        result.step = E.clone(state.steps.get(corr))
    elif kind == "hook_created":
        result.hook = E.clone(state.hooks.get(corr))
    elif kind in WAIT_EVENTS:
        result.wait = E.clone(state.waits.get(corr))
    return result


# -- cursors (worlds only: opaque above the interface) --------------------------------------


def cursor_of(item: dict, id_field: str) -> str:
    return f"{item['createdAt']}|{item[id_field]}"


def parse_cursor(cursor: str) -> tuple[int, str | None]:
    """(createdAt ms, id or None). Raises ``ValueError`` for a cursor no world made."""
    if not isinstance(cursor, str):
        raise ValueError(f"Invalid cursor {cursor!r}")
    created, sep, ident = cursor.partition("|")
    ms = ms_from_iso(created)
    if ms is None:
        raise ValueError(f"Invalid cursor {cursor!r}")
    return ms, (ident if sep else None)
