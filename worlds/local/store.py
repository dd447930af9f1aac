"""LocalWorld: the filesystem world (reference world-local layout + wfctl's per-run journal).

Write path (``create_event``), all under the run's write lock (a per-run ``threading.Lock`` plus
``flock`` on ``<data-dir>.wfctl/locks/<runId>.lock``, see layout.py):

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

import itertools
import logging
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from ..errors import EntityConflictError
from ..rules import (
    IDEMPOTENT,
    RunState,
    build_line,
    check,
    conflict_line,
    result_of,
)
from ..world import EventRequest, EventResult, Lease, Page, World
from .entities import clone
from .files import (
    append_durable,
    dumps_pretty,
    ensure_dir,
    fsync_dir,
    fsync_file,
    read_json,
    truncate,
    unlink,
    utf8,
    write_atomic,
)
from .ids import is_safe_id, iso_from_ms, ms_from_iso, now_ms, require_safe
from .journal import Journal, JournalCache, encode_line
from .layout import VERSION_TEXT, Layout
from .listing import scan_run_files
from .locks import KeyedThreadLocks, flocked, try_flock
from .projection import Projector
from .reads import ReadsMixin
from .repair import SelfHealingMixin
from .shared import adopt_legacy, check_on_open, say_once
from .streams import LocalStreams
from .tokens import TokenClaims
from .writebehind import WriteBehind, project_steps

log = logging.getLogger("worlds.local")
# (eventType, correlationId, normalized eventData) of one validated request.
_Request = EventRequest

# How many trailing journal lines roll-forward checks for a missing event file (a batch commits
# several lines at once; a crash can leave all of them unprojected).
_ROLL_FORWARD_MAX = 4096
_LEASE_EPOCHS = itertools.count(1)
# Events whose projection may trail the journal while this world holds the run's lease (see
# writebehind.py): the step lifecycle, which only the lease holder writes. Run, hook and wait
# events are projected at once (other processes write run events and look hooks up by token).
_WRITE_BEHIND = frozenset(
    (
        "run_started",
        "step_created",
        "step_started",
        "step_completed",
        "step_failed",
        "step_retrying",
    )
)


class LocalWorld(SelfHealingMixin, ReadsMixin, LocalStreams, World):
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
        self._behind = WriteBehind(self._project_in_background)
        adopt_legacy(self.layout)  # shared.py: wfctl's state lives out of the shared tree
        check_on_open(self)  # ...which another tool may have deleted, replaced or converted

    # ------------------------------------------------------------------ writes

    def _commit(
        self,
        run_id: str,
        requests: list[_Request],
        *,
        durable: bool = True,
    ) -> list[EventResult]:
        """Validate ``items`` in order and append them with one journal write (fsynced unless
        ``durable=False`` under this world's lease: then the run's next fsync covers it)."""
        self._verify_journal(run_id)  # repair.py: never append to a cut journal
        # Token claims are decided under the token's lock, taken in a fixed order.
        tokens = sorted({d["token"] for k, _, d in requests if k == "hook_created"})
        self._ensure_store()
        with self._write_lock(run_id):
            journal = self._open_for_write(run_id)  # roll-forward may take token locks itself
            with ExitStack() as held:
                for token in tokens:
                    held.enter_context(self._claims.locked(token))
                results, lines, payloads = self._decide(journal, run_id, requests)
                if not lines:
                    return results
                behind = self._behind.deferring(run_id) and all(
                    line["eventType"] in _WRITE_BEHIND for line in lines
                )
                sync = self.durable and (durable or not behind)
                self._append(journal, b"".join(payloads), sync=sync)
            journal.refresh()
            assert journal.lines[-1]["eventId"] == lines[-1]["eventId"], "journal lost our append"
            if behind:
                if self._behind.add(run_id, lines, synced=sync):
                    self._project_pending(run_id, journal)
            else:
                self._project_pending(run_id, journal)  # earlier queued lines first: in order
                for line in lines:
                    self._projector.project(line, journal.state)
                if sync:
                    self._behind.mark_synced(run_id)
        return results

    def _project_pending(self, run_id: str, journal: Journal) -> None:
        """Project the run's queued lines, in order, each from the journal's current state."""
        self._behind.drain(
            run_id, lambda lines: project_steps(self._projector, lines, journal.state)
        )

    def _project_in_background(self, run_id: str) -> None:
        """The write-behind timer: project without the write lock (commits go on meanwhile)."""
        self._project_pending(run_id, self._journals.get(run_id).refresh())

    def flush(self, run_id: str) -> None:
        """Make the run's committed events durable and their reference files present now."""
        if not self._behind.needs_flush(run_id):
            return
        with self._write_lock(run_id):
            journal = self._journals.get(run_id).refresh()
            if self._behind.take_unsynced(run_id) and self.durable and journal.exists:
                fsync_file(journal.path)
            self._project_pending(run_id, journal)
            self._roll_forward(run_id, journal)  # lines another process left unprojected

    def _settle(self, run_id: str | None = None) -> None:
        """Before a read served from projection files: this process reads its own writes."""
        for rid in [run_id] if run_id is not None else self._behind.runs():
            if self._behind.has_pending(rid):
                self.flush(rid)

    def get_run(self, run_id: str) -> dict[str, Any]:
        self._settle(run_id)
        return super().get_run(run_id)

    def get_step(self, run_id: str, step_id: str) -> dict[str, Any]:
        self._settle(run_id)
        return super().get_step(run_id, step_id)

    def list_steps(self, run_id: str, **kwargs: Any) -> Page:
        self._settle(run_id)
        return super().list_steps(run_id, **kwargs)

    def list_runs(self, **kwargs: Any) -> Page:
        self._settle()
        return super().list_runs(**kwargs)

    def get_hook(self, hook_id: str) -> dict[str, Any]:
        self._settle()
        return super().get_hook(hook_id)

    def get_hook_by_token(self, token: str) -> dict[str, Any]:
        self._settle()
        return super().get_hook_by_token(token)

    def list_hooks(self, **kwargs: Any) -> Page:
        self._settle()
        return super().list_hooks(**kwargs)

    def _decide(
        self, journal: Journal, run_id: str, requests: list[_Request]
    ) -> tuple[list[EventResult], list[dict[str, Any]], list[bytes]]:
        """Validate each request against the state including the earlier ones; build lines."""
        work = journal.state.copy()
        results: list[EventResult] = []
        lines: list[dict[str, Any]] = []
        payloads: list[bytes] = []
        for kind, corr, data in requests:
            if kind == "run_created" and (work.run is not None or self.layout.run(run_id).exists()):
                conflict = EntityConflictError(f'Workflow run "{run_id}" already exists.')
                results.append(EventResult(event=None, conflict=conflict))
                continue
            now = max(now_ms(), work.last_created_ms)
            try:
                verdict = check(work, kind, corr, now)
            except EntityConflictError as exc:
                results.append(EventResult(event=None, conflict=exc))
                continue
            if verdict == IDEMPOTENT:
                results.append(EventResult(event=None, run=clone(work.run)))
                continue
            line = build_line(work, kind, corr, data, now)
            payload = encode_line(line)  # a bad payload fails before any claim is made
            if kind == "hook_created":
                line = self._claim_token(line, work)
                payload = encode_line(line)
            lines.append(line)
            payloads.append(payload)
            work.apply(line)
            results.append(result_of(line, work))
        return results, lines, payloads

    def _claim_token(self, line: dict[str, Any], state: RunState) -> dict[str, Any]:
        """Caller holds the token's lock: claim it, or turn the event into ``hook_conflict``."""
        token = line["eventData"]["token"]
        corr = line["correlationId"]
        claim = self._claims.read(token)
        taken = (
            claim is not None
            and (claim.get("runId"), claim.get("hookId")) != (state.run_id, corr)
            and self._claim_is_live(claim, state)
        )
        if taken:
            return conflict_line(line)
        self._claims.write(token, state.run_id, corr)
        return line

    def _claim_is_live(self, claim: dict[str, Any], own: RunState) -> bool:
        """A claim is live while its hook is live in its run's journal (run not terminal)."""
        owner_run, owner_hook = claim.get("runId"), claim.get("hookId")
        if not is_safe_id(owner_run) or not isinstance(owner_hook, str):
            return False
        state = own if owner_run == own.run_id else self._peek_state(owner_run)
        return state is not None and not state.terminal and owner_hook in state.hooks

    def _append(self, journal: Journal, payload: bytes, *, sync: bool | None = None) -> None:
        append_durable(journal.path, payload, durable=self.durable if sync is None else sync)

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
        if not self._behind.has_pending(run_id):  # our own queued lines are not a crash's
            self._roll_forward(run_id, journal)
        return journal

    def _roll_forward(self, run_id: str, journal: Journal) -> None:
        # The trailing lines whose event file is missing: a crash's unprojected batch (or a
        # dead lease holder's write-behind queue; projections are a prefix of the journal).
        pending = []
        for line in reversed(journal.lines[-_ROLL_FORWARD_MAX:]):
            if self.layout.event_exists(run_id, line["eventId"]):  # flat or run-scoped
                break
            pending.append(line)
        for line in reversed(pending):
            log.info("Rolling forward event %s of run %s", line["eventId"], run_id)
            self._projector.project(line, journal.state)

    def _rebuild_journal(self, run_id: str) -> None:
        """Lost index (or a store written by the DevKit): rebuild the journal from events/."""
        lines, _ = self._fold_event_files(run_id)
        say_once(
            "foreign",
            f"{self.root} holds runs with no journal in wfctl's state (written by another "
            f"tool?); rebuilding their journals from their event files (first: {run_id})",
        )
        payload = b"".join(encode_line(line) for line in lines)
        write_atomic(self.layout.journal(run_id), payload, durable=self.durable)

    def _fold_event_files(self, run_id: str) -> tuple[list[dict[str, Any]], RunState]:
        by_id = {}
        for _, event in scan_run_files(self.layout.events, run_id):  # flat and run-scoped
            if (
                isinstance(event, dict)
                and event.get("runId") == run_id
                and isinstance(event.get("eventType"), str)
                and isinstance(event.get("eventId"), str)
            ):
                by_id[event["eventId"]] = event
        events = list(by_id.values())
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

    def load_snapshot(self, run_id: str) -> tuple[bytes, dict[str, Any]] | None:
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
    def lease(self, run_id: str, *, wait: float | None = 0) -> Iterator[Lease]:
        # flock dies with the process, so no other holder can ever write while we hold it:
        # fencing holds trivially and the epoch is only a per-process counter.
        require_safe(run_id, "run id")
        fd = try_flock(self.layout.lease(run_id), wait)
        self._behind.enter(run_id)  # projections of this run may trail its journal: see above
        try:
            yield Lease(run_id=run_id, epoch=next(_LEASE_EPOCHS), owner=f"pid-{os.getpid()}")
        finally:
            try:
                self.flush(run_id)  # before the next holder can take over
            finally:
                self._behind.leave(run_id)
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
        self._behind.cancel_timers()
        for run_id in self._behind.runs():
            self.flush(run_id)
        self._journals.clear()
