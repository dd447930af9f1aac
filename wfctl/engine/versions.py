"""``wfctl upgrade``, ``wfctl rerun`` and ``wfctl gc``: moving runs between code versions.

- upgrade: a run that has not ended moves onto the current code only if its whole log replays
  under that code (the ``wfctl replay`` check); the move is a per-run pointer (codestore).
- rerun: a new run of the same workflow with the same input (copied as devl text, re-encrypted
  for the new run) on the current code; ``executionContext.rerunOf``.
- gc: code versions that no pending or running run uses are deleted (ended runs never execute
  code again; rerun and fork use the current code).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wfctl.engine import codestore
from wfctl.engine.app import short_name
from wfctl.engine.engine import TERMINAL_STATUSES, Engine, RunResult
from wfctl.errors import UsageError
from wfctl.serde import payload
from worlds import Page, all_items
from worlds.errors import LeaseBusyError

ACTIVE_STATUSES = ("pending", "running")


def active_runs(engine: Engine) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    for status in ACTIVE_STATUSES:

        def page(cursor: str | None, status: str = status) -> Page:
            return engine.world.list_runs(status=status, cursor=cursor, limit=500, sort="asc")

        runs.extend(all_items(page))
    return runs


# ------------------------------------------------------------------------------ upgrade


def upgrade_targets(engine: Engine, run_ids: list[str], all_runs: bool) -> list[dict[str, Any]]:
    """The runs to upgrade, validated before anything is checked or written."""
    if bool(run_ids) == all_runs:
        raise UsageError("give RUN_ID... or --all")
    if all_runs:
        return active_runs(engine)
    runs = []
    for rid in run_ids:
        run = engine.get_run(rid)  # NotFoundError: exit 3
        if run["status"] in TERMINAL_STATUSES:
            raise UsageError(
                f"run {rid} already {run['status']}; only runs that have not ended can be "
                "upgraded (use `wfctl rerun` or `wfctl fork` to run it again on the current code)"
            )
        runs.append(run)
    return runs


def upgrade_run(engine: Engine, run: dict[str, Any], *, dry_run: bool) -> dict[str, Any]:
    """{"runId", "from", "to", "moved", "divergence"?, "reason"?} for one run."""
    from wfctl.engine.replaycheck import check_run

    app = engine._require_app()
    rid = run["runId"]
    to = codestore.code_hash(app.bundle)
    out: dict[str, Any] = {"runId": rid, "from": codestore.effective_hash(engine.world, run)}
    out["to"] = to
    if out["from"] == to:
        out["moved"] = True
        out["reason"] = "already on the current code"
        return out
    try:
        # Under the run's lease: no invocation can add events between the check and the move.
        with engine.world.lease(rid, wait=5.0):
            run = engine.get_run(rid)
            if run["status"] in TERMINAL_STATUSES:
                out.update(moved=False, reason=f"run {run['status']} meanwhile")
                return out
            report = check_run(engine, rid, "replay", bundle=app.bundle)
            if not report.ok:
                out.update(moved=False, divergence=report.divergence)
                return out
            if not dry_run:
                codestore.pin(engine.world, app.bundle)
                codestore.set_pointer(engine.world, rid, to)
                # the heap was built by the old code: the next invocation replays the new one
                engine.world.delete_snapshot(rid)
            out["moved"] = True
    except LeaseBusyError:
        out.update(moved=False, reason="being driven by another process; try again")
    return out


# ------------------------------------------------------------------------------ rerun


def rerun(
    engine: Engine, run_id: str, *, wait: bool = True, timeout: float | None = None
) -> RunResult:
    source = engine.get_run(run_id)
    key = engine.check_key(source)
    text = payload.unwrap_text(source["input"], key)
    return engine.start(
        short_name(source["workflowName"]),
        [],
        runtime=stamped_runtime(source),
        wait=wait,
        timeout=timeout,
        context={"rerunOf": run_id},
        input_text=text,
    )


def stamped_runtime(run: dict[str, Any]) -> str | None:
    """The runtime the source run was started with (None: the default)."""
    return (run.get("executionContext") or {}).get("workflowRuntime") or None


# ------------------------------------------------------------------------------ gc


@dataclass
class GcReport:
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    pointers_removed: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "removed": self.removed,
            "kept": self.kept,
            "bytesFreed": self.bytes_freed,
            "pointersRemoved": self.pointers_removed,
        }


def gc(engine: Engine, *, dry_run: bool = False) -> GcReport:
    world = engine.world
    active = active_runs(engine)
    used: set[str] = set()
    for run in active:
        for h in (codestore.original_hash(run), codestore.effective_hash(world, run)):
            if h:
                used.add(h)
    report = GcReport()
    for h in codestore.stored_versions(world):
        if h in used:
            report.kept.append(h)
            continue
        blob = world.get_blob(codestore.blob_key(h))
        report.removed.append(h)
        report.bytes_freed += len(blob or b"")
        if not dry_run:
            codestore.delete_version(world, h)
    live = {r["runId"] for r in active}
    for key in world.list_blobs(codestore.PIN_PREFIX):
        if key[len(codestore.PIN_PREFIX) :] not in live:
            report.pointers_removed += 1
            if not dry_run:
                world.delete_blob(key)
    return report
