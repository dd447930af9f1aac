"""What the engine needs from a runtime, and how one is chosen."""

from __future__ import annotations

import abc
import os
from typing import TYPE_CHECKING, Any

from wfctl.errors import UsageError

if TYPE_CHECKING:  # the machine loads the VM (wasmtime): only runtimes that run need it
    from wfctl.runtime.machine import VMState

RUNTIMES = ("snapshot", "replay")
DEFAULT_RUNTIME = "snapshot"


def validate_runtime(value: str | None, source: str) -> str | None:
    if value is None or value == "":
        return None
    if value not in RUNTIMES:
        raise UsageError(f"invalid {source} value {value!r}: expected 'snapshot' or 'replay'")
    return value


def choose_runtime(flag: str | None = None, env: dict[str, str] | None = None) -> str:
    """--runtime flag > WORKFLOW_RUNTIME > default (snapshot)."""
    env = os.environ if env is None else env
    return (
        validate_runtime(flag, "--runtime")
        or validate_runtime(env.get("WORKFLOW_RUNTIME"), "WORKFLOW_RUNTIME")
        or DEFAULT_RUNTIME
    )


def runtime_of_run(run: dict[str, Any], env: dict[str, str] | None = None) -> str:
    """The runtime a run was started with (stamped in executionContext), unless env forces replay."""
    env = os.environ if env is None else env
    forced = validate_runtime(env.get("WORKFLOW_RUNTIME"), "WORKFLOW_RUNTIME")
    stamped = (run.get("executionContext") or {}).get("workflowRuntime")
    if forced == "replay":
        return "replay"
    return (
        validate_runtime(stamped, "executionContext.workflowRuntime") or forced or DEFAULT_RUNTIME
    )


class Runtime(abc.ABC):
    """Positions a workflow VM at the end of a run's log and reports its state.

    ``advance(log)`` is called with the whole log seen so far (events in commit order); the
    runtime decides how much of it to feed. ``save`` lets the snapshot runtime persist
    the heap when the run leaves the process.
    """

    name: str
    notes: list[str]

    @abc.abstractmethod
    def advance(self, log: list[dict[str, Any]]) -> VMState: ...

    def save(self) -> int:
        """Persist the VM so another process can continue; returns bytes written (0 = nothing)."""
        return 0

    def close(self) -> None:
        """Release the VM(s) (default: nothing to release)."""
        return None
