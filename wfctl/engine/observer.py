"""What a driving process can watch: the engine calls a :class:`RunObserver` while it drives.

The engine only reports raw facts (new events of the log, a step handed to a thread, an
in-process sleep, the invocation ending, a log line); turning them into words is the caller's
job (``wfctl.cli.progress`` for the terminal). The default observer does nothing, so library
users and servers pay nothing for it. Callbacks must be quick and must not raise: they run on
the driving thread (``log`` also on step threads).
"""

from __future__ import annotations

from typing import Any


class RunObserver:
    """No-op base: override what you need."""

    def run_events(self, run_id: str, events: list[dict[str, Any]]) -> None:
        """New events of the run's log, in order (the first call has the log so far)."""

    def step_submitted(self, run_id: str, step_id: str, step_name: str) -> None:
        """A step attempt was handed to a step thread (its ``step_started`` follows)."""

    def sleeping(self, run_id: str, until_ms: int) -> None:
        """The driving thread sleeps in-process until ``until_ms`` (epoch ms): a timer or retry."""

    def run_left(self, run: dict[str, Any], waiting: list[dict[str, Any]]) -> None:
        """The invocation ended. ``run`` is the run entity; ``waiting`` what it waits on now:
        ``{"kind": "hook", "token", "hookId"}``, ``{"kind": "timer", "waitId", "resumeAt"}``,
        ``{"kind": "retry", "stepId", "stepName", "retryAfter"}``, ``{"kind": "step", ...}``."""

    def log(self, entry: dict[str, Any]) -> None:
        """A log line of the run (see :mod:`wfctl.engine.runlogs` for the entry's shape)."""


NULL_OBSERVER = RunObserver()
