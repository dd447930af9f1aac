"""Exceptions raised by :class:`wfctl.Client` when a run does not complete."""

from __future__ import annotations

from typing import Any

from wfctl.errors import NotFoundError

__all__ = ["RunFailed", "RunCancelled", "NotFoundError"]


class RunFailed(Exception):
    """The run failed. ``error_name``/``message`` are the workflow's error (the thrown JS error,
    or the step error that propagated), ``step`` the name of the step whose failure ended the
    run (``None`` when the workflow code itself threw), ``error_code`` ``USER_ERROR`` or
    ``RUNTIME_ERROR``, ``error`` the decoded error value (a :class:`wfctl.JSError` usually)."""

    def __init__(
        self,
        run_id: str,
        error_name: str,
        message: str,
        *,
        step: str | None = None,
        error_code: str | None = None,
        error: Any = None,
    ) -> None:
        self.run_id = run_id
        self.error_name = error_name
        self.message = message
        self.step = step
        self.error_code = error_code
        self.error = error
        where = f" in step {step}" if step else ""
        super().__init__(f"run {run_id} failed{where}: {error_name}: {message}")


class RunCancelled(Exception):
    """The run was cancelled."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"run {run_id} was cancelled")
