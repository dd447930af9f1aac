"""The QuickJS-NG C ABI as seen from the host (wasm32, NaN-boxing).

A ``JSValue`` is an ``i64`` passed by value; the tag is the signed high 32 bits, the payload
(int / bool / pointer) the low 32 bits. Doubles are stored as ``bits - ADDEND``.
"""

from __future__ import annotations

import struct

TAG_INT = 0
TAG_BOOL = 1
TAG_NULL = 2
TAG_UNDEFINED = 3
TAG_EXCEPTION = 6
TAG_FLOAT64 = 8
TAG_OBJECT = -1
TAG_MODULE = -3
TAG_STRING = -7
TAG_FIRST = -9  # tags outside [TAG_FIRST, TAG_FLOAT64) are NaN-boxed doubles

UNDEFINED = TAG_UNDEFINED << 32
FLOAT_ADDEND = 0x7FF8000A << 32  # JS_FLOAT64_TAG_ADDEND << 32: bits = v + addend
MASK32 = 0xFFFFFFFF
MASK64 = 0xFFFFFFFFFFFFFFFF

EVAL_GLOBAL = 0
EVAL_MODULE = 1
EVAL_COMPILE_ONLY = 32

PROMISE_PENDING, PROMISE_FULFILLED, PROMISE_REJECTED = 0, 1, 2

_D = struct.Struct("<d")
_Q = struct.Struct("<Q")


def is_float(tag: int) -> bool:
    return tag >= TAG_FLOAT64 or tag < TAG_FIRST


def to_float(v: int) -> float:
    value: float = _D.unpack(_Q.pack((v + FLOAT_ADDEND) & MASK64))[0]
    return value


def to_int32(v: int) -> int:
    """The signed int32 payload of a ``JS_TAG_INT`` value."""
    return ((v & MASK32) ^ 0x80000000) - 0x80000000


# ---- the scratch block: malloc'ed at boot, lives in the image (so it survives restore) ----
S_PLEN = 0  # size_t out-param for JS_ToCStringLen2 (top-level calls)
S_PCTX = 4  # JSContext** out-param for JS_ExecutePendingJob
S_ARGV = 8  # JSValue argv[1] for call()
S_CB_PLEN = 16  # size_t out-param used inside host callbacks
_S_STRINGS = 24
CSTRINGS = ("name", "message", "stack", "%s", "__wfctl_console")
STR_OFF: dict[str, int] = {}
_off = _S_STRINGS
for _s in CSTRINGS:
    STR_OFF[_s] = _off
    _off += len(_s) + 1
SCRATCH_SIZE = (_off + 7) & ~7
del _off, _s
