"""``wfctl snapshot``: build, describe and delete a run's stored VM snapshot."""

from __future__ import annotations

from typing import Any

from wfctl.engine.engine import TERMINAL_STATUSES, Engine
from wfctl.errors import NotFoundError, UsageError
from wfctl.runtime.events import EventFeed
from wfctl.runtime.machine import SnapshotRejected, WorkflowMachine
from wfctl.runtime.snapshot import SnapshotRuntime, decode_snapshot
from worlds.errors import LeaseBusyError


def build(engine: Engine, run_id: str) -> dict[str, Any]:
    """Position a VM at the run's current point (restore or replay) and save it."""
    run = engine.get_run(run_id)
    if run["status"] in TERMINAL_STATUSES:
        raise UsageError(
            f"run {run_id} is {run['status']}; only pending or running runs have snapshots"
        )
    key = engine.run_key(run_id)
    try:
        with engine.world.lease(run_id, wait=5.0):
            events = engine.world.list_events(run_id).data
            rt = engine.make_runtime(run, "snapshot", EventFeed(key), key)
            assert isinstance(rt, SnapshotRuntime)
            rt.checkpoint_every = 0
            try:
                state = rt.advance(events)
                if state.status != "suspended":
                    raise UsageError(
                        f"run {run_id}: the workflow is {state.status} at the end of its log; drive it instead"
                    )
                rt.unsaved = max(rt.unsaved, 1)  # always rewrite: that is what was asked
                size = rt.save()
            finally:
                rt.close()
    except LeaseBusyError as exc:
        raise UsageError(
            f"run {run_id} is being driven by another process; try again when it is idle"
        ) from exc
    info = show(engine, run_id)
    info["built"] = {"bytes": size, "from": rt.source, "notes": rt.notes}
    return info


def show(engine: Engine, run_id: str) -> dict[str, Any]:
    engine.get_run(run_id)
    loaded = engine.world.load_snapshot(run_id)
    if loaded is None:
        raise NotFoundError(f"run {run_id} has no snapshot")
    data, meta = loaded
    info: dict[str, Any] = {
        "runId": run_id,
        "eventsCursor": meta.get("eventsCursor"),
        "createdAt": meta.get("createdAt"),
        "storedBytes": len(data),
        "encrypted": data[:4] == b"encr",
    }
    try:
        raw = decode_snapshot(data, engine.run_key(run_id))
        header = WorkflowMachine.read_header(raw)
    except SnapshotRejected as exc:
        info["readable"] = False
        info["problem"] = str(exc)
        return info
    inner = data if not info["encrypted"] else b""
    info["codec"] = (
        inner[:4].decode("ascii", "replace")
        if inner[:4] in (b"zstd", b"gzip")
        else ("zstd" if info["encrypted"] else "none")
    )
    vm = header.get("vm") or {}
    info.update(
        readable=True,
        format=header.get("format"),
        memoryBytes=header.get("memoryLength"),
        deltaPages=len(header.get("pages", [])),
        rawBytes=len(raw),
        eventsConsumed=header.get("consumed"),
        codeHash=header.get("codeHash"),
        baseSha256=header.get("baseSha256"),
        wasmSha256=vm.get("wasm_sha256") or vm.get("wasmSha256"),
    )
    return info


def remove(engine: Engine, run_id: str) -> dict[str, Any]:
    engine.get_run(run_id)
    existed = engine.world.load_snapshot(run_id) is not None
    engine.world.delete_snapshot(run_id)
    return {"runId": run_id, "deleted": existed}
