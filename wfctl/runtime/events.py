"""Turning world events into what the VM consumes.

The VM gets compact dicts: ``eventId``, ``eventType``, ``correlationId``, ``createdAt`` (epoch
ms, it drives the workflow clock) and ``d`` with only what the in-VM runtime reads, payloads
as decrypted ``devl`` text (the VM parses them itself).

Decoding is memoized per invocation by event id (the seed PR "memoize step return value
hydration across inline replays"): the replay runtime re-feeds the whole log on every inline
iteration, and without the memo each completed step would be decrypted and decoded once per
iteration — O(N²) for N sequential steps. The memo holds immutable text (each VM parses it
into fresh objects, so a cached object can never leak a mutation from one replay into the
next); entries over ``MEMO_MAX_CHARS`` are not kept, to bound memory, and errors are never kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wfctl.serde import payload

MEMO_MAX_CHARS = 4096


def iso_to_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000 + 0.5)


class EventFeed:
    """Prepares events for one run during one invocation."""

    def __init__(self, key: bytes | None, *, verify_inputs: bool = False) -> None:
        self.key = key
        self.verify_inputs = verify_inputs
        self._memo: dict[str, dict[str, Any]] = {}
        self.decodes = 0  # payloads decrypted/decoded (tests assert O(N) over an invocation)

    def _text(self, data: Any) -> str:
        self.decodes += 1
        return payload.unwrap_text(data, self.key)

    def prepare(self, ev: dict[str, Any]) -> dict[str, Any]:
        cached = self._memo.get(ev["eventId"])
        if cached is not None:
            return cached
        t = ev["eventType"]
        out: dict[str, Any] = {
            "eventId": ev["eventId"],
            "eventType": t,
            "createdAt": iso_to_ms(ev["createdAt"]),
        }
        if "correlationId" in ev:
            out["correlationId"] = ev["correlationId"]
        data = ev.get("eventData") or {}
        cacheable = True
        if t == "step_completed":
            text = self._text(data.get("result"))
            out["d"] = {"result": text}
            cacheable = len(text) <= MEMO_MAX_CHARS
        elif t == "step_failed":
            out["d"] = {"error": self._text(data.get("error"))}
            cacheable = False
        elif t == "hook_received":
            text = self._text(data.get("payload"))
            out["d"] = {"payload": text}
            cacheable = len(text) <= MEMO_MAX_CHARS
        elif t == "wait_created":
            out["d"] = {"resumeAt": iso_to_ms(data["resumeAt"])}
        elif t == "step_created":
            d = {"stepName": data.get("stepName")}
            if self.verify_inputs:
                d["input"] = self._text(data.get("input"))
            out["d"] = d
        elif t == "hook_created":
            out["d"] = {"token": data.get("token")}
        if cacheable:
            self._memo[ev["eventId"]] = out
        return out

    def prepare_all(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.prepare(e) for e in events]
