"""Running one attempt of a Python step: the reference step lifecycle (workflow-devkit.md §6).

``step_started`` → call the function → ``step_completed`` | ``step_retrying`` | ``step_failed``.
Every world write tolerates a concurrent writer (conflict = someone else finished it).
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from wfctl.config import env_float
from wfctl.engine.app import App, short_name
from wfctl.engine.children import builtin_step
from wfctl.engine.registry import StepMetadata, _current
from wfctl.engine.tracebacks import user_traceback
from wfctl.errors import FatalError, RetryableError
from wfctl.serde import payload
from wfctl.serde.depth import check_depth
from wfctl.serde.values import JSError
from wfctl.streams import bind_args, step_streams
from worlds import EventResult, World
from worlds.errors import EntityConflictError, RunExpiredError, TooEarlyError

log = logging.getLogger("wfctl.steps")


def plain_error_text(message: str, stack: str, key: bytes | None) -> tuple[str, str]:
    """The error text stored in plaintext beside the serialized error (entities need a
    message): with encryption on, only a placeholder; the text stays in the encrypted payload."""
    return ("[encrypted]", "") if key is not None else (message, stack)


def retry_delay() -> float:
    """Delay before retrying a step that raised a plain exception (reference: ~1 s)."""
    return env_float("WFCTL_RETRY_DELAY", 1.0, minimum=0.0)


@dataclass
class StepOutcome:
    kind: str  # completed | failed | retry | skipped | gone
    retry_at: datetime | None = None


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def safe_str(exc: BaseException) -> str:
    """``str(exc)`` that never raises (a step's exception may have a broken ``__str__``)."""
    try:
        text = str(exc)
        return text if isinstance(text, str) else repr(text)
    except BaseException:  # noqa: BLE001 - any failure of user code is data here
        try:
            return f"<{type(exc).__name__} whose __str__ failed>"
        except BaseException:  # noqa: BLE001
            return "<exception whose __str__ failed>"


def _format_stack(exc: BaseException) -> str:
    try:
        return user_traceback(exc)  # the step's own frames, without the engine's
    except BaseException:  # noqa: BLE001
        pass
    try:
        return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()
    except BaseException:  # noqa: BLE001 - a broken exception still gets recorded
        return f"{type(exc).__name__}: {safe_str(exc)}"


#: Causes recorded per error (the reference records the chain; a longer one is cut).
MAX_CAUSES = 32


def js_error_from(exc: BaseException, _seen: set[int] | None = None) -> JSError:
    """A Python exception as the structured error the workflow will see. Defensive: a broken
    ``__str__`` or a cycle in the ``__cause__`` chain is recorded, never raised."""
    if isinstance(exc, JSError):
        return exc
    seen = _seen if _seen is not None else set()
    seen.add(id(exc))
    name = type(exc).__name__
    stack = _format_stack(exc)
    cause = getattr(exc, "__cause__", None)
    if cause is not None and (id(cause) in seen or len(seen) >= MAX_CAUSES):
        cause = None  # a cycle (or an absurdly long chain): stop here
    extra: dict[str, Any] = {}
    if isinstance(exc, FatalError) or getattr(exc, "fatal", False) is True:
        name = "FatalError"
        extra["fatal"] = True
    if isinstance(exc, RetryableError):
        name = "RetryableError"
        extra["retryAfter"] = exc.retry_after
    message = safe_str(exc)
    if not isinstance(exc, Exception):  # SystemExit(3) / KeyboardInterrupt: say which
        message = f"the step raised {name}" + (f" ({message})" if message else "")
    return JSError(
        name=name,
        message=message,
        stack=stack,
        cause=js_error_from(cause, seen) if cause is not None else None,
        extra=extra,
    )


class StepExecutor:
    """``defer=True`` (the engine, under the run's lease): the step's own events are
    group-committed -- appended at once, made durable by the run's next batch or flush."""

    def __init__(self, world: World, app: App, *, defer: bool = False) -> None:
        self.world = world
        self.app = app
        self.defer = defer

    def _append(
        self, run_id: str, kind: str, step_id: str, data: dict[str, Any] | None = None
    ) -> EventResult:
        if not self.defer:
            return self.world.create_event(run_id, kind, correlation_id=step_id, event_data=data)
        (res,) = self.world.create_events(run_id, [(kind, step_id, data)], durable=False)
        if res.conflict is not None:
            raise res.conflict
        return res

    def run(
        self,
        run: dict[str, Any],
        step_id: str,
        step_name: str,
        key: bytes | None,
        started: EventResult | None = None,
    ) -> StepOutcome:
        """One attempt; ``started``: its step_started, already written with the engine's batch."""
        run_id = run["runId"]
        short = short_name(step_name)
        sd = builtin_step(step_name, self.world) or self.app.step(step_name)
        if sd is None:
            known = ", ".join(sorted(self.app.steps)) or "none"
            err = JSError(
                name="FatalError",
                message=f'Step "{short}" is not registered in this app (steps.py defines: {known})',
                stack="",
                extra={"fatal": True},
            )
            return self._fail(run_id, step_id, err, key)

        try:
            if started is None:
                started = self._append(run_id, "step_started", step_id)
        except TooEarlyError as exc:
            return StepOutcome("retry", datetime.now(UTC) + timedelta(seconds=exc.retry_after))
        except EntityConflictError:
            return StepOutcome("skipped")
        except RunExpiredError:
            return StepOutcome("gone")
        step = started.step or self.world.get_step(run_id, step_id)
        attempt = int(step.get("attempt", 1))

        if attempt > sd.max_retries + 1 and step.get("error"):
            err = JSError(
                name="FatalError",
                message=f'Step "{short}" exceeded max retries ({attempt - 1} retries)',
                stack="",
                extra={"fatal": True},
            )
            return self._fail(run_id, step_id, err, key)

        decoded = payload.decode(step["input"], key=key)
        args = decoded.get("args") if isinstance(decoded, dict) else decoded
        args = list(args or [])
        md = StepMetadata(
            run_id=run_id,
            workflow_name=run["workflowName"],
            step_id=step_id,
            step_name=short,
            attempt=attempt,
            started_at=_parse_iso(step.get("startedAt") or step["createdAt"]),
        )
        token = _current.set(md)
        try:
            with step_streams(self.world, run_id, key, sd.is_async):
                args = bind_args(args)  # getWritable() handles become writers
                if sd.is_async:
                    import asyncio  # only apps with async steps pay for it

                    result = asyncio.run(sd.fn(*args))
                else:
                    result = sd.fn(*args)
        except BaseException as exc:  # noqa: BLE001 - a step failing (even by sys.exit() or
            # KeyboardInterrupt raised in its code) is data, not a crash of the engine
            return self._on_error(run_id, step_id, short, sd.max_retries, attempt, exc, key)
        finally:
            _current.reset(token)

        try:
            check_depth(result, f"step {short} returned a value")
            data = payload.encode(result, key=key, context=f"step {short} returned")
        except (TypeError, ValueError, RecursionError) as exc:
            message = safe_str(exc)
            if isinstance(exc, RecursionError):
                message = f"step {short} returned a value too deeply nested to serialize"
            err = JSError(name="FatalError", message=message, stack="", extra={"fatal": True})
            return self._fail(run_id, step_id, err, key)
        return self._write(
            run_id, step_id, "step_completed", {"result": data}, StepOutcome("completed")
        )

    # -- failures --------------------------------------------------------------------

    def _on_error(
        self,
        run_id: str,
        step_id: str,
        short: str,
        max_retries: int,
        attempt: int,
        exc: BaseException,
        key: bytes | None,
    ) -> StepOutcome:
        err = js_error_from(exc)
        if err.name == "FatalError":
            return self._fail(run_id, step_id, err, key)
        if attempt >= max_retries + 1:
            plural = "retry" if max_retries == 1 else "retries"
            wrapped = JSError(
                name="FatalError",
                message=f'Step "{short}" failed after {max_retries} {plural}: {err.message}',
                stack=err.stack,
                cause=err,
                extra={"fatal": True},
            )
            return self._fail(run_id, step_id, wrapped, key)
        if isinstance(exc, RetryableError):
            at = exc.retry_after
        else:
            at = datetime.now(UTC) + timedelta(seconds=retry_delay())
        log.info(
            "step %s attempt %d failed (%s); retrying at %s", short, attempt, err.message, _iso(at)
        )
        message, stack = plain_error_text(err.message, err.stack or "", key)
        data = {
            "error": payload.encode(err, key=key),
            "stack": stack,
            "message": message,
            "retryAfter": _iso(at),
        }
        return self._write(run_id, step_id, "step_retrying", data, StepOutcome("retry", at))

    def _fail(self, run_id: str, step_id: str, err: JSError, key: bytes | None) -> StepOutcome:
        message, stack = plain_error_text(err.message, err.stack or "", key)
        data = {"error": payload.encode(err, key=key), "stack": stack, "message": message}
        return self._write(run_id, step_id, "step_failed", data, StepOutcome("failed"))

    def _write(
        self, run_id: str, step_id: str, event_type: str, data: dict[str, Any], outcome: StepOutcome
    ) -> StepOutcome:
        try:
            self._append(run_id, event_type, step_id, data)
        except EntityConflictError:
            return StepOutcome("skipped")
        except RunExpiredError:
            return StepOutcome("gone")
        return outcome
