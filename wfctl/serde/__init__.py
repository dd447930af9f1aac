"""Values across the boundary: the devl (devalue 5.6.3) codec, encr (AES-256-GCM) and
compression. See docs/ARCHITECTURE.md §4 and :mod:`wfctl.serde.values` for the mapping."""

from .compress import compress, decompress
from .crypto import decrypt, derive_run_key, encrypt, master_key_from_env
from .devalue import parse, stringify, unflatten
from .errors import KeyConfigError, PayloadError, SerializationError
from .payload import decode, decode_text, encode, encode_text, unwrap_text, wrap_text
from .values import (
    UNDEFINED,
    ArrayBuffer,
    BigInt,
    JSError,
    JSMap,
    JSRegExp,
    Tagged,
    TypedArray,
)

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
