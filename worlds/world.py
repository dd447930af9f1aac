"""The World interface: the event store every wfctl layer above it talks to.

Entities and events are plain ``dict`` objects in the reference JSON shape (camelCase keys, see
``workflow-devkit.md`` §2.1/§2.4), with two in-memory conventions:

- dates are ISO-8601 UTC strings with milliseconds, e.g. ``"2026-11-22T06:42:07.436Z"``;
- payload fields (``input``, ``output``, ``result``, ``payload``, ``metadata`` and ``error`` where
  it is serialized data) are ``bytes`` (how a world stores them is its own business).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple

from .ids import require_safe
from .streams import StreamStore


@dataclass
class Page:
    """One page of a listing.

    ``cursor`` is an opaque string naming the last item (never ``None`` when ``data`` is
    non-empty, also on the last page); pass it back to get the items strictly after it. Only
    the world that made a cursor builds or parses it.
    ``has_more`` says whether more items existed beyond ``limit`` when the page was read.
    """

    data: list[dict[str, Any]]
    cursor: str | None
    has_more: bool


@dataclass
class EventResult:
    """What ``create_event`` did: the stored event and the entity it created or changed.

    ``event`` is ``None`` for an idempotent ``run_started`` (nothing written) and, in a
    :meth:`World.create_events` batch, for an item skipped as a duplicate (``conflict`` then
    holds the :class:`~worlds.errors.EntityConflictError`).
    """

    event: dict[str, Any] | None
    run: dict[str, Any] | None = None
    step: dict[str, Any] | None = None
    hook: dict[str, Any] | None = None
    wait: dict[str, Any] | None = None
    conflict: Exception | None = None


class EventItem(NamedTuple):
    """One event of a :meth:`World.create_events` batch."""

    event_type: str
    correlation_id: str | None = None
    event_data: dict[str, Any] | None = None


#: A checked batch item: (event type, correlation id, normalized event data).
EventRequest = tuple[str, str | None, dict[str, Any]]


def as_item(item: Any) -> EventItem:
    """An :class:`EventItem` from an EventItem, a tuple or a ``{eventType, correlationId,
    eventData}`` dict."""
    if isinstance(item, EventItem):
        return item
    if isinstance(item, dict):
        return EventItem(item["eventType"], item.get("correlationId"), item.get("eventData"))
    return EventItem(*item)


@dataclass(frozen=True)
class Lease:
    """A held driving lease. ``epoch`` is the fencing token: it grows with every acquisition of
    the run's lease, and a write under an older epoch is rejected (``LeaseLostError``)."""

    run_id: str
    epoch: int
    owner: str


class World(StreamStore, abc.ABC):
    """Event store for workflow runs.

    **Writes.** Every state change goes through :meth:`create_event`. It validates the event
    against the run's current state (reference §2.5), assigns ``eventId`` (``evnt_`` + ULID) and
    ``createdAt``, appends it durably, then updates the entity views. Per run, ``createdAt`` and
    ``eventId`` are strictly increasing in write order (``createdAt = max(now, last)``), so
    write order equals the reference sort order (createdAt, then id).

    ``event_data`` per event type (keys the caller passes; payloads are ``bytes``):

    ============== =============================================================================
    run_created    ``{deploymentId, workflowName, input, executionContext?}``; ``run_id=None``
                   lets the world generate ``wrun_<ULID>``
    run_started    none (any given data is dropped from the stored event)
    run_completed  ``{output}``
    run_failed     ``{error: bytes, errorCode?: str, message: str, stack?: str}``
    run_cancelled  none
    step_created   ``{stepName, input}``
    step_started   none
    step_completed ``{result}``
    step_failed    ``{error: bytes, stack?: str, message: str}``
    step_retrying  ``{error: bytes, stack?: str, message: str, retryAfter?: ISO str}``
    hook_created   ``{token, metadata?, isWebhook?}``
    hook_received  ``{payload}``
    hook_disposed  none
    wait_created   ``{resumeAt: ISO str}``
    wait_completed none
    ============== =============================================================================

    ``message`` (and ``stack``) of the three error events only feed the entities' plain error
    objects (step ``error: {message, stack}``, run ``error: {message, stack, code}``); ``message``
    is *not* stored in the event itself, matching the reference event shape. ``error`` may also be
    a plain string (then it doubles as the message).

    Rules: ``run_started`` on a running run is idempotent (``EventResult(event=None, run=run)``);
    ``run_cancelled`` on a cancelled run writes another event; terminal run events delete the
    run's hooks (and token claims) and waits; ``hook_created`` whose token is held by another live
    hook stores and returns a ``hook_conflict`` event instead (no error); a second
    ``step_created``/``wait_created`` for the same correlation id, a second terminal step event,
    ``wait_completed`` or ``hook_disposed`` raise ``EntityConflictError``.

    **Reads** never create anything; a missing store lists as empty.
    """

    def create_event(
        self,
        run_id: str | None,
        event_type: str,
        *,
        correlation_id: str | None = None,
        event_data: dict[str, Any] | None = None,
    ) -> EventResult:
        """Validate, append and project one event: the one-item form of :meth:`create_events`
        that raises a duplicate's ``EntityConflictError``. ``run_created`` may omit the run id
        (a new ``wrun_<ULID>``). Raises ``worlds.errors.*``."""
        from .rules import check_request, check_run_id_time, new_run_id, normalize_data

        if event_type == "run_created":
            if run_id is None:
                run_id = new_run_id()
            else:
                require_safe(run_id, "run id")
                check_run_id_time(run_id)
        elif run_id is None:
            check_request(event_type, run_id, correlation_id, normalize_data(event_data))
        assert run_id is not None  # check_request raised: only run_created may omit it
        requests = self._requests(run_id, [EventItem(event_type, correlation_id, event_data)])
        (result,) = self._commit(run_id, requests)
        if result.conflict is not None:
            raise result.conflict
        return result

    def create_events(
        self, run_id: str, items: list[Any], *, durable: bool = True
    ) -> list[EventResult]:
        """Validate and append several events of one run in **one durable commit**.

        Items (:class:`EventItem`, tuples or dicts) are validated in order, each against the
        state including the earlier items. An item that is a duplicate
        (``EntityConflictError``) is skipped: its result has ``event=None`` and ``conflict``
        set; the others are written. Any other error aborts the whole batch (nothing written).

        ``durable=False`` (group commit, perf): the batch is committed and visible at once, but
        a world may let it reach stable storage with the run's next durable commit or
        :meth:`flush` instead of its own (it survives a crash of this process either way; a
        power loss before that fsync may lose it). A world may ignore the flag.
        """
        from .errors import InvalidTransitionError
        from .rules import check_run_id_time

        if run_id is None:
            raise InvalidTransitionError("create_events needs a run id.")
        require_safe(run_id, "run id")
        batch = [as_item(item) for item in items]
        if any(item.event_type == "run_created" for item in batch):
            check_run_id_time(run_id)
        requests = self._requests(run_id, batch)
        return self._commit(run_id, requests, durable=durable) if requests else []

    @staticmethod
    def _requests(run_id: str, items: list[EventItem]) -> list[EventRequest]:
        """The items as requests: correlation ids safe, data normalized, each request valid on
        its own (``rules.check_request``); what depends on the run's state is ``_commit``'s."""
        from .rules import check_request, normalize_data

        requests: list[EventRequest] = []
        for kind, corr, event_data in items:
            if corr is not None:
                require_safe(corr, "correlation id")
            data = normalize_data(event_data)
            check_request(kind, run_id, corr, data)
            requests.append((kind, corr, data))
        return requests

    @abc.abstractmethod
    def _commit(
        self, run_id: str, requests: list[EventRequest], *, durable: bool = True
    ) -> list[EventResult]:
        """The world's write: validate ``requests`` (non-empty, each valid on its own) against
        the run's state with :mod:`worlds.rules`, append them in one commit and project them
        (see :meth:`create_events`). ``run_id`` is safe; ``run_created`` has a valid id time."""

    def flush(self, run_id: str) -> None:
        """Make every event of ``run_id`` committed through this world durable, and whatever
        the world derives from them (e.g. the local reference files) present. The engine calls
        it when an invocation suspends or ends; releasing the run's lease does it too."""
        return None

    def lease_lost(self, run_id: str) -> bool:
        """Whether this world's lease of ``run_id`` was found taken over by its heartbeat (the
        next write would be fenced). Worlds whose leases cannot be lost say False."""
        return False

    def event_cursor(self, event: dict[str, Any]) -> str:
        """The opaque cursor naming ``event`` (an event this world returned)."""
        from .rules import cursor_of

        return cursor_of(event, "eventId")

    def schema_status(self) -> dict[str, Any]:
        """``{"world", "schemaVersion", "current"}`` of the store behind this world."""
        return {"world": "local", "schemaVersion": 1, "current": True}

    def migrate(self) -> int:
        """Create or upgrade the store's schema (idempotent); returns the schema version."""
        return int(self.schema_status()["schemaVersion"])

    @abc.abstractmethod
    def get_run(self, run_id: str) -> dict[str, Any]:
        """The run entity. Raises ``RunNotFoundError``."""

    @abc.abstractmethod
    def list_runs(
        self,
        *,
        workflow_name: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
        sort: str = "desc",
    ) -> Page:
        """Runs, newest first by default, optionally filtered by workflow name and status."""

    @abc.abstractmethod
    def list_events(
        self,
        run_id: str,
        *,
        cursor: str | None = None,
        limit: int | None = None,
        sort: str = "asc",
    ) -> Page:
        """Events of one run in write order; ``limit=None`` returns all after ``cursor``.

        An unknown run lists as empty.
        """

    @abc.abstractmethod
    def get_step(self, run_id: str, step_id: str) -> dict[str, Any]:
        """The step entity. Raises ``StepNotFoundError``."""

    @abc.abstractmethod
    def list_steps(
        self, run_id: str, *, cursor: str | None = None, limit: int = 20, sort: str = "desc"
    ) -> Page:
        """Steps of one run, newest first by default."""

    @abc.abstractmethod
    def get_hook(self, hook_id: str) -> dict[str, Any]:
        """The live hook entity. Raises ``HookNotFoundError``."""

    @abc.abstractmethod
    def get_hook_by_token(self, token: str) -> dict[str, Any]:
        """The live hook holding ``token``. Raises ``HookNotFoundError`` (with ``token``)."""

    @abc.abstractmethod
    def list_hooks(
        self,
        *,
        run_id: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
        sort: str = "asc",
    ) -> Page:
        """Live hooks, oldest first by default, optionally of one run."""

    @abc.abstractmethod
    def list_waits(self, run_id: str) -> list[dict[str, Any]]:
        """Open and completed waits of a run (empty once the run is terminal), oldest first."""

    @abc.abstractmethod
    def save_snapshot(self, run_id: str, data: bytes, *, events_cursor: str | None) -> None:
        """Store (overwrite) the run's snapshot and the cursor of the last event it includes."""

    @abc.abstractmethod
    def load_snapshot(self, run_id: str) -> tuple[bytes, dict[str, Any]] | None:
        """``(data, {"eventsCursor", "createdAt"})`` or ``None`` when there is no snapshot."""

    @abc.abstractmethod
    def delete_snapshot(self, run_id: str) -> None:
        """Remove the run's snapshot; idempotent."""

    @abc.abstractmethod
    def lease(self, run_id: str, *, wait: float | None = 0) -> AbstractContextManager[Lease]:
        """Exclusive per-run driving lease (threads and processes), released on exit or death.

        ``wait=0`` raises ``LeaseBusyError`` at once when held elsewhere, ``wait>0`` retries
        until that many seconds passed, ``None`` blocks until it is free. Yields a
        :class:`Lease`; while it is held, this world's writes for the run are fenced by its
        epoch (a write after another holder took the lease raises ``LeaseLostError``).
        """

    @abc.abstractmethod
    def put_blob(self, key: str, data: bytes) -> None:
        """Store a content-addressed blob under the caller's key (reference tools ignore it)."""

    @abc.abstractmethod
    def get_blob(self, key: str) -> bytes | None:
        """The blob stored under ``key`` or ``None``."""

    @abc.abstractmethod
    def delete_blob(self, key: str) -> None:
        """Remove the blob stored under ``key``; idempotent (used by ``wfctl gc`` and upgrade)."""

    @abc.abstractmethod
    def list_blobs(self, prefix: str) -> list[str]:
        """Keys of the stored blobs starting with ``prefix``, sorted."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release in-memory caches; the world is not used afterwards."""

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def all_items(fetch: Callable[[str | None], Page]) -> list[dict[str, Any]]:
    """Every item of a paginated listing: ``fetch(cursor)`` returns one page."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        items.extend(page.data)
        if not page.has_more:
            return items
        cursor = page.cursor
