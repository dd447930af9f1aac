"""Driving one run without letting it take the caller down (``wfctl worker``).

:func:`drive_guarded` never raises for a single run. What can go wrong while driving a run
ends in one of two visible states:

* an **expected, possibly transient** problem (a wfctl/world/payload error, an ``OSError``
  such as a full disk, a busy lease): the run is left as it is (the journal is the commit
  point, nothing is half-written) and the message is returned; the next pass retries it;
* **anything else** (a defect reached through this run's code or data — the engine's own
  bug, a ``SystemExit`` from code it called...): the run is failed with ``RUNTIME_ERROR``
  naming the exception, so it does not crash every later pass, and the message is returned.

Only a ``KeyboardInterrupt`` on the main thread (a real Ctrl-C) propagates.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from wfctl.engine.engine import TERMINAL_STATUSES, Engine, RunResult
from wfctl.engine.executor import plain_error_text, safe_str
from wfctl.errors import WfctlError
from wfctl.serde import payload
from wfctl.serde.errors import PayloadError
from wfctl.serde.values import JSError
from worlds.errors import LeaseBusyError, WorldError

log = logging.getLogger("wfctl.engine")

__all__ = ["drive_guarded", "fail_run"]

_TRANSIENT = (WfctlError, WorldError, PayloadError, OSError)


def _message(run_id: str, text: str) -> str:
    return text if run_id in text else f"run {run_id}: {text}"


def drive_guarded(
    engine: Engine,
    run_id: str,
    *,
    wait: bool = True,
    timeout: float | None = None,
    lease_wait: float | None = 0,
) -> RunResult | str:
    """``engine.drive(...)``, or a one-line message when the run could not be driven."""
    try:
        return engine.drive(run_id, wait=wait, timeout=timeout, lease_wait=lease_wait)
    except _TRANSIENT as exc:
        return _message(run_id, safe_str(exc))
    except BaseException as exc:  # noqa: BLE001 - one run must not stop the others
        if isinstance(exc, KeyboardInterrupt) and threading.current_thread() is (
            threading.main_thread()
        ):
            raise
        log.exception("driving run %s failed", run_id)
        text = f"wfctl could not drive this run: {type(exc).__name__}: {safe_str(exc)}"
        try:
            fail_run(engine, run_id, text)
        except BaseException as again:  # noqa: BLE001
            return _message(run_id, f"{text} (and recording the failure failed: {again!r})")
        return _message(run_id, f"failed: {text}")


def fail_run(engine: Engine, run_id: str, message: str) -> dict[str, Any] | None:
    """Fail a non-terminal run with ``RUNTIME_ERROR`` (under its lease; a busy lease means
    another process is driving it: left alone). Returns the run, or None if left alone."""
    try:
        with engine.world.lease(run_id, wait=0):
            run = engine.world.get_run(run_id)
            if run["status"] in TERMINAL_STATUSES:
                return run
            key = engine.run_key(run_id)
            err = JSError(name="WorkflowRuntimeError", message=message, stack="")
            text, stack = plain_error_text(message, "", key)
            engine.world.create_event(
                run_id,
                "run_failed",
                event_data={
                    "error": payload.encode(err, key=key),
                    "errorCode": "RUNTIME_ERROR",
                    "message": text,
                    "stack": stack,
                },
            )
            engine.world.delete_snapshot(run_id)
            return engine.world.get_run(run_id)
    except LeaseBusyError:
        return None
