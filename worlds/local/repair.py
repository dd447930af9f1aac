"""Self-healing reads: projections are rebuilt from the journal, which is the commit point.

The reference files (``runs/``, ``hooks/``...) are a projection of each run's journal. A
damaged or missing projection must not strand a run whose journal is intact, so
:class:`SelfHealingMixin` (mixed into ``LocalWorld``) re-projects a run from its journal when

* ``get_run`` finds its run file missing or unreadable while the journal exists;
* ``list_runs`` is called and some journal has no readable run file (a run otherwise
  invisible to ``wfctl worker`` and ``replay --all``);
* ``get_hook_by_token`` finds a token claim whose hook file is missing or unreadable.

The opposite damage — a journal *shorter* than the projections it produced (cut by hand, a
restored backup...) — cannot be repaired from the journal; it is detected before the first
write to the run in this process (the run file was projected from a later event than the
journal's last) and refused with :class:`CorruptDataError`, so nothing is appended to a log
that lost events. :func:`journal_problem` reports it for ``wfctl`` commands.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ..errors import CorruptDataError, HookNotFoundError, RunNotFoundError
from .files import read_json
from .ids import is_safe_id, ms_from_iso

log = logging.getLogger("worlds.local")

__all__ = ["SelfHealingMixin", "journal_problem"]

_SUFFIX = ".jsonl"
_RANK = {"pending": 0, "running": 1, "completed": 2, "failed": 2, "cancelled": 2}


def _readable(path: Any) -> bool:
    try:
        value = read_json(path)
    except (ValueError, OSError):
        return False
    return isinstance(value, dict) and isinstance(value.get("status"), str)


def journal_problem(world: Any, run_id: str) -> str | None:
    """A sentence if the run's journal is shorter than its projections, else None."""
    try:  # the run file first: a journal read after it is at least as new (concurrent writers)
        run = read_json(world.layout.run(run_id))
    except (ValueError, OSError):
        return None  # a damaged run file is repaired, not a sign of a short journal
    if not isinstance(run, dict):
        return None
    journal = world._journals.get(run_id).refresh()
    if not journal.exists or not journal.lines:
        return None
    last_ms = ms_from_iso(journal.lines[-1].get("createdAt")) or 0
    updated = ms_from_iso(run.get("updatedAt")) or 0
    status = journal.state.run.get("status") if journal.state.run else None
    # A projection may lag behind the journal (it is written behind it), never lead it: a run
    # file with a later status than the journal's, or updated after its last event, was
    # projected from events the journal no longer has.
    ahead = status is not None and _RANK.get(run.get("status"), 0) > _RANK.get(status, 0)
    if updated > last_ms or ahead:
        return (
            f"the journal of run {run_id} is shorter than its projections: it ends at "
            f"{journal.lines[-1].get('eventType')} ({len(journal.lines)} events) but the run "
            f"file says {run.get('status')!r}, updated later; restore the journal "
            f"{world.layout.journal(run_id)} (nothing was written)"
        )
    return None


class SelfHealingMixin:
    """Put before the reads mixin in ``LocalWorld``'s bases."""

    def _heal(self, run_id: str) -> bool:
        if not is_safe_id(run_id) or not self.layout.journal(run_id).exists():  # type: ignore[attr-defined]
            return False
        log.warning("Rebuilding the projection of run %s from its journal", run_id)
        self.reproject_run(run_id)  # type: ignore[attr-defined]
        return True

    def get_run(self, run_id: str) -> dict:
        try:
            return super().get_run(run_id)  # type: ignore[misc]
        except (CorruptDataError, RunNotFoundError):
            if not self._heal(run_id):
                raise
        return super().get_run(run_id)  # type: ignore[misc]

    def list_runs(self, **kwargs: Any) -> Any:
        journals = self.layout.journals  # type: ignore[attr-defined]
        try:
            names = os.listdir(journals)
        except FileNotFoundError:
            names = []
        seen: dict[str, tuple[int, int]] = self.__dict__.setdefault("_healthy_runs", {})
        for name in names:
            if not name.endswith(_SUFFIX):
                continue
            run_id = name[: -len(_SUFFIX)]
            path = self.layout.run(run_id)  # type: ignore[attr-defined]
            try:
                st = path.stat()
                stamp = (st.st_mtime_ns, st.st_size)
            except FileNotFoundError:
                stamp = None
            if stamp is not None and seen.get(run_id) == stamp:
                continue
            if stamp is None or not _readable(path):
                self._heal(run_id)
            else:
                seen[run_id] = stamp
        return super().list_runs(**kwargs)  # type: ignore[misc]

    def get_hook_by_token(self, token: str) -> dict:
        try:
            return super().get_hook_by_token(token)  # type: ignore[misc]
        except HookNotFoundError:
            claim = self._claims.read(token) if isinstance(token, str) else None  # type: ignore[attr-defined]
            if not claim and not self.layout.version.exists():  # type: ignore[attr-defined]
                from .shared import rebuild_all  # the shared tree was deleted under us

                if not rebuild_all(self):
                    raise
            elif not claim or not self._heal(str(claim.get("runId"))):
                raise
        return super().get_hook_by_token(token)  # type: ignore[misc]

    def journal_problem(self, run_id: str) -> str | None:
        return journal_problem(self, run_id)

    def _verify_journal(self, run_id: str) -> None:
        """Called by ``create_event`` (once per run and process): refuse to append to a
        journal shorter than its projections."""
        checked: set[str] = self.__dict__.setdefault("_journal_checked", set())
        if run_id in checked:
            return
        problem = journal_problem(self, run_id)
        if problem is not None:
            raise CorruptDataError(str(self.layout.journal(run_id)), problem)  # type: ignore[attr-defined]
        checked.add(run_id)
