"""PostgresWorld: the World interface on PostgreSQL (psycopg 3, one transaction per batch).

Write path (:meth:`PostgresWorld.create_events`), one READ COMMITTED transaction in three round
trips (two psycopg pipelines, then COMMIT):

1. ``SELECT ... FROM runs WHERE run_id = $1 FOR UPDATE`` serializes the run's writers; in the same
   pipeline: the run's events this process has not folded yet (``seq > cached``), the database
   clock, the lease row (fencing, when this World holds the run's lease) and the claims of any
   hook tokens in the batch.
2. Validate every item with :mod:`worlds.rules` against the run's folded state (the same fold and
   checks the local world uses, so both worlds accept and reject exactly the same events), stamp
   ``seq`` / ``createdAt`` (database clock, ``max(now, last)``) / ``eventId`` (ULID above the
   last), then insert the events, upsert the entity rows, claim or release hook tokens; COMMIT.

The fold is cached per run in this World (like the local world's journal cache) and caught up
from ``seq`` in step 1, so a run driven by one process never re-reads its log. Partial
unique indexes on ``events`` make a duplicate ``step_created``/``wait_created``/``hook_created``,
a second terminal step event, ``wait_completed``/``hook_disposed`` or a second terminal run
event impossible even for a writer that skipped validation; such a violation surfaces as
``EntityConflictError``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import psycopg
from psycopg import errors as pgerrors
from psycopg_pool import ConnectionPool, PoolTimeout

from ..entities import clone
from ..errors import (
    EntityConflictError,
    HookNotFoundError,
    LeaseBusyError,
    LeaseLostError,
    RunNotFoundError,
    StepNotFoundError,
    StoreUnavailableError,
)
from ..ids import iso_from_ms, ms_from_iso, require_safe
from ..rules import (
    IDEMPOTENT,
    STEP_EVENTS,
    TERMINAL_RUN_EVENTS,
    RunState,
    build_line,
    check,
    conflict_line,
    cursor_of,
    parse_cursor,
    public_event,
    result_of,
)
from ..world import EventRequest, EventResult, Lease, Page, World
from . import codec, migrations
from .lease import lease_ttl
from .streams import PostgresStreams
from .target import redact, schema_name, split_schema

_T = TypeVar("_T")
# (eventType, correlationId, normalized eventData) of one validated request.
_Request = EventRequest


def _first(row: tuple[Any, ...] | None) -> Any:
    """Column 0 of a row a query always returns (e.g. the server clock)."""
    assert row is not None, "query returned no row"
    return row[0]


def _doc(row: tuple[Any, ...]) -> dict[str, Any]:
    """An entity row (doc, blobs) decoded: always a JSON object."""
    doc: dict[str, Any] = codec.load(*row)
    return doc


log = logging.getLogger("worlds.postgres")

_CACHE_RUNS = 256
_DEFAULT_CONNECT_TIMEOUT = 5


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    # libpq prefixes "connection failed: connection to server at ... failed: FATAL:  ..."
    for marker in ("FATAL:  ", "FATAL: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.splitlines()[0].strip().rstrip(".")


class _Cached:
    __slots__ = ("state", "seq")

    def __init__(self, state: RunState, seq: int) -> None:
        self.state = state
        self.seq = seq


class _TokenRace(Exception):
    """Another run claimed a token between our check and our insert: retry the batch."""


class _CommitUnknown(Exception):
    """The connection broke while the batch was being written: it may or may not have
    committed. The retry first looks for the batch's first event id."""

    def __init__(self, results: list[EventResult], event_id: str) -> None:
        super().__init__(event_id)
        self.results = results
        self.event_id = event_id


# A broken connection or a server that is (re)starting: retried with backoff (~15 s in all).
_TRANSIENT = (psycopg.OperationalError, PoolTimeout)
_BACKOFF_S = (0.1, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0)


class PostgresWorld(PostgresStreams, World):
    """World on a PostgreSQL database (see the module docstring)."""

    kind = "postgres"

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        check_schema: bool = True,
        pool_size: int | None = None,
    ) -> None:
        self.target = redact(url)
        url, url_schema = split_schema(url)
        self.url = url
        self.schema = schema_name(schema or url_schema)
        self.lease_ttl = lease_ttl()  # validated: a bad value is one clear error
        self._connect_kwargs: dict[str, Any] = {}
        if "connect_timeout" not in url:
            self._connect_kwargs["connect_timeout"] = _DEFAULT_CONNECT_TIMEOUT
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._run_locks: dict[str, threading.Lock] = {}
        self._held: dict[str, tuple[str, int]] = {}  # run_id -> (owner, epoch) of our leases
        self._keepers: dict[str, Any] = {}  # run_id -> LeaseKeeper (renews the row)
        self._outage = False  # a connection failure was logged and no success seen since
        self._outage_lock = threading.Lock()
        self._owner_prefix = f"{socket.gethostname()}:{os.getpid()}"
        # Fail fast with the real reason (the pool would only say "timeout").
        with self._connect() as conn:
            version = migrations.current_version(conn, self.schema)
        self._version = version
        if check_schema:
            self._require_schema(version)
        size = pool_size or int(os.environ.get("WFCTL_PG_POOL", "8"))
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, size),
            kwargs={"autocommit": False, **self._connect_kwargs},
            open=True,
            timeout=10,
            name="wfctl",
            reconnect_timeout=60,
        )
        self._sql = _Sql(self.schema)

    # ------------------------------------------------------------------ connection and schema

    def _connect(self) -> psycopg.Connection:
        try:
            return psycopg.connect(self.url, autocommit=True, **self._connect_kwargs)
        except psycopg.Error as exc:
            raise StoreUnavailableError(
                f"Cannot open the PostgreSQL world {self.target}: {_first_line(exc)}."
            ) from None

    def _require_schema(self, version: int) -> None:
        latest = migrations.latest()
        if version == 0:
            raise StoreUnavailableError(
                f"The PostgreSQL world {self.target} has no wfctl schema "
                f'"{self.schema}"; run `wfctl db migrate` first.'
            )
        if version < latest:
            raise StoreUnavailableError(
                f"The PostgreSQL world {self.target} has schema version {version}, this wfctl "
                f"needs {latest}; run `wfctl db migrate`."
            )

    def schema_status(self) -> dict[str, Any]:
        with self._connect() as conn:
            version = migrations.current_version(conn, self.schema)
        return {
            "world": "postgres",
            "schemaVersion": version,
            "current": version >= migrations.latest(),
        }

    def migrate(self) -> int:
        with self._connect() as conn:
            before, after = migrations.migrate(conn, self.schema)
        self._version = after
        self.migrated_from = before  # what this call found (others may have migrated first)
        return after

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Connection]:
        """A pooled connection in a transaction: commit on success, rollback on error."""
        with self.pool.connection() as conn:
            yield conn

    def _retrying(self, fn: Callable[[], _T], what: str) -> _T:
        """``fn()``, retried with backoff while the server is unreachable.

        An outage is logged once per World instance (not per call: a worker has several
        drives in flight), and so is the recovery.
        """
        failed: BaseException | None = None
        for delay in (*_BACKOFF_S, None):
            try:
                result = fn()
            except _TRANSIENT as exc:
                failed = exc
                with self._outage_lock:
                    first, self._outage = not self._outage, True
                if first:
                    log.warning(
                        "PostgreSQL world %s unavailable during %s (%s); reconnecting",
                        self.target,
                        what,
                        _first_line(exc),
                    )
                if delay is None:
                    break
                time.sleep(delay)
                continue
            if failed is not None or self._outage:
                with self._outage_lock:
                    was, self._outage = self._outage, False
                if was:
                    log.warning("PostgreSQL world %s reachable again", self.target)
            return result
        assert failed is not None
        raise StoreUnavailableError(
            f"Lost the PostgreSQL world {self.target}: {_first_line(failed)}."
        ) from failed

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """A read, retried while the connection is broken (e.g. a server restart)."""

        def run() -> list[tuple[Any, ...]]:
            with self.pool.connection() as conn:
                return conn.execute(sql, params).fetchall()

        return self._retrying(run, "a read")

    def _write_simple(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]] | None:
        """One idempotent statement in its own transaction, retried like a read."""

        def run() -> list[tuple[Any, ...]] | None:
            with self._tx() as conn:
                cur = conn.execute(sql, params)
                return cur.fetchall() if cur.description else None

        return self._retrying(run, "a write")

    # ------------------------------------------------------------------ writes

    def _commit(
        self, run_id: str, requests: list[_Request], *, durable: bool = True
    ) -> list[EventResult]:
        # durable is ignored: every transaction commits durably (synchronous_commit).
        with self._cache_lock:
            lock = self._run_locks.get(run_id)
            if lock is None:
                if len(self._run_locks) > 4 * _CACHE_RUNS:
                    self._run_locks = {k: v for k, v in self._run_locks.items() if v.locked()}
                lock = self._run_locks[run_id] = threading.Lock()
        races = 0

        def attempt() -> list[EventResult]:
            nonlocal races
            while True:
                try:
                    # One writer per run in this process: the cached fold is only touched
                    # under it (other processes are serialized by the run row's lock).
                    with lock:
                        return self._commit_once(run_id, requests)
                except _TokenRace:
                    races += 1
                    if races > 5:
                        raise
                except _CommitUnknown as unknown:
                    self._forget(run_id)
                    if self._event_stored(run_id, unknown.event_id):
                        return unknown.results  # it did commit before the connection broke
                    raise psycopg.OperationalError("connection lost during commit") from None

        return self._retrying(attempt, "a write")

    def _event_stored(self, run_id: str, event_id: str) -> bool:
        rows = self._read(self._sql.event_exists, (run_id, event_id))
        return bool(rows)

    def _cached(self, run_id: str) -> _Cached | None:
        with self._cache_lock:
            entry = self._cache.get(run_id)
            if entry is not None:
                self._cache.move_to_end(run_id)
            return entry

    def _remember(self, run_id: str, entry: _Cached) -> None:
        with self._cache_lock:
            self._cache[run_id] = entry
            self._cache.move_to_end(run_id)
            while len(self._cache) > _CACHE_RUNS:
                self._cache.popitem(last=False)

    def _forget(self, run_id: str) -> None:
        with self._cache_lock:
            self._cache.pop(run_id, None)

    def _commit_once(self, run_id: str, requests: list[_Request]) -> list[EventResult]:
        q = self._sql
        tokens = sorted({d["token"] for k, _, d in requests if k == "hook_created"})
        held = self._held.get(run_id)
        cached = self._cached(run_id)
        after_seq = cached.seq if cached is not None else 0
        with self._tx() as conn:
            # Round trip 1: lock, catch up, clock, fence, token claims.
            with conn.pipeline():
                c_run = conn.execute(q.lock_run, (run_id,))
                c_new = conn.execute(q.events_after_seq, (run_id, after_seq))
                c_now = conn.execute(q.now_ms)
                c_lease = conn.execute(q.lease_row, (run_id,)) if held else None
                c_tok = conn.execute(q.token_claims, (tokens,)) if tokens else None
                run_row = c_run.fetchone()
                new_rows = c_new.fetchall()
                db_now = int(_first(c_now.fetchone()))
                lease_row = c_lease.fetchone() if c_lease is not None else None
                claims = {t: (r, h) for t, r, h in c_tok.fetchall()} if c_tok else {}
            if held is not None and (lease_row is None or (lease_row[0], lease_row[1]) != held):
                raise LeaseLostError(
                    f"The lease of run {run_id} was taken over (epoch {held[1]} is stale); "
                    "the write was rejected."
                )
            exists = run_row is not None
            last_seq = int(run_row[0]) if run_row is not None else 0
            if cached is None or last_seq < cached.seq or not exists:
                state, seq = RunState(run_id), 0
                if exists and cached is not None and last_seq < cached.seq:
                    new_rows = conn.execute(q.events_after_seq, (run_id, 0)).fetchall()
            else:
                state, seq = cached.state, cached.seq
            for row_seq, doc, blobs in new_rows:
                state.apply(codec.load(doc, blobs))
                seq = int(row_seq)
            if exists:
                self._remember(run_id, _Cached(state, seq))

            # Decide.
            work = state.copy()
            results: list[EventResult] = []
            lines: list[dict[str, Any]] = []
            claimed: dict[str, str] = {}  # token -> hook id claimed in this batch
            released: list[tuple[str, str]] = []  # (token, hook id)
            for kind, corr, data in requests:
                if kind == "run_created" and (exists or work.run is not None):
                    conflict = EntityConflictError(f'Workflow run "{run_id}" already exists.')
                    results.append(EventResult(event=None, conflict=conflict))
                    continue
                now = max(db_now, work.last_created_ms)
                try:
                    verdict = check(work, kind, corr, now)
                except EntityConflictError as exc:
                    results.append(EventResult(event=None, conflict=exc))
                    continue
                if verdict == IDEMPOTENT:
                    results.append(EventResult(event=None, run=clone(work.run)))
                    continue
                line = build_line(work, kind, corr, data, now)
                codec.dump(line)  # a value that cannot be stored fails before anything
                if kind == "hook_created":
                    assert corr is not None  # check() raised for an entity event without one
                    token = data["token"]
                    owner = claims.get(token)
                    taken = (owner is not None and owner != (run_id, corr)) or (
                        token in claimed and claimed[token] != corr
                    )
                    if taken:
                        line = conflict_line(line)
                    else:
                        claimed[token] = corr
                elif kind == "hook_disposed":
                    assert corr is not None  # as above
                    token = work.hook_tokens.get(corr)
                    if token is not None:
                        released.append((token, corr))
                        # free again for a later item of this batch
                        if claims.get(token) == (run_id, corr):
                            del claims[token]
                        if claimed.get(token) == corr:
                            del claimed[token]
                lines.append(line)
                # The terminal flag feeds the one-terminal-event index: every terminal run event
                # carries it except a repeated run_cancelled (allowed by the rules).
                repeat_cancel = (
                    kind == "run_cancelled" and (work.run or {}).get("status") == "cancelled"
                )
                work.apply(line)
                line["_terminal"] = kind in TERMINAL_RUN_EVENTS and not repeat_cancel
                results.append(result_of(_strip(line), work))
            if not lines:
                return results

            # Round trip 2: events, entity rows, token claims, commit.
            try:
                # COMMIT after the pipeline, not inside it: with a large payload (1 MiB) a
                # COMMIT queued in the pipeline hung psycopg 3.3 in commit() (seen in the
                # conformance suite), at the price of one more round trip.
                with conn.pipeline():
                    self._write(conn, run_id, exists, seq, lines, work, claimed, released)
                conn.commit()
            except psycopg.OperationalError as exc:
                raise _CommitUnknown(results, lines[0]["eventId"]) from exc
            except pgerrors.UniqueViolation as exc:
                conn.rollback()
                self._forget(run_id)
                name = getattr(exc.diag, "constraint_name", None) or ""
                if name == "hook_tokens_pkey":
                    raise _TokenRace() from exc
                if name == "runs_pkey":
                    raise EntityConflictError(f'Workflow run "{run_id}" already exists.') from None
                raise EntityConflictError(
                    f"Run {run_id}: the event duplicates one already stored ({name})."
                ) from None
            self._remember(run_id, _Cached(work, seq + len(lines)))
        return results

    def _write(
        self,
        conn: psycopg.Connection,
        run_id: str,
        exists: bool,
        seq: int,
        lines: list[dict[str, Any]],
        work: RunState,
        claimed: dict[str, str],
        released: list[tuple[str, str]],
    ) -> None:
        q = self._sql
        run_doc, run_blobs = codec.dump(work.run)
        run = work.run or {}
        last_seq = seq + len(lines)
        if exists:
            conn.execute(q.update_run, (run.get("status"), last_seq, run_doc, run_blobs, run_id))
        else:
            created = ms_from_iso(run.get("createdAt")) or 0
            conn.execute(
                q.insert_run,
                (
                    run_id,
                    run.get("workflowName"),
                    run.get("status"),
                    created,
                    last_seq,
                    run_doc,
                    run_blobs,
                ),
            )
        rows = []
        steps: set[str] = set()
        hooks: set[str] = set()
        waits: set[str] = set()
        ended = False
        for i, line in enumerate(lines, start=1):
            terminal = line.pop("_terminal", False)
            doc, blobs = codec.dump(line)
            kind = line["eventType"]
            corr = cast(str, line.get("correlationId"))  # set on every entity event read below
            rows.append(
                (
                    run_id,
                    seq + i,
                    line["eventId"],
                    kind,
                    corr,
                    ms_from_iso(line["createdAt"]),
                    terminal,
                    doc,
                    blobs,
                )
            )
            if kind in STEP_EVENTS:
                steps.add(corr)
            elif kind in ("hook_created", "hook_disposed"):
                hooks.add(corr)
            elif kind in ("wait_created", "wait_completed"):
                waits.add(corr)
            elif kind in TERMINAL_RUN_EVENTS:
                ended = ended or terminal
        with conn.cursor() as cur:
            cur.executemany(q.insert_event, rows)
        for step_id in steps:
            step = work.steps.get(step_id)
            if step is not None:
                doc, blobs = codec.dump(step)
                created = ms_from_iso(step.get("createdAt")) or 0
                conn.execute(q.upsert_step, (run_id, step_id, created, doc, blobs))
        for token, hook_id in released:  # releases first: a later item may re-claim
            conn.execute(q.release_token, (token, run_id, hook_id))
        for token, hook_id in claimed.items():
            conn.execute(q.claim_token, (token, run_id, hook_id))
        for hook_id in hooks:
            hook = work.hooks.get(hook_id)
            if hook is None:
                conn.execute(q.delete_hook, (run_id, hook_id))
            else:
                doc, blobs = codec.dump(hook)
                created = ms_from_iso(hook.get("createdAt")) or 0
                conn.execute(
                    q.upsert_hook, (run_id, hook_id, hook.get("token"), created, doc, blobs)
                )
        for wait_id in waits:
            wait = work.waits.get(wait_id)
            if wait is not None:
                doc, _ = codec.dump(wait)
                created = ms_from_iso(wait.get("createdAt")) or 0
                conn.execute(q.upsert_wait, (run_id, wait_id, created, doc))
        if ended:
            # A terminal run keeps no hooks (nor token claims) and no waits.
            conn.execute(q.end_hooks, (run_id,))
            conn.execute(q.end_tokens, (run_id,))
            conn.execute(q.end_waits, (run_id,))

    # ------------------------------------------------------------------ reads

    def get_run(self, run_id: str) -> dict[str, Any]:
        require_safe(run_id, "run id")
        rows = self._read(self._sql.get_run, (run_id,))
        if not rows:
            raise RunNotFoundError(f'Workflow run "{run_id}" not found.')
        return _doc(rows[0])

    def list_runs(
        self,
        *,
        workflow_name: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
        sort: str = "desc",
    ) -> Page:
        where, params = [], []
        if workflow_name is not None:
            where.append("workflow_name = %s")
            params.append(workflow_name)
        if status is not None:
            where.append("status = %s")
            params.append(status)
        return self._page(
            f"SELECT created_ms, run_id, doc, blobs FROM {self._sql.s}.runs",
            where,
            params,
            ("created_ms", "run_id"),
            cursor=cursor,
            limit=limit,
            sort=sort,
            id_field="runId",
        )

    def list_events(
        self,
        run_id: str,
        *,
        cursor: str | None = None,
        limit: int | None = None,
        sort: str = "asc",
    ) -> Page:
        require_safe(run_id, "run id")
        page = self._page(
            f"SELECT created_ms, event_id, doc, blobs FROM {self._sql.s}.events",
            ["run_id = %s"],
            [run_id],
            ("created_ms", "event_id"),
            cursor=cursor,
            limit=limit,
            sort=sort,
            id_field="eventId",
        )
        page.data = [public_event(e) for e in page.data]
        return page

    def get_step(self, run_id: str, step_id: str) -> dict[str, Any]:
        require_safe(run_id, "run id")
        require_safe(step_id, "step id")
        rows = self._read(self._sql.get_step, (run_id, step_id))
        if not rows:
            raise StepNotFoundError(f'Step "{step_id}" not found.')
        return _doc(rows[0])

    def list_steps(
        self, run_id: str, *, cursor: str | None = None, limit: int = 20, sort: str = "desc"
    ) -> Page:
        require_safe(run_id, "run id")
        return self._page(
            f"SELECT created_ms, step_id, doc, blobs FROM {self._sql.s}.steps",
            ["run_id = %s"],
            [run_id],
            ("created_ms", "step_id"),
            cursor=cursor,
            limit=limit,
            sort=sort,
            id_field="stepId",
        )

    def get_hook(self, hook_id: str) -> dict[str, Any]:
        require_safe(hook_id, "hook id")
        rows = self._read(self._sql.get_hook, (hook_id,))
        if not rows:
            raise HookNotFoundError(f'Hook "{hook_id}" not found.')
        return _doc(rows[0])

    def get_hook_by_token(self, token: str) -> dict[str, Any]:
        rows = self._read(self._sql.get_hook_by_token, (token,)) if isinstance(token, str) else []
        if not rows:
            raise HookNotFoundError(f"No hook holds the token {token!r}.", token=token)
        return _doc(rows[0])

    def list_hooks(
        self,
        *,
        run_id: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
        sort: str = "asc",
    ) -> Page:
        where, params = [], []
        if run_id is not None:
            where.append("run_id = %s")
            params.append(run_id)
        return self._page(
            f"SELECT created_ms, hook_id, doc, blobs FROM {self._sql.s}.hooks",
            where,
            params,
            ("created_ms", "hook_id"),
            cursor=cursor,
            limit=limit,
            sort=sort,
            id_field="hookId",
        )

    def list_waits(self, run_id: str) -> list[dict[str, Any]]:
        require_safe(run_id, "run id")
        rows = self._read(self._sql.list_waits, (run_id,))
        return [codec.load(doc, None) for (doc,) in rows]

    def _page(
        self,
        select: str,
        where: list[str],
        params: list[Any],
        key: tuple[str, str],
        *,
        cursor: str | None,
        limit: int | None,
        sort: str,
        id_field: str,
    ) -> Page:
        if sort not in ("asc", "desc"):
            raise ValueError(f"sort must be 'asc' or 'desc', not {sort!r}")
        where, params = list(where), list(params)
        op = ">" if sort == "asc" else "<"
        if cursor:
            c_ms, c_id = parse_cursor(cursor)
            if c_id is None:
                where.append(f"{key[0]} {op} %s")
                params.append(c_ms)
            else:
                where.append(f"({key[0]}, {key[1]}) {op} (%s, %s)")
                params.extend((c_ms, c_id))
        order = "ASC" if sort == "asc" else "DESC"
        sql = select
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {key[0]} {order}, {key[1]} {order}"
        if limit is not None:
            sql += " LIMIT %s"
            params.append(int(limit) + 1)
        rows = self._read(sql, tuple(params))
        has_more = limit is not None and len(rows) > limit
        if limit is not None:
            rows = rows[:limit]
        data = [codec.load(doc, blobs) for _, _, doc, blobs in rows]
        return Page(
            data=data, cursor=cursor_of(data[-1], id_field) if data else None, has_more=has_more
        )

    # ------------------------------------------------------------------ snapshots, blobs

    def save_snapshot(self, run_id: str, data: bytes, *, events_cursor: str | None) -> None:
        require_safe(run_id, "run id")
        q = self._sql
        held = self._held.get(run_id)
        blob = bytes(data)

        def run() -> None:
            with self._tx() as conn:
                if held is not None:
                    row = conn.execute(q.lease_row, (run_id,)).fetchone()
                    if row is None or (row[0], row[1]) != held:
                        raise LeaseLostError(
                            f"The lease of run {run_id} was taken over; the snapshot was not saved."
                        )
                now = int(_first(conn.execute(q.now_ms).fetchone()))
                conn.execute(q.save_snapshot, (run_id, blob, events_cursor, iso_from_ms(now)))

        self._retrying(run, "saving a snapshot")

    def load_snapshot(self, run_id: str) -> tuple[bytes, dict[str, Any]] | None:
        require_safe(run_id, "run id")
        rows = self._read(self._sql.load_snapshot, (run_id,))
        if not rows:
            return None
        data, events_cursor, created_at = rows[0]
        return bytes(data), {"eventsCursor": events_cursor, "createdAt": created_at}

    def delete_snapshot(self, run_id: str) -> None:
        require_safe(run_id, "run id")
        self._write_simple(self._sql.delete_snapshot, (run_id,))

    def put_blob(self, key: str, data: bytes) -> None:
        require_safe(key, "blob key")
        self._write_simple(self._sql.put_blob, (key, bytes(data)))

    def get_blob(self, key: str) -> bytes | None:
        require_safe(key, "blob key")
        rows = self._read(self._sql.get_blob, (key,))
        return bytes(rows[0][0]) if rows else None

    def delete_blob(self, key: str) -> None:
        require_safe(key, "blob key")
        self._write_simple(self._sql.delete_blob, (key,))

    def list_blobs(self, prefix: str) -> list[str]:
        rows = self._read(self._sql.list_blobs, (prefix,))
        return [r[0] for r in rows]

    # ------------------------------------------------------------------ leases

    @contextmanager
    def lease(self, run_id: str, *, wait: float | None = 0) -> Iterator[Lease]:
        from .lease import LeaseKeeper

        require_safe(run_id, "run id")
        owner = f"{self._owner_prefix}:{uuid.uuid4().hex[:12]}"
        deadline = None if wait is None else time.monotonic() + max(0.0, wait)
        delay = 0.02
        while True:
            epoch = self._acquire(run_id, owner)
            if epoch is not None:
                break
            if deadline is not None and time.monotonic() >= deadline:
                raise LeaseBusyError(f"The lease of run {run_id} is held by another worker.")
            time.sleep(delay)
            delay = min(delay * 2, 0.25)
        lease = Lease(run_id=run_id, epoch=epoch, owner=owner)
        self._held[run_id] = (owner, epoch)
        keeper = self._keepers[run_id] = LeaseKeeper(self, lease)
        keeper.start()
        try:
            yield lease
        finally:
            keeper.stop()
            if self._held.get(run_id) == (owner, epoch):
                del self._held[run_id]
                self._keepers.pop(run_id, None)
            try:  # one attempt, never raises: an unreleased row simply expires after the TTL
                with self.pool.connection(timeout=2) as conn:
                    conn.execute(self._sql.release_lease, (run_id, owner, epoch))
            except (psycopg.Error, PoolTimeout) as exc:
                log.debug("Could not release the lease of run %s (%s); it expires", run_id, exc)

    def lease_lost(self, run_id: str) -> bool:
        keeper = self._keepers.get(run_id)
        return bool(keeper is not None and keeper.lost)

    def _acquire(self, run_id: str, owner: str) -> int | None:
        rows = self._write_simple(self._sql.acquire_lease, (run_id, owner, self.lease_ttl))
        return int(rows[0][0]) if rows else None

    def renew_lease(self, lease: Lease) -> bool:
        """Extend the lease's expiry; False when it was lost (taken over)."""
        rows = self._write_simple(
            self._sql.renew_lease, (self.lease_ttl, lease.run_id, lease.owner, lease.epoch)
        )
        return bool(rows)

    # ------------------------------------------------------------------ misc

    def close(self) -> None:
        with self._cache_lock:
            self._cache.clear()
        pool = getattr(self, "pool", None)
        if pool is not None:
            pool.close()


def _strip(line: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in line.items() if k != "_terminal"}


class _Sql:
    """Every statement, with the schema name baked in once (they are prepared by psycopg)."""

    def __init__(self, schema: str) -> None:
        s = self.s = '"' + schema + '"'
        self.lock_run = f"SELECT last_seq FROM {s}.runs WHERE run_id = %s FOR UPDATE"
        self.events_after_seq = (
            f"SELECT seq, doc, blobs FROM {s}.events WHERE run_id = %s AND seq > %s ORDER BY seq"
        )
        self.event_exists = f"SELECT 1 FROM {s}.events WHERE run_id = %s AND event_id = %s"
        self.now_ms = "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint"
        self.lease_row = f"SELECT owner, epoch FROM {s}.run_leases WHERE run_id = %s FOR SHARE"
        self.token_claims = (
            f"SELECT token, run_id, hook_id FROM {s}.hook_tokens WHERE token = ANY(%s)"
        )
        self.insert_run = (
            f"INSERT INTO {s}.runs (run_id, workflow_name, status, created_ms, last_seq, doc, "
            "blobs) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        )
        self.update_run = (
            f"UPDATE {s}.runs SET status = %s, last_seq = %s, doc = %s, blobs = %s "
            "WHERE run_id = %s"
        )
        self.insert_event = (
            f"INSERT INTO {s}.events (run_id, seq, event_id, event_type, correlation_id, "
            "created_ms, terminal, doc, blobs) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        )
        self.upsert_step = (
            f"INSERT INTO {s}.steps (run_id, step_id, created_ms, doc, blobs) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (run_id, step_id) "
            "DO UPDATE SET doc = EXCLUDED.doc, blobs = EXCLUDED.blobs"
        )
        self.upsert_hook = (
            f"INSERT INTO {s}.hooks (run_id, hook_id, token, created_ms, doc, blobs) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (run_id, hook_id) "
            "DO UPDATE SET doc = EXCLUDED.doc, blobs = EXCLUDED.blobs"
        )
        self.delete_hook = f"DELETE FROM {s}.hooks WHERE run_id = %s AND hook_id = %s"
        # A plain insert: a concurrent claim by another run is a unique violation (-> retry,
        # which then sees the claim and stores hook_conflict).
        self.claim_token = (
            f"INSERT INTO {s}.hook_tokens (token, run_id, hook_id) VALUES (%s, %s, %s)"
        )
        self.release_token = (
            f"DELETE FROM {s}.hook_tokens WHERE token = %s AND run_id = %s AND hook_id = %s"
        )
        self.upsert_wait = (
            f"INSERT INTO {s}.waits (run_id, wait_id, created_ms, doc) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (run_id, wait_id) DO UPDATE SET doc = EXCLUDED.doc"
        )
        self.end_hooks = f"DELETE FROM {s}.hooks WHERE run_id = %s"
        self.end_tokens = f"DELETE FROM {s}.hook_tokens WHERE run_id = %s"
        self.end_waits = f"DELETE FROM {s}.waits WHERE run_id = %s"
        self.get_run = f"SELECT doc, blobs FROM {s}.runs WHERE run_id = %s"
        self.get_step = f"SELECT doc, blobs FROM {s}.steps WHERE run_id = %s AND step_id = %s"
        self.get_hook = (
            f"SELECT doc, blobs FROM {s}.hooks WHERE hook_id = %s ORDER BY created_ms LIMIT 1"
        )
        self.get_hook_by_token = (
            f"SELECT h.doc, h.blobs FROM {s}.hook_tokens t JOIN {s}.hooks h "
            "ON h.run_id = t.run_id AND h.hook_id = t.hook_id WHERE t.token = %s"
        )
        self.list_waits = (
            f"SELECT doc FROM {s}.waits WHERE run_id = %s ORDER BY created_ms, wait_id"
        )
        self.save_snapshot = (
            f"INSERT INTO {s}.snapshots (run_id, data, events_cursor, created_at) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (run_id) DO UPDATE SET data = EXCLUDED.data, "
            "events_cursor = EXCLUDED.events_cursor, created_at = EXCLUDED.created_at"
        )
        self.load_snapshot = (
            f"SELECT data, events_cursor, created_at FROM {s}.snapshots WHERE run_id = %s"
        )
        self.delete_snapshot = f"DELETE FROM {s}.snapshots WHERE run_id = %s"
        self.put_blob = (
            f"INSERT INTO {s}.blobs (key, data) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING"
        )
        self.get_blob = f"SELECT data FROM {s}.blobs WHERE key = %s"
        self.delete_blob = f"DELETE FROM {s}.blobs WHERE key = %s"
        # starts_with, not LIKE: "_" in a key is a LIKE wildcard
        self.list_blobs = f"SELECT key FROM {s}.blobs WHERE starts_with(key, %s) ORDER BY key"
        self.acquire_lease = (
            f"INSERT INTO {s}.run_leases AS l (run_id, owner, epoch, expires_at) "
            "VALUES (%s, %s, 1, clock_timestamp() + make_interval(secs => %s)) "
            "ON CONFLICT (run_id) DO UPDATE SET owner = EXCLUDED.owner, epoch = l.epoch + 1, "
            "expires_at = EXCLUDED.expires_at "
            "WHERE l.owner IS NULL OR l.owner = EXCLUDED.owner OR l.expires_at < clock_timestamp() "
            "RETURNING epoch"
        )
        self.renew_lease = (
            f"UPDATE {s}.run_leases SET expires_at = clock_timestamp() + make_interval(secs => %s) "
            "WHERE run_id = %s AND owner = %s AND epoch = %s RETURNING epoch"
        )
        self.release_lease = (
            f"UPDATE {s}.run_leases SET owner = NULL, expires_at = clock_timestamp() "
            "WHERE run_id = %s AND owner = %s AND epoch = %s"
        )
