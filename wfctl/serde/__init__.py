"""Values across the boundary: the devl (devalue 5.6.3) codec, encr (AES-256-GCM) and
compression. See docs/ARCHITECTURE.md §4 and :mod:`wfctl.serde.values` for the mapping."""

from __future__ import annotations

from importlib import import_module
from typing import Any

# `compress` is also a submodule's name, so it is bound eagerly (the module is light).
from .compress import compress, decompress

# Submodules load on first use: `cryptography` and `zstandard` only when a payload needs them.
_EXPORTS = {
    "UNDEFINED": ".values",
    "ArrayBuffer": ".values",
    "BigInt": ".values",
    "JSError": ".values",
    "JSMap": ".values",
    "JSRegExp": ".values",
    "KeyConfigError": ".errors",
    "PayloadError": ".errors",
    "SerializationError": ".errors",
    "Tagged": ".values",
    "TypedArray": ".values",
    "decode": ".payload",
    "decode_text": ".payload",
    "decrypt": ".crypto",
    "derive_run_key": ".crypto",
    "encode": ".payload",
    "encode_text": ".payload",
    "encrypt": ".crypto",
    "master_key_from_env": ".crypto",
    "parse": ".devalue",
    "stringify": ".devalue",
    "unflatten": ".devalue",
    "unwrap_text": ".payload",
    "wrap_text": ".payload",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'wfctl.serde' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "UNDEFINED",
    "ArrayBuffer",
    "BigInt",
    "JSError",
    "JSMap",
    "JSRegExp",
    "KeyConfigError",
    "PayloadError",
    "SerializationError",
    "Tagged",
    "TypedArray",
    "compress",
    "decode",
    "decode_text",
    "decompress",
    "decrypt",
    "derive_run_key",
    "encode",
    "encode_text",
    "encrypt",
    "master_key_from_env",
    "parse",
    "stringify",
    "unflatten",
    "unwrap_text",
    "wrap_text",
]
