"""Stored payloads: ``b"devl"`` + UTF-8 devalue text, optionally inside an ``encr`` envelope.

``encode``/``decode`` convert Python values; ``wrap_text``/``unwrap_text`` only add/remove the
prefix and encryption around devalue text that the VM produces/consumes (no parsing).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from . import crypto
from .compress import decompress as _decompress
from .devalue import parse, stringify, unflatten
from .errors import PayloadError

__all__ = [
    "DEVALUE_PREFIX",
    "encode",
    "decode",
    "encode_text",
    "decode_text",
    "wrap_text",
    "unwrap_text",
    "format_of",
]

DEVALUE_PREFIX = b"devl"

NO_KEY_MESSAGE = "encrypted data but no encryption key is available (set WFCTL_ENCRYPTION_KEY)"


def encode_text(value: Any, *, context: str = "") -> str:
    """devalue text for ``value`` (no prefix)."""
    return stringify(value, context=context)


def decode_text(text: str, *, undefined: Any = None) -> Any:
    """Parse devalue text (no prefix)."""
    return parse(text, undefined=undefined)


def format_of(data: bytes) -> str | None:
    """The 4-character format prefix of ``data`` (``"devl"``, ``"encr"``, ...) or ``None``."""
    head = bytes(data[:4])
    if len(head) == 4 and all(48 <= b <= 57 or 97 <= b <= 122 for b in head):
        return head.decode("ascii")
    return None


def wrap_text(text: str, key: bytes | None = None) -> bytes:
    """``b"devl"`` + UTF-8 of ``text``, encrypted when ``key`` is given."""
    try:
        raw = DEVALUE_PREFIX + text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise PayloadError(f"devalue text is not valid Unicode (lone surrogate?): {e}") from None
    return crypto.encrypt(raw, key) if key is not None else raw


def encode(value: Any, *, key: bytes | None = None, context: str = "") -> bytes:
    """Serialize ``value`` to a stored payload (``devl``…, or ``encr``… with ``key``)."""
    return wrap_text(stringify(value, context=context), key)


def _open(data: bytes, key: bytes | None) -> bytes:
    """Strip encryption/compression layers down to the ``devl`` payload."""
    fmt = format_of(data)
    if fmt == "encr":
        if key is None:
            raise PayloadError(NO_KEY_MESSAGE)
        data = crypto.decrypt(data, key)
        fmt = format_of(data)
        if fmt == "encr":
            raise PayloadError("nested encrypted payload")
    if fmt in ("zstd", "gzip"):
        data = _decompress(data)
        fmt = format_of(data)
    if fmt != "devl":
        shown = bytes(data[:4])
        raise PayloadError(
            f"unsupported serialization format {shown!r} (expected a 'devl' or 'encr' payload)"
        )
    return data


def _legacy_bytes(value: Any) -> bytes | None:
    # the on-disk JSON form of a Uint8Array: {"__type": "Uint8Array", "data": base64}
    if isinstance(value, dict) and value.get("__type") == "Uint8Array":
        try:
            return base64.b64decode(value.get("data", ""), validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise PayloadError("invalid base64 in a {'__type': 'Uint8Array'} payload") from None
    return None


def unwrap_text(data: Any, key: bytes | None = None) -> str:
    """The devalue text inside a stored payload (decrypting with ``key``). A legacy
    non-bytes value (an already-flattened devalue array) is returned as JSON text."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raw = _legacy_bytes(data)
        if raw is None:
            return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        data = raw
    body = _open(bytes(data), key)[len(DEVALUE_PREFIX) :]
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PayloadError(f"devl payload is not valid UTF-8: {e}") from None


def decode(data: Any, *, key: bytes | None = None, undefined: Any = None) -> Any:
    """Decode a stored payload: ``devl``, ``encr``→``devl`` (needs ``key``), compressed
    ``devl``, the ``{"__type": "Uint8Array"}`` JSON form, or a legacy non-bytes value
    (treated as an already-flattened devalue array)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raw = _legacy_bytes(data)
        if raw is None:
            return unflatten(data, undefined=undefined)
        data = raw
    return parse(unwrap_text(data, key), undefined=undefined)
