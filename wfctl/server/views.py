"""JSON documents of the HTTP API, in the shapes of the CLI's ``--json`` output."""

from __future__ import annotations

from typing import Any

from wfctl.cli.jsonout import entity_json, error_json
from wfctl.engine.engine import Engine
from worlds import all_items

SECRET_CONTEXT_KEYS = ("hookSecret",)  # seeds webhook tokens: never served


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    ec = doc.get("executionContext")
    if isinstance(ec, dict) and any(k in ec for k in SECRET_CONTEXT_KEYS):
        doc["executionContext"] = {k: v for k, v in ec.items() if k not in SECRET_CONTEXT_KEYS}
    return doc


def run_doc(engine: Engine, run_id: str, *, decrypt: bool) -> dict[str, Any]:
    """As ``wfctl inspect run RUN_ID --json``."""
    run = engine.get_run(run_id)
    key = engine.run_key(run_id)
    events = engine.world.list_events(run_id).data
    doc = entity_json(run, key, decrypt=decrypt)
    if run["status"] == "failed":
        doc["error"] = error_json(run, events, key, decrypt=decrypt)
    steps = all_items(lambda c: engine.world.list_steps(run_id, cursor=c, limit=1000, sort="asc"))
    doc["steps"] = [entity_json(s, key, decrypt=decrypt) for s in steps]
    doc["eventCount"] = len(events)
    snap = engine.world.load_snapshot(run_id)
    doc["snapshotBytes"] = len(snap[0]) if snap else None
    return _public(doc)


def runs_page(
    engine: Engine,
    *,
    status: str | None,
    workflow: str | None,
    limit: int,
    cursor: str | None,
    decrypt: bool,
) -> dict[str, Any]:
    """As ``wfctl inspect runs --json``: ``{"data", "cursor", "hasMore"}``."""
    wf = (
        None
        if workflow is None
        else (workflow if "//" in workflow else f"workflow//./workflows//{workflow}")
    )
    page = engine.world.list_runs(workflow_name=wf, status=status, cursor=cursor, limit=limit)
    items = [
        _public(entity_json(r, engine.run_key(r["runId"]), decrypt=decrypt)) for r in page.data
    ]
    return {"data": items, "cursor": page.cursor, "hasMore": page.has_more}
