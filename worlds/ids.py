"""ULIDs, ids and ISO timestamps.

ULID = 10 Crockford base32 chars of millisecond time + 16 chars of randomness. The generator is
monotonic per process (same or earlier millisecond -> previous value + 1), like the DevKit's
``monotonicFactory``, so ids created in one millisecond still sort in creation order.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime

from .errors import UnsafeEntityIdError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(ALPHABET)}
_RAND_BITS = 80
_MAX_RAND = (1 << _RAND_BITS) - 1


def encode_ulid(value: int) -> str:
    """The 26-char ULID text of a 128-bit integer."""
    chars = []
    for _ in range(26):
        chars.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def decode_ulid(text: str) -> int | None:
    """The integer of a ULID text, or None when it is not one."""
    if len(text) != 26 or text[0] not in "01234567":
        return None
    value = 0
    for ch in text.upper():
        digit = _DECODE.get(ch)
        if digit is None:
            return None
        value = (value << 5) | digit
    return value


def ulid_time_ms(text: str) -> int | None:
    """Millisecond timestamp embedded in a ULID text (None when invalid)."""
    value = decode_ulid(text)
    return None if value is None else value >> _RAND_BITS


class MonotonicUlid:
    """Thread-safe monotonic ULID factory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def new(self, ms: int | None = None, *, after: str | None = None) -> str:
        """A ULID with time ``ms`` (default now), greater than every earlier one and ``after``."""
        ms = now_ms() if ms is None else ms
        with self._lock:
            candidate = (ms << _RAND_BITS) | int.from_bytes(os.urandom(10), "big")
            floor = self._last
            if after is not None:
                floor = max(floor, decode_ulid(after) or 0)
            if candidate <= floor:
                # Same (or earlier) millisecond as a previous id: step the randomness by one so
                # the order is still the creation order.
                candidate = floor + 1
            self._last = candidate
        return encode_ulid(candidate)


ULIDS = MonotonicUlid()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def iso_from_ms(ms: int) -> str:
    """``2026-11-22T06:42:07.436Z`` for an epoch-millisecond value."""
    dt = datetime.fromtimestamp(ms // 1000, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def ms_from_iso(value: object) -> int | None:
    """Epoch milliseconds of an ISO date string (or epoch-ms number); None when unparseable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    # Integer arithmetic: float timestamps can be off by one millisecond.
    delta = dt - _EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def to_iso(value: object) -> object:
    """Dates given as ``datetime`` become ISO strings; anything else is returned unchanged."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return iso_from_ms(ms_from_iso(value.isoformat()) or 0)
    return value


def is_safe_id(value: object) -> bool:
    """An acceptable id in every world: non-empty, no leading '.', no '/', '\\' or NUL."""
    return (
        isinstance(value, str)
        and value != ""
        and not value.startswith(".")
        and "/" not in value
        and "\\" not in value
        and "\0" not in value
    )


def require_safe(value: object, what: str) -> str:
    """``value`` if it is a safe id, else UnsafeEntityIdError."""
    if not is_safe_id(value):
        raise UnsafeEntityIdError(
            f"Unsafe {what} {value!r}: it must be non-empty, not start with '.' and contain "
            "no '/', '\\' or NUL."
        )
    return value  # type: ignore[return-value]
