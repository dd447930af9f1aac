"""The messages of the runtime failures the engine records, and when two are "the same".

``wfctl replay`` re-executes stored runs. A run that failed because its VM failed (the time
budget, a wasm trap, a broken protocol) or because it waited on a promise nothing could settle
fails the same way again: that is a reproduction, not a divergence. Runtime failures are
compared by *kind*, since their exact text may depend on the configuration (the budget in
seconds).
"""

from __future__ import annotations

from wfctl.vm import VMError, VMTimeout

__all__ = ["UNSETTLEABLE", "failure_kind", "reproduced", "vm_failure_message"]

UNSETTLEABLE = "the workflow is waiting on a promise that no step, sleep or hook can settle"
_BUDGET = "exceeded its execution budget"
_VM = "the workflow VM failed: "


def vm_failure_message(exc: VMError) -> str:
    """The run_failed message the engine writes for a VM error."""
    if isinstance(exc, VMTimeout):
        return str(exc)
    return f"{_VM}{exc}"


def failure_kind(message: str | None) -> str | None:
    """``budget`` / ``trap`` / ``unsettleable`` / ``vm:<text>``, or None (not a runtime
    failure of the VM)."""
    if not message:
        return None
    if _BUDGET in message:
        return "budget"
    if message.startswith(_VM + "wasm trap:"):
        return "trap"
    if message == UNSETTLEABLE:
        return "unsettleable"
    if message.startswith(_VM):
        return "vm:" + message
    return None


def reproduced(stored: str | None, actual: str) -> bool:
    """Whether the stored failure message and the re-executed one are the same failure."""
    kind = failure_kind(actual)
    return kind is not None and kind == failure_kind(stored)
