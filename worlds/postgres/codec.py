"""Rows <-> the World's dicts: JSON text (key order kept) + the payload bytes as ``bytea[]``.

Every ``bytes`` value inside an event or entity dict is stored in the row's ``blobs bytea[]``
column and replaced in the JSON by ``{"__b": <index>}``, so payloads and snapshots stay binary
(no base64) and the dict comes back with exactly the keys, order and values it was written with.
"""

from __future__ import annotations

import json
from typing import Any

_TAG = "__b"


def dump(value: Any) -> tuple[str, list[bytes]]:
    blobs: list[bytes] = []

    def default(obj: Any) -> Any:
        if isinstance(obj, bytes | bytearray | memoryview):
            blobs.append(bytes(obj))
            return {_TAG: len(blobs) - 1}
        raise TypeError(f"cannot store {type(obj).__name__} in the world")

    text = json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=default
    )
    return text, blobs


def load(text: str, blobs: list[bytes] | None) -> Any:
    if not blobs:
        return json.loads(text)
    parts = [bytes(b) for b in blobs]

    def hook(obj: dict) -> Any:
        if len(obj) == 1 and _TAG in obj and isinstance(obj[_TAG], int):
            return parts[obj[_TAG]]
        return obj

    return json.loads(text, object_hook=hook)
