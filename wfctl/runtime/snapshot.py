"""The snapshot runtime: keep the VM heap instead of re-executing the workflow.

Within one process the live VM is kept across every suspension of the run and fed only new
events. The heap is persisted (page deltas against the app template → zstd → optional
``encr``) when the run leaves the process and every ``WFCTL_SNAPSHOT_EVERY`` events as a
checkpoint; the next invocation restores it and feeds only the events after its cursor. Any
problem with a stored snapshot falls back to a replay from the log, with a note saying why.
"""

from __future__ import annotations

import logging
from typing import Any

from wfctl.config import env_int
from wfctl.runtime.base import Runtime
from wfctl.runtime.bundle import Bundle
from wfctl.runtime.events import EventFeed
from wfctl.runtime.machine import SnapshotRejected, VMState, WorkflowMachine
from wfctl.serde.compress import compress, decompress
from wfctl.serde.crypto import decrypt, encrypt
from worlds import World

log = logging.getLogger("wfctl.snapshot")

RUN_EVENTS = {"run_created", "run_started"}


def checkpoint_every() -> int:
    return env_int("WFCTL_SNAPSHOT_EVERY", 500, minimum=0)


def encode_snapshot(raw: bytes, key: bytes | None) -> bytes:
    data = compress(raw)
    return encrypt(data, key) if key else data


def decode_snapshot(data: bytes, key: bytes | None) -> bytes:
    if data[:4] == b"encr":
        if key is None:
            raise SnapshotRejected("snapshot is encrypted but no encryption key is available")
        try:
            data = decrypt(data, key)
        except Exception as exc:
            raise SnapshotRejected(f"snapshot cannot be decrypted ({exc})") from exc
    try:
        return decompress(data)
    except Exception as exc:
        raise SnapshotRejected(f"snapshot cannot be decompressed ({exc})") from exc


class SnapshotRuntime(Runtime):
    name = "snapshot"

    def __init__(
        self, bundle: Bundle, ctx: dict[str, Any], feed: EventFeed, world: World, key: bytes | None
    ) -> None:
        self.bundle = bundle
        self.ctx = ctx
        self.feed = feed
        self.world = world
        self.run_id = ctx["runId"]
        self.key = key
        self.machine: WorkflowMachine | None = None
        self.fed = 0  # how many log events the VM has consumed
        self.cursor: str | None = None
        self.unsaved = 0  # events fed since the heap was last persisted
        self.notes: list[str] = []
        self.source = "fresh"  # fresh | snapshot | replay-fallback
        self.saved_sizes: list[int] = []
        self.checkpoint_every = checkpoint_every()

    # -- positioning -------------------------------------------------------------------

    def _open(self, log_events: list[dict[str, Any]]) -> None:
        if any(e["eventType"] not in RUN_EVENTS for e in log_events):
            self._restore(log_events)
        if self.machine is None:
            self.machine = WorkflowMachine.fresh(self.bundle)
            self.machine.init(self.ctx)
            self.fed = 0

    def _restore(self, log_events: list[dict[str, Any]]) -> None:
        try:
            loaded = self.world.load_snapshot(self.run_id)
        except Exception as exc:
            loaded = None
            self._fallback(f"snapshot could not be read ({exc})")
            return
        if loaded is None:
            self._fallback("no snapshot stored")
            return
        data, meta = loaded
        cursor = meta.get("eventsCursor")
        try:
            machine = WorkflowMachine.load(self.bundle, decode_snapshot(data, self.key))
        except SnapshotRejected as exc:
            self._fallback(str(exc))
            return
        position = 0
        if cursor is not None:
            cursors = [self.world.event_cursor(e) for e in log_events]
            if cursor not in cursors:
                machine.close()
                self._fallback(f"snapshot cursor {cursor} is not in the event log")
                return
            position = cursors.index(cursor) + 1
        self.machine, self.fed, self.cursor, self.source = machine, position, cursor, "snapshot"

    def _fallback(self, why: str) -> None:
        msg = f"run {self.run_id}: {why}; replaying from the event log"
        self.notes.append(msg)
        self.source = "replay-fallback"
        log.info(msg)

    # -- Runtime -----------------------------------------------------------------------

    def advance(self, log_events: list[dict[str, Any]]) -> VMState:
        if self.machine is None:
            self._open(log_events)
        assert self.machine is not None
        new = log_events[self.fed :]
        state = self.machine.feed(self.feed.prepare_all(new))
        if new:
            self.fed = len(log_events)
            self.cursor = self.world.event_cursor(log_events[-1])
            self.unsaved += len(new)
        if (
            self.checkpoint_every
            and self.unsaved >= self.checkpoint_every
            and state.status == "suspended"
        ):
            self.save()
        return state

    def save(self) -> int:
        if self.machine is None or (self.unsaved == 0 and self.source == "snapshot"):
            return 0
        data = encode_snapshot(self.machine.dump(), self.key)
        self.world.save_snapshot(self.run_id, data, events_cursor=self.cursor)
        self.unsaved = 0
        self.source = "snapshot"
        self.saved_sizes.append(len(data))
        return len(data)

    def close(self) -> None:
        if self.machine is not None:
            self.machine.close()
            self.machine = None
