"""The engine's per-step hot path (issue 9): group commit and inline execution.

- :func:`create_pending` writes everything a suspended workflow asks for in **one** batch
  (``World.create_events``: one journal append + one fsync locally, one transaction on
  Postgres): its hooks, the ``step_created`` of every new step, its waits, and the
  ``step_started`` of the new steps that will run right away (as many as there are free
  slots), so starting a step costs no commit of its own.
- :class:`StepPool` runs a step inline on the engine thread when it is the only runnable one
  (no thread-pool hop, no thread start) and keeps the pool, created on first use, for
  concurrent steps (``Promise.all``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from wfctl.serde import payload
from worlds import EventResult
from worlds.errors import HookNotFoundError

if TYPE_CHECKING:
    from wfctl.engine.engine import _Invocation


def create_pending(
    inv: _Invocation, items: list[dict[str, Any]], free_slots: int
) -> tuple[bool, dict[str, EventResult]]:
    """Write the events for operations the log does not have yet, as one batch.

    Returns (a hook_created turned into hook_conflict, {step id: its step_started result} for
    the steps started in the batch). Hooks come first (as the reference: their tokens are
    claimed before any step runs); an item the log already has is skipped by the world.
    """
    batch: list[tuple[str, str, dict[str, Any] | None]] = []
    for p in items:
        if p["type"] != "hook":
            continue
        if not p.get("hasCreatedEvent"):
            data: dict[str, Any] = {"token": p["token"], "isWebhook": bool(p.get("isWebhook"))}
            if p.get("metadata") is not None:
                data["metadata"] = payload.wrap_text(p["metadata"], inv.key)
            batch.append(("hook_created", p["correlationId"], data))
        elif p.get("disposed"):
            try:
                inv.write("hook_disposed", p["correlationId"])
            except HookNotFoundError:
                pass
    starts: list[str] = []
    hooks_in_batch = bool(batch)  # a hook conflict must reach the workflow before steps start
    for p in items:
        if p.get("hasCreatedEvent"):
            continue
        cid = p["correlationId"]
        if p["type"] == "step":
            data = {"stepName": p["stepName"], "input": payload.wrap_text(p["input"], inv.key)}
            batch.append(("step_created", cid, data))
            if not hooks_in_batch and len(starts) < free_slots:
                starts.append(cid)
        elif p["type"] == "wait":
            batch.append(("wait_created", cid, {"resumeAt": _iso_ms(int(p["resumeAt"]))}))
    batch.extend(("step_started", cid, None) for cid in starts)
    if not batch:
        return False, {}
    results = inv.world.create_events(inv.run_id, batch)
    conflicted = False
    started: dict[str, EventResult] = {}
    for (kind, cid, _), res in zip(batch, results, strict=True):
        if res.event is None:
            continue
        inv.events_written += 1
        inv.written_ids.add(res.event["eventId"])  # a worker's memo: our own writes are no news
        if kind == "hook_created" and res.event["eventType"] == "hook_conflict":
            conflicted = True
        elif kind == "step_started":
            started[cid] = res
    return conflicted, started


def _iso_ms(ms: int) -> str:
    from wfctl.engine.engine import _iso_ms as iso

    return iso(ms)


class _Inline:
    active = False  # a step is running inline on the engine's thread
    deferred = False  # a graceful interrupt waits for it to finish


_inline = _Inline()


def defer_interrupt() -> bool:
    """For a SIGINT handler: True if an inline step is running and the interrupt will be raised
    after it (the step's outcome is recorded first); False if the handler should raise now.

    Without this, the KeyboardInterrupt would land inside the user's step, which records any
    BaseException it raises as a failed attempt.
    """
    if _inline.active:
        _inline.deferred = True
        return True
    return False


class StepPool:
    """Runs steps: inline when asked (the only runnable step), else on a lazily made pool."""

    def __init__(self, max_workers: int) -> None:
        self.max_workers = max_workers
        self._pool: ThreadPoolExecutor | None = None

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self.max_workers, thread_name_prefix="wfctl-step"
            )
        return self._pool.submit(fn, *args)

    @staticmethod
    def run_inline(fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``fn`` now, on this thread; a settled future (so the loop treats both alike).

        A graceful Ctrl-C that arrives meanwhile is held back (see :func:`defer_interrupt`)
        and raised once the step has recorded its outcome, as for a step on a pool thread.
        """
        fut: Future[Any] = Future()
        _inline.active = True
        try:
            fut.set_result(fn(*args))
        except Exception as exc:  # surfaces from fut.result(), as from a pool thread
            fut.set_exception(exc)
        finally:
            _inline.active = False
        if _inline.deferred:
            _inline.deferred = False
            raise KeyboardInterrupt
        return fut

    def shutdown(self, wait: bool = True) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait)
