"""Decoded workflow values as JSON, and entities as the reference CLI prints them.

Mapping (documented in the README): datetimes → ISO strings; BigInt → decimal string; bytes →
base64; Map → object when every key is a string, else a list of [key, value] pairs; Set →
list; errors → {name, message, stack?, cause?}; NaN/±Infinity → the strings "NaN",
"Infinity", "-Infinity".
"""

from __future__ import annotations

import base64
import math
from datetime import UTC, datetime
from typing import Any

from wfctl.serde import payload
from wfctl.serde.errors import PayloadError
from wfctl.serde.values import BigInt, JSError, JSMap

ENCRYPTED = "🔒 Encrypted"


def to_json(value: Any, _seen: set[int] | None = None) -> Any:
    seen = _seen if _seen is not None else set()
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, BigInt):
        return str(int(value))
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    if id(value) in seen:
        return "[Circular]"
    seen = seen | {id(value)}
    if isinstance(value, JSError):
        out: dict[str, Any] = {"name": value.name, "message": value.message}
        if value.stack:
            out["stack"] = value.stack
        if value.cause is not None:
            out["cause"] = to_json(value.cause, seen)
        for k, v in (value.extra or {}).items():
            out.setdefault(k, to_json(v, seen))
        return out
    if isinstance(value, JSMap) or (
        isinstance(value, dict) and not all(isinstance(k, str) for k in value)
    ):
        if all(isinstance(k, str) for k in value):
            return {k: to_json(v, seen) for k, v in value.items()}
        return [[to_json(k, seen), to_json(v, seen)] for k, v in value.items()]
    if isinstance(value, dict):
        return {k: to_json(v, seen) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v, seen) for v in value]
    if isinstance(value, (set, frozenset)):
        return [to_json(v, seen) for v in value]
    return repr(value)


def decode_field(data: Any, key: bytes | None, *, decrypt: bool) -> Any:
    """A stored payload for display: decoded JSON, or the encrypted placeholder."""
    if data is None:
        return None
    if isinstance(data, (bytes, bytearray)):
        if bytes(data[:4]) == b"encr" and not decrypt:
            return ENCRYPTED
        try:
            return to_json(payload.decode(bytes(data), key=key if decrypt else None))
        except PayloadError:
            if decrypt and bytes(data[:4]) == b"encr":
                raise  # asked to decrypt and cannot: that is the user's error to see
            return {"undecodable": "payload cannot be decoded"}
        except Exception as exc:  # display must never crash on odd data
            return {"undecodable": str(exc)}
    return data


PAYLOAD_FIELDS = ("input", "output", "result", "payload", "metadata", "error")


def entity_json(entity: dict[str, Any], key: bytes | None, *, decrypt: bool) -> dict[str, Any]:
    out = dict(entity)
    for f in PAYLOAD_FIELDS:
        if f in out and isinstance(out[f], (bytes, bytearray)):
            out[f] = decode_field(out[f], key, decrypt=decrypt)
    if isinstance(out.get("eventData"), dict):
        ed = dict(out["eventData"])
        for f in PAYLOAD_FIELDS:
            if f in ed and isinstance(ed[f], (bytes, bytearray)):
                ed[f] = decode_field(ed[f], key, decrypt=decrypt)
        out["eventData"] = ed
    return out


def error_json(
    run: dict[str, Any], events: list[dict[str, Any]], key: bytes | None, *, decrypt: bool
) -> dict[str, Any] | None:
    """The run's error as {name, message, stack?, cause?, errorCode?}, from its run_failed event."""
    if run.get("status") != "failed":
        return None
    failed = next((e for e in reversed(events) if e["eventType"] == "run_failed"), None)
    err: dict[str, Any] = {}
    if failed is not None:
        decoded = decode_field((failed.get("eventData") or {}).get("error"), key, decrypt=decrypt)
        if isinstance(decoded, dict):
            err.update(decoded)
        elif decoded == ENCRYPTED:
            err["message"] = ENCRYPTED
    plain = run.get("error") or {}
    err.setdefault("name", "Error")
    err.setdefault("message", plain.get("message", ""))
    code = run.get("errorCode") or plain.get("code")
    if code:
        err["errorCode"] = code
    return err
