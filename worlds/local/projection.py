"""Projection: the reference files (entities, lock files, token claims, event file) of an event.

Runs after the journal commit, under the run's write lock, from the folded state *after* the
event. Every step is idempotent (overwrite entities, create lock files if absent, delete if
present), so re-running it for the journal's last event after a crash (roll-forward) is safe.
The event file is written last: its presence is the marker that the event was fully projected.

These writes are atomic (temp + rename) but not fsynced: the fsynced journal is the commit
point and roll-forward rebuilds a projection that a crash lost.
"""

from __future__ import annotations

from .files import create_exclusive, dumps_pretty, unlink, utf8, write_atomic
from .journal import public_event
from .layout import Layout
from .state import TERMINAL_RUN_EVENTS, RunState
from .tokens import TokenClaims


class Projector:
    def __init__(self, layout: Layout, claims: TokenClaims) -> None:
        self._layout = layout
        self._claims = claims

    def _write(self, path, value) -> None:
        write_atomic(path, utf8(dumps_pretty(value)), durable=False)

    def _lock(self, kind: str, name: str) -> None:
        create_exclusive(self._layout.lock_file(kind, name))

    def project(self, line: dict, state: RunState) -> None:
        layout = self._layout
        kind = line["eventType"]
        run_id = state.run_id
        corr = line.get("correlationId")
        key = f"{run_id}-{corr}"

        if kind in ("run_created", "run_started") or kind in TERMINAL_RUN_EVENTS:
            if state.run is not None:
                self._write(layout.run(run_id), state.run)
            if kind in TERMINAL_RUN_EVENTS:
                self._end_run(state)
        elif kind.startswith("step_"):
            if kind == "step_created":
                self._lock("steps", f"{key}.created")
            elif kind in ("step_completed", "step_failed"):
                self._lock("steps", f"{key}.terminal")
            step = state.steps.get(corr)
            if step is not None:
                self._write(layout.step(run_id, corr), step)
        elif kind == "hook_created":
            hook = state.hooks.get(corr)
            if hook is not None:
                self._claims.ensure(hook["token"], run_id, corr)
                self._write(layout.hook(corr), hook)
        elif kind == "hook_disposed":
            self._lock("hooks", f"{corr}.disposed")
            unlink(layout.hook(corr))
            token = state.hook_tokens.get(corr)
            if token is not None:
                self._claims.release(token, run_id, corr)
        elif kind in ("wait_created", "wait_completed"):
            suffix = "created" if kind == "wait_created" else "completed"
            self._lock("waits", f"{key}.{suffix}")
            wait = state.waits.get(corr)
            if wait is not None:
                self._write(layout.wait(run_id, corr), wait)
        # hook_received / hook_conflict change no entity.

        self._write(layout.event(run_id, line["eventId"]), public_event(line))

    def _end_run(self, state: RunState) -> None:
        """A terminal run loses its hooks (with their token claims) and its waits."""
        for hook_id, token in state.hook_tokens.items():
            unlink(self._layout.hook(hook_id))
            if token:
                self._claims.release(token, state.run_id, hook_id)
        for corr in state.wait_ids:
            unlink(self._layout.wait(state.run_id, corr))

    def reproject(self, lines: list[dict], state: RunState) -> None:
        """Rewrite every file of a run from its journal (repair after e.g. a power loss).

        Projecting each line with the *final* state is correct because every step only writes
        the entity's final form, creates missing lock files or deletes what the end state lacks.
        """
        once = _WriteOnce(self._layout, self._claims)  # a run's own: safe from any thread
        for line in lines:
            once.project(line, state)


class _WriteOnce(Projector):
    """Projecting with the final state, each entity file needs writing only once."""

    def __init__(self, layout: Layout, claims: TokenClaims) -> None:
        super().__init__(layout, claims)
        self._written: set[object] = set()

    def _write(self, path: object, value: object) -> None:
        if path not in self._written:
            self._written.add(path)
            super()._write(path, value)
