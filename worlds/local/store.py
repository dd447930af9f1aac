"""LocalWorld: the filesystem world (reference world-local layout + wfctl's per-run journal).

Write path (``create_event``), all under the run's write lock (a per-run ``threading.Lock`` plus
``flock`` on ``.wfctl/locks/<runId>.lock``):

1. catch up with the journal; rebuild it from ``events/`` if only the reference files exist;
   truncate a torn last line; if the last event has no event file, re-project it (roll-forward
   after ``kill -9``);
2. validate against the folded journal state (reference §2.5);
3. append the event line and fsync it -- the **commit point** (for ``hook_created`` the token
   claim is decided and written first, under the token's lock, see ``tokens.py``);
4. project the reference files, the event file last.

Durability: the journal append, the journal directory entry, token claims, ``version.txt``,
snapshots and blobs are fsynced (unless ``WFCTL_FSYNC=0`` when the world is created). Projection
files are written atomically but not fsynced: the journal is the commit point and roll-forward
(or :meth:`LocalWorld.reproject_run`) rebuilds them from it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import (
    EntityConflictError,
    InvalidTransitionError,
)
from ..world import EventResult, World
from .entities import clone
from .files import (
    append_durable,
    dumps_pretty,
    ensure_dir,
    fsync_dir,
    read_json,
    truncate,
    unlink,
    utf8,
    write_atomic,
)
from .ids import (
    ULIDS,
    is_safe_id,
    iso_from_ms,
    ms_from_iso,
    now_ms,
    require_safe,
    to_iso,
    ulid_time_ms,
)
from .journal import PRIVATE_KEY, Journal, JournalCache, encode_line, public_event
from .layout import VERSION_TEXT, Layout
from .listing import scan_json
from .locks import KeyedThreadLocks, flocked, try_flock
from .projection import Projector
from .reads import ReadsMixin
from .repair import SelfHealingMixin
from .state import (
    ERROR_EVENTS,
    IDEMPOTENT,
    RUN_EVENTS,
    SPEC_VERSION_CURRENT,
    STEP_EVENTS,
    WAIT_EVENTS,
    RunState,
    check,
    check_request,
)
from .tokens import TokenClaims

log = logging.getLogger("worlds.local")

# The reference schemas require an eventData object on these (even when empty).
_DATA_REQUIRED = frozenset(
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
_RUN_ID_PAST_MS = 24 * 3600 * 1000
_RUN_ID_FUTURE_MS = 5 * 60 * 1000


def _normalize(event_data: dict | None) -> dict:
    data = {}
    for key, value in (event_data or {}).items():
        if value is None:
            continue  # unset: world-local never writes null for a missing field
        if isinstance(value, bytearray | memoryview):
            value = bytes(value)
        data[key] = to_iso(value)
    return data


def _check_run_id_time(run_id: str) -> None:
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


class LocalWorld(SelfHealingMixin, ReadsMixin, World):
    """World on a local directory, readable by the DevKit CLI (see module docstring)."""

    def __init__(self, data_dir: str | Path) -> None:
        self.root = Path(data_dir)
        self.layout = Layout(self.root)
        self.durable = os.environ.get("WFCTL_FSYNC", "1") != "0"
        self._run_locks = KeyedThreadLocks()
        self._journals = JournalCache(self.layout.journal)
        self._claims = TokenClaims(self.layout, self.durable)
        self._projector = Projector(self.layout, self._claims)
        self._store_ready = False

    # ------------------------------------------------------------------ writes

    def create_event(
        self,
        run_id: str | None,
        event_type: str,
        *,
        correlation_id: str | None = None,
        event_data: dict | None = None,
    ) -> EventResult:
        if run_id is not None:
            require_safe(run_id, "run id")
            self._verify_journal(run_id)  # repair.py: never append to a cut journal
        if correlation_id is not None:
            require_safe(correlation_id, "correlation id")
        data = _normalize(event_data)
        check_request(event_type, run_id, correlation_id, data)
        if event_type == "run_created":
            if run_id is None:
                run_id = f"wrun_{ULIDS.new()}"
            else:
                _check_run_id_time(run_id)
        assert run_id is not None
        self._ensure_store()
        with self._write_lock(run_id):
            journal = self._open_for_write(run_id)
            state = journal.state
            if event_type == "run_created" and self.layout.run(run_id).exists():
                raise EntityConflictError(f'Workflow run "{run_id}" already exists.')
            now = max(now_ms(), state.last_created_ms)
            if check(state, event_type, correlation_id, now) == IDEMPOTENT:
                return EventResult(event=None, run=clone(state.run))
            if event_type == "hook_created":
                line = self._commit_hook_created(journal, correlation_id, data, now)
            else:
                line = self._build(state, event_type, correlation_id, data, now)
                self._append(journal, encode_line(line))
            journal.refresh()
            assert journal.lines[-1]["eventId"] == line["eventId"], "journal lost our append"
            self._projector.project(line, journal.state)
            return self._result(line, journal.state)

    def _build(self, state: RunState, kind: str, corr: str | None, data: dict, now: int) -> dict:
        last = state.last_event_id
        after = last[5:] if last and last.startswith("evnt_") else None
        event_id = f"evnt_{ULIDS.new(now, after=after)}"
        stored = dict(data)
        private = {}
        if kind in ERROR_EVENTS and "message" in stored:
            # The message feeds the entity's error object only; the event keeps the
            # reference shape {error, stack}.
            message = stored.pop("message")
            if isinstance(message, str):
                private["message"] = message
        line: dict = {"eventType": kind, "specVersion": SPEC_VERSION_CURRENT}
        if corr is not None:
            line["correlationId"] = corr
        if kind != "run_started" and (stored or kind in _DATA_REQUIRED):
            line["eventData"] = stored
        line["runId"] = state.run_id
        line["eventId"] = event_id
        line["createdAt"] = iso_from_ms(now)
        if private:
            line[PRIVATE_KEY] = private
        return line

    def _commit_hook_created(self, journal: Journal, corr: str, data: dict, now: int) -> dict:
        token = data["token"]
        state = journal.state
        line = self._build(state, "hook_created", corr, data, now)
        payload = encode_line(line)  # encode first: a bad payload must fail before the claim
        with self._claims.locked(token):
            claim = self._claims.read(token)
            taken = (
                claim is not None
                and (claim.get("runId"), claim.get("hookId")) != (state.run_id, corr)
                and self._claim_is_live(claim, state)
            )
            if taken:
                # Same envelope, reference key order for hook_conflict (specVersion last).
                line = {
                    "eventType": "hook_conflict",
                    "correlationId": corr,
                    "eventData": {"token": token},
                    "runId": line["runId"],
                    "eventId": line["eventId"],
                    "createdAt": line["createdAt"],
                    "specVersion": SPEC_VERSION_CURRENT,
                }
                payload = encode_line(line)
            else:
                self._claims.write(token, state.run_id, corr)
            self._append(journal, payload)
        return line

    def _claim_is_live(self, claim: dict, own: RunState) -> bool:
        """A claim is live while its hook is live in its run's journal (run not terminal)."""
        owner_run, owner_hook = claim.get("runId"), claim.get("hookId")
        if not is_safe_id(owner_run) or not isinstance(owner_hook, str):
            return False
        state = own if owner_run == own.run_id else self._peek_state(owner_run)
        return state is not None and not state.terminal and owner_hook in state.hooks

    def _append(self, journal: Journal, payload: bytes) -> None:
        append_durable(journal.path, payload, durable=self.durable)

    def _result(self, line: dict, state: RunState) -> EventResult:
        kind = line["eventType"]
        corr = line.get("correlationId")
        result = EventResult(event=clone(public_event(line)))
        if kind in RUN_EVENTS:
            result.run = clone(state.run)
        elif kind in STEP_EVENTS:
            result.step = clone(state.steps.get(corr))
        elif kind == "hook_created":
            result.hook = clone(state.hooks.get(corr))
        elif kind in WAIT_EVENTS:
            result.wait = clone(state.waits.get(corr))
        return result

    @contextmanager
    def _write_lock(self, run_id: str) -> Iterator[None]:
        with self._run_locks.get(run_id), flocked(self.layout.write_lock(run_id)):
            yield

    def _open_for_write(self, run_id: str) -> Journal:
        """Caller holds the write lock: catch up, repair the tail, roll forward."""
        journal = self._journals.get(run_id).refresh()
        if not journal.exists and self.layout.run(run_id).exists():
            self._rebuild_journal(run_id)
            journal.refresh()
        if journal.torn:
            # Bytes after the last newline are a write torn by a crash: never committed.
            truncate(journal.path, journal.offset, durable=self.durable)
            journal.refresh()
        if journal.lines:
            last = journal.lines[-1]
            if not self.layout.event(run_id, last["eventId"]).exists():
                log.info("Rolling forward event %s of run %s", last["eventId"], run_id)
                self._projector.project(last, journal.state)
        return journal

    def _rebuild_journal(self, run_id: str) -> None:
        """Lost index (or a store written by the DevKit): rebuild the journal from events/."""
        lines, _ = self._fold_event_files(run_id)
        log.info("Rebuilding the journal of run %s from %d event files", run_id, len(lines))
        payload = b"".join(encode_line(line) for line in lines)
        write_atomic(self.layout.journal(run_id), payload, durable=self.durable)

    def _fold_event_files(self, run_id: str) -> tuple[list[dict], RunState]:
        events = []
        for _, event in scan_json(self.layout.events, prefix=f"{run_id}-"):
            if (
                isinstance(event, dict)
                and event.get("runId") == run_id
                and isinstance(event.get("eventType"), str)
                and isinstance(event.get("eventId"), str)
            ):
                events.append(event)
        events.sort(key=lambda e: (ms_from_iso(e.get("createdAt")) or 0, e["eventId"]))
        state = RunState(run_id)
        for event in events:
            state.apply(event)
        return events, state

    def _peek_state(self, run_id: str) -> RunState | None:
        """A run's state without taking its lock (reads only complete journal lines)."""
        journal = self._journals.get(run_id).refresh()
        if journal.exists:
            return journal.state
        if self.layout.run(run_id).exists():
            return self._fold_event_files(run_id)[1]
        return None

    def _ensure_store(self) -> None:
        if self._store_ready:
            return
        ensure_dir(self.root, self.durable)
        if not self.layout.version.exists():
            write_atomic(self.layout.version, VERSION_TEXT.encode(), durable=self.durable)
        self._store_ready = True

    def reproject_run(self, run_id: str) -> None:
        """Rewrite every reference file of a run from its journal (repair tool)."""
        require_safe(run_id, "run id")
        self._ensure_store()
        with self._write_lock(run_id):
            journal = self._open_for_write(run_id)
            self._projector.reproject(journal.lines, journal.state)

    # ------------------------------------------------------------------ snapshots, blobs, lease

    def save_snapshot(self, run_id: str, data: bytes, *, events_cursor: str | None) -> None:
        require_safe(run_id, "run id")
        self._ensure_store()
        bin_path, meta_path = self.layout.snapshot(run_id)
        # Metadata goes first and comes back last: a crash in between leaves no metadata, so
        # load_snapshot returns None rather than new data paired with an old cursor.
        if unlink(meta_path) and self.durable:
            fsync_dir(meta_path.parent)
        write_atomic(bin_path, bytes(data), durable=self.durable)
        meta = {"eventsCursor": events_cursor, "createdAt": iso_from_ms(now_ms())}
        write_atomic(meta_path, utf8(dumps_pretty(meta)), durable=self.durable)

    def load_snapshot(self, run_id: str) -> tuple[bytes, dict] | None:
        require_safe(run_id, "run id")
        bin_path, meta_path = self.layout.snapshot(run_id)
        try:
            meta = read_json(meta_path)
        except ValueError:
            log.warning("Ignoring malformed snapshot metadata %s", meta_path)
            return None
        if not isinstance(meta, dict):
            return None
        try:
            data = bin_path.read_bytes()
        except FileNotFoundError:
            return None
        return data, {"eventsCursor": meta.get("eventsCursor"), "createdAt": meta.get("createdAt")}

    def delete_snapshot(self, run_id: str) -> None:
        require_safe(run_id, "run id")
        bin_path, meta_path = self.layout.snapshot(run_id)
        unlink(meta_path)
        unlink(bin_path)

    @contextmanager
    def lease(self, run_id: str, *, wait: float | None = 0) -> Iterator[None]:
        require_safe(run_id, "run id")
        fd = try_flock(self.layout.lease(run_id), wait)
        try:
            yield
        finally:
            os.close(fd)

    def put_blob(self, key: str, data: bytes) -> None:
        require_safe(key, "blob key")
        path = self.layout.blob(key)
        if path.exists():
            return  # content-addressed: same key, same bytes
        self._ensure_store()
        write_atomic(path, bytes(data), durable=self.durable)

    def get_blob(self, key: str) -> bytes | None:
        require_safe(key, "blob key")
        try:
            return self.layout.blob(key).read_bytes()
        except FileNotFoundError:
            return None

    def delete_blob(self, key: str) -> None:
        require_safe(key, "blob key")
        if unlink(self.layout.blob(key)) and self.durable:
            fsync_dir(self.layout.blobs)

    def list_blobs(self, prefix: str) -> list[str]:
        try:
            names = os.listdir(self.layout.blobs)
        except FileNotFoundError:
            return []
        # temp files of an interrupted put_blob carry ".tmp." and are not blobs
        return sorted(n for n in names if n.startswith(prefix) and ".tmp." not in n)

    def close(self) -> None:
        self._journals.clear()
