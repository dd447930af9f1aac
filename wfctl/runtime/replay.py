"""The replay runtime: a fresh VM re-executes the workflow against the whole log each time."""

from __future__ import annotations

from typing import Any

from wfctl.runtime.base import Runtime
from wfctl.runtime.bundle import Bundle
from wfctl.runtime.events import EventFeed
from wfctl.runtime.machine import VMState, WorkflowMachine


class ReplayRuntime(Runtime):
    name = "replay"

    def __init__(self, bundle: Bundle, ctx: dict[str, Any], feed: EventFeed) -> None:
        self.bundle = bundle
        self.ctx = ctx
        self.feed = feed
        self.notes: list[str] = []
        self.replays = 0

    def advance(self, log: list[dict[str, Any]]) -> VMState:
        machine = WorkflowMachine.fresh(self.bundle)
        try:
            machine.init(self.ctx)
            self.replays += 1
            return machine.feed(self.feed.prepare_all(log))
        finally:
            machine.close()
