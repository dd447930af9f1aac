"""Read side of LocalWorld: entity files, directory listings and the per-run journal.

Reads never create anything (a missing store lists as empty). The one exception is a run whose
journal is missing while its run file exists (a store written by the DevKit, or a lost index):
its journal is rebuilt once from ``events/<runId>-*.json``.
"""

from __future__ import annotations

import bisect
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CorruptDataError, HookNotFoundError, RunNotFoundError, StepNotFoundError
from ..world import Page
from .entities import clone
from .files import read_json
from .ids import is_safe_id, ms_from_iso, require_safe
from .journal import public_event
from .listing import entity_key, newest, paginate, parse_cursor, scan_json, scan_run_files

if TYPE_CHECKING:
    from .journal import JournalCache
    from .layout import Layout
    from .tokens import TokenClaims

log = logging.getLogger("worlds.local")


class ReadsMixin:
    """get_*/list_* of :class:`~worlds.local.store.LocalWorld`.

    Relies on LocalWorld for ``_peek_state``, ``_write_lock``, ``_rebuild_journal`` and
    ``_fold_event_files`` (the journal logic lives with the write path).
    """

    layout: Layout
    _journals: JournalCache
    _claims: TokenClaims

    def _read_entity(self, path: Path, missing: Exception) -> dict:
        try:
            value = read_json(path)
        except ValueError as exc:
            raise CorruptDataError(str(path), f"{path} is not valid JSON.") from exc
        if value is None:
            raise missing
        if not isinstance(value, dict):
            raise CorruptDataError(str(path), f"{path} does not hold a JSON object.")
        return value

    def get_run(self, run_id: str) -> dict:
        require_safe(run_id, "run id")
        return self._read_entity(
            self.layout.run(run_id), RunNotFoundError(f'Workflow run "{run_id}" not found.')
        )

    def get_step(self, run_id: str, step_id: str) -> dict:
        require_safe(run_id, "run id")
        require_safe(step_id, "step id")
        missing = StepNotFoundError(f'Step "{step_id}" not found.')
        found: dict | None = None
        for path in self.layout.step_paths(run_id, step_id):  # flat and run-scoped
            try:
                found = newest(found, self._read_entity(path, missing))
            except StepNotFoundError:
                continue
        if found is None:
            raise missing
        return found

    def get_hook(self, hook_id: str) -> dict:
        require_safe(hook_id, "hook id")
        return self._read_entity(
            self.layout.hook(hook_id), HookNotFoundError(f'Hook "{hook_id}" not found.')
        )

    def get_hook_by_token(self, token: str) -> dict:
        claim = self._claims.read(token) if isinstance(token, str) else None
        if claim is not None and is_safe_id(claim.get("hookId")):
            try:
                hook = read_json(self.layout.hook(claim["hookId"]))
            except ValueError:
                hook = None
            if isinstance(hook, dict) and hook.get("token") == token:
                return hook
        # No usable claim: scan like world-local's getByToken does.
        for _, hook in scan_json(self.layout.hooks):
            if isinstance(hook, dict) and hook.get("token") == token:
                return hook
        raise HookNotFoundError(f"No hook holds the token {token!r}.", token=token)

    def list_runs(
        self,
        *,
        workflow_name: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
        sort: str = "desc",
    ) -> Page:
        items = []
        for path, run in scan_json(self.layout.runs):
            key = entity_key(run, "runId") if isinstance(run, dict) else None
            if key is None or not isinstance(run.get("status"), str):
                log.warning("Skipping %s: not a workflow run", path)
                continue
            if workflow_name is not None and run.get("workflowName") != workflow_name:
                continue
            if status is not None and run.get("status") != status:
                continue
            items.append((key, run))
        return paginate(items, id_field="runId", cursor=cursor, limit=limit, sort=sort)

    def list_events(
        self,
        run_id: str,
        *,
        cursor: str | None = None,
        limit: int | None = None,
        sort: str = "asc",
    ) -> Page:
        require_safe(run_id, "run id")
        lines, keys = self._journals.get(run_id).read()
        if not lines and self.layout.run(run_id).exists():
            lines, keys = self._recover_index(run_id)
        if cursor and sort == "asc":
            # The journal is in (createdAt, id) order: start right after the cursor instead of
            # building every event of the run (the engine asks for "what is new" constantly).
            c_ms, c_id = parse_cursor(cursor)
            start = bisect.bisect_right(keys, (c_ms, c_id if c_id is not None else "\U0010ffff"))
            lines, keys, cursor = lines[start:], keys[start:], None
        items = [(key, public_event(line)) for key, line in zip(keys, lines, strict=True)]
        return paginate(
            items,
            id_field="eventId",
            cursor=cursor,
            limit=limit,
            sort=sort,
            presorted=True,
            copy=clone,
        )

    def _recover_index(self, run_id: str) -> tuple[list[dict], list[tuple[int, str]]]:
        """Events of a run whose journal is missing: rebuild it (once) or read events/."""
        journal = self._journals.get(run_id)
        if journal.refresh().exists:
            return journal.read()
        try:
            with self._write_lock(run_id):
                if not journal.refresh().exists:
                    self._rebuild_journal(run_id)
            return journal.read()
        except OSError as exc:  # e.g. a read-only store: serve the event files as they are
            log.warning("Cannot rebuild the journal of %s (%s); reading events/", run_id, exc)
            lines, _ = self._fold_event_files(run_id)
            return lines, [(ms_from_iso(e.get("createdAt")) or 0, e["eventId"]) for e in lines]

    def list_steps(
        self, run_id: str, *, cursor: str | None = None, limit: int = 20, sort: str = "desc"
    ) -> Page:
        require_safe(run_id, "run id")
        steps: dict[str, dict] = {}
        for path, step in scan_run_files(self.layout.steps, run_id):  # both layouts
            key = entity_key(step, "stepId") if isinstance(step, dict) else None
            if key is None:
                log.warning("Skipping %s: not a step", path)
                continue
            if step.get("runId") == run_id:
                steps[key[1]] = newest(steps.get(key[1]), step)  # type: ignore[assignment]
        items = [(entity_key(s, "stepId"), s) for s in steps.values()]
        return paginate(items, id_field="stepId", cursor=cursor, limit=limit, sort=sort)  # type: ignore[arg-type]

    def list_hooks(
        self,
        *,
        run_id: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
        sort: str = "asc",
    ) -> Page:
        items = []
        for path, hook in scan_json(self.layout.hooks):
            key = entity_key(hook, "hookId") if isinstance(hook, dict) else None
            if key is None:
                log.warning("Skipping %s: not a hook", path)
                continue
            if run_id is None or hook.get("runId") == run_id:
                items.append((key, hook))
        return paginate(items, id_field="hookId", cursor=cursor, limit=limit, sort=sort)

    def list_waits(self, run_id: str) -> list[dict]:
        require_safe(run_id, "run id")
        journal = self._journals.get(run_id).refresh()
        if journal.exists:
            with journal.lock:  # another thread's refresh may be folding new lines
                waits = list(journal.state.waits.values())
        else:
            state = self._peek_state(run_id)
            waits = list(state.waits.values()) if state is not None else []
        waits.sort(key=lambda w: (ms_from_iso(w.get("createdAt")) or 0, w["waitId"]))
        return [clone(w) for w in waits]
