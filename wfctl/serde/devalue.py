"""devalue 5.6.3 ``stringify``/``parse``, byte-compatible with the Workflow DevKit.

The wire format (devalue, https://github.com/sveltejs/devalue, with the DevKit's `devl` prefix): a JSON array whose element 0 is the root;
objects, arrays and containers refer to other elements by index; the negative indices
-1..-7 are undefined, array hole, NaN, +Infinity, -Infinity, -0 and the sparse-array
marker. Values are deduplicated: objects by identity, primitives by value, so shared and
cyclic references round-trip. Values handled by the DevKit's reducers are emitted as
``["<Tag>", idx(reduced)]`` exactly as the DevKit's workflow/step reducers produce them
(Date, Map, Set, BigInt, Uint8Array and the other typed arrays, ArrayBuffer, RegExp and the
Error family).

Differences from devalue, both deliberate:

* lone surrogates (which Python ``str`` may contain, and which JavaScript's ``TextEncoder``
  would silently turn into U+FFFD) are escaped as ``\\uXXXX`` so they survive the trip;
  devalue leaves them raw. Text without lone surrogates is byte-identical.
* ``parse`` also accepts self-referencing Map/Set/Error values (the DevKit's revivers throw
  "Invalid circular reference" for those).

Both directions are iterative (no Python recursion), so deeply nested values are fine.
The Python type mapping is documented in :mod:`wfctl.serde.values`.
"""

from __future__ import annotations

import array
import base64
import binascii
import json
import math
import re
import sys
import traceback
from collections.abc import Callable, Generator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .errors import PayloadError, SerializationError
from .values import (
    ERROR_TAGS,
    TYPED_ARRAY_FORMATS,
    UNDEFINED,
    ArrayBuffer,
    BigInt,
    JSError,
    JSMap,
    JSRegExp,
    Tagged,
    TypedArray,
)

# Containers are encoded/decoded by generators so deep values need no Python recursion: a
# writer yields (child, key) and is sent the child's slot; a reader yields child indices.
_WriteGen = Generator[tuple[Any, Any], int, None]
_ReadGen = Generator[int, Any, Any]

__all__ = [
    "MAX_SAFE_INTEGER",
    "stringify",
    "parse",
    "unflatten",
    "stringify_string",
    "js_number",
]

MAX_SAFE_INTEGER = 2**53 - 1

_UNDEFINED = -1
_HOLE = -2
_NAN = -3
_POSITIVE_INFINITY = -4
_NEGATIVE_INFINITY = -5
_NEGATIVE_ZERO = -6
_SPARSE = -7

_MAX_SPARSE_LENGTH = 1 << 24

Reducer = Callable[[Any], Any]

# --------------------------------------------------------------------------- strings

_ESCAPE_RE = re.compile('[\\x00-\\x1f"<\\\\\u2028\u2029\ud800-\udfff]')
_ESCAPES = {
    '"': '\\"',
    "<": "\\u003C",
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _escape_char(m: re.Match[str]) -> str:
    c = m.group()
    return _ESCAPES.get(c) or f"\\u{ord(c):04x}"


def stringify_string(s: str) -> str:
    """devalue's ``stringify_string``: a JSON string literal with ``<``, U+2028/U+2029 and
    control characters escaped; additionally every surrogate code point is escaped."""
    if _ESCAPE_RE.search(s) is None:
        return f'"{s}"'
    return '"' + _ESCAPE_RE.sub(_escape_char, s) + '"'


# --------------------------------------------------------------------------- numbers


def js_number(x: float) -> str:
    """``String(x)`` for a finite JavaScript number (ECMAScript Number::toString)."""
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) <= MAX_SAFE_INTEGER:
        return str(int(x))
    r = repr(abs(x))  # shortest round-trip digits, as in JavaScript
    mant, _, e = r.partition("e")
    exp = int(e) if e else 0
    ip, _, fp = mant.partition(".")
    digits = (ip + fp).lstrip("0")
    exp -= len(fp)  # value = int(digits) * 10**exp
    stripped = digits.rstrip("0")
    exp += len(digits) - len(stripped)
    s = stripped
    k = len(s)
    n = k + exp
    if k <= n <= 21:
        out = s + "0" * (n - k)
    elif 0 < n <= 21:
        out = s[:n] + "." + s[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + s
    else:
        e2 = n - 1
        sign = "+" if e2 >= 0 else "-"
        out = (s if k == 1 else s[0] + "." + s[1:]) + "e" + sign + str(abs(e2))
    return "-" + out if x < 0 else out


# --------------------------------------------------------------------------- helpers


def _b64encode(data: bytes) -> str:
    # The DevKit emits "." for empty buffers (reducer results must be truthy).
    return base64.b64encode(data).decode("ascii") if data else "."


def _b64decode(s: str) -> bytes:
    if s in (".", ""):
        return b""
    s = "".join(s.split()).replace("-", "+").replace("_", "/").rstrip("=")
    s += "=" * (-len(s) % 4)
    try:
        return base64.b64decode(s)
    except (binascii.Error, ValueError) as e:
        raise PayloadError(f"invalid base64 in devalue payload: {e}") from None


def _iso(dt: datetime) -> str:
    u = dt.astimezone(UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:"
        f"{u.second:02d}.{u.microsecond // 1000:03d}Z"
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch_ms(dt: datetime) -> int:
    delta = dt - _EPOCH
    return (delta.days * 86_400_000) + (delta.seconds * 1000) + (delta.microseconds // 1000)


def _from_epoch_ms(ms: float) -> datetime:
    if not math.isfinite(ms):
        raise PayloadError(f"invalid Date value {ms!r}")
    try:
        return _EPOCH + timedelta(milliseconds=int(ms))
    except OverflowError:
        raise PayloadError(f"Date {ms!r} ms is out of range for a Python datetime") from None


_ARRAY_TYPECODES = {
    ("b", 1): "Int8Array",
    ("B", 1): "Uint8Array",
    ("h", 2): "Int16Array",
    ("H", 2): "Uint16Array",
    ("i", 4): "Int32Array",
    ("I", 4): "Uint32Array",
    ("l", 4): "Int32Array",
    ("L", 4): "Uint32Array",
    ("i", 8): "BigInt64Array",
    ("l", 8): "BigInt64Array",
    ("q", 8): "BigInt64Array",
    ("L", 8): "BigUint64Array",
    ("I", 8): "BigUint64Array",
    ("Q", 8): "BigUint64Array",
    ("f", 4): "Float32Array",
    ("d", 8): "Float64Array",
}

_RE_FLAGS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"))

_IDENT_RE = re.compile(r"^[a-zA-Z_$][a-zA-Z_$0-9]*$")


def _is_array_index(k: str) -> bool:
    # ECMAScript array index: canonical decimal < 2**32 - 1 (these keys come first in
    # Object.keys order, ascending, whatever the insertion order).
    if not k or not k.isascii() or not k.isdigit() or (len(k) > 1 and k[0] == "0"):
        return False
    return int(k) < 2**32 - 1


def _type_name(v: Any) -> str:
    t = type(v)
    mod = t.__module__
    return t.__qualname__ if mod in ("builtins", None) else f"{mod}.{t.__qualname__}"


def _primitive_repr(k: Any) -> str:
    if isinstance(k, str):
        return json.dumps(k, ensure_ascii=False)
    if k is None or isinstance(k, (bool, int, float)):
        return repr(k)
    return "..."


def _format_path(root: str, keys: list[Any]) -> str:
    out = [root]
    for k in keys:
        if isinstance(k, int):
            out.append(f"[{k}]")
        elif isinstance(k, str):
            out.append(f".{k}" if _IDENT_RE.match(k) else f"[{json.dumps(k, ensure_ascii=False)}]")
        elif k[0] == "get":
            out.append(f".get({_primitive_repr(k[1])})")
        elif k[0] == "key":
            out.append(f".keys()[{k[1]}]")
        elif k[0] == "set":
            out.append(f".values()[{k[1]}]")
        elif k[0] == "tag":
            out.append(f".<{k[1]}>")
    return "".join(out)


class _Unsupported(Exception):
    def __init__(self, reason: str, type_name: str):
        super().__init__(reason)
        self.reason = reason
        self.type_name = type_name


def _python_stack(exc: BaseException, name: str, message: str) -> str:
    head = f"{name}: {message}" if message else name
    tb = exc.__traceback__
    if tb is None:
        return head
    frames = traceback.extract_tb(tb)
    lines = [head]
    for fr in reversed(frames):
        lines.append(f"    at {fr.name} ({fr.filename}:{fr.lineno})")
    return "\n".join(lines)


def _class_names(exc: BaseException) -> set[str]:
    return {c.__name__ for c in type(exc).__mro__}


def _retry_after_ms(exc: BaseException) -> float:
    now = datetime.now(UTC)
    raw = getattr(exc, "retry_after", None)
    if raw is None:
        raw = getattr(exc, "retryAfter", None)
    if isinstance(raw, datetime):
        if raw.tzinfo is None or raw.utcoffset() is None:
            raw = raw.replace(tzinfo=UTC)
        return _epoch_ms(raw)
    if isinstance(raw, timedelta):
        return _epoch_ms(now + raw)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and math.isfinite(raw):
        return _epoch_ms(now + timedelta(seconds=raw))  # Python convention: seconds
    return _epoch_ms(now) + 1000


def _error_fields(exc: BaseException) -> tuple[str, list[tuple[str, Any]]]:
    """The devalue tag and the reducer payload fields (in the DevKit's key order)."""
    if isinstance(exc, JSError):
        tag = exc.wire_tag
        name, message, stack = exc.name, exc.message, exc.stack
        has_cause, cause = exc.has_cause, exc.cause
        extra = exc.extra
    else:
        names = _class_names(exc)
        extra = {}
        if "FatalError" in names:
            tag = "FatalError"
        elif "RetryableError" in names:
            tag = "RetryableError"
            extra["retryAfter"] = _retry_after_ms(exc)
        elif isinstance(exc, BaseExceptionGroup):
            tag = "AggregateError"
            extra["errors"] = exc.exceptions
        else:
            tag = "Error"
        name = type(exc).__name__
        message = exc.message if isinstance(exc, BaseExceptionGroup) else str(exc)
        stack = getattr(exc, "stack", None)
        if not isinstance(stack, str):
            stack = _python_stack(exc, name, message)
        cause = exc.__cause__
        has_cause = cause is not None
    st = UNDEFINED if stack is None else stack
    fields: list[tuple[str, Any]]
    if tag == "Error":
        fields = [("name", name), ("message", message), ("stack", st)]
    elif tag == "DOMException":
        fields = [("message", message), ("name", name), ("stack", st)]
    else:
        fields = [("message", message), ("stack", st)]
    if has_cause:
        fields.append(("cause", cause))
    if tag == "RetryableError":
        ra = extra.get("retryAfter")
        if isinstance(ra, datetime):
            ra = _epoch_ms(ra if ra.tzinfo is not None else ra.replace(tzinfo=UTC))
        elif ra is None or ra is UNDEFINED:
            ra = _epoch_ms(datetime.now(UTC)) + 1000
        fields.append(("retryAfter", ra))
    elif tag == "AggregateError":
        errors = extra.get("errors")
        fields.append(("errors", [] if errors is None else errors))
    return tag, fields


# --------------------------------------------------------------------------- stringify


class _Writer:
    def __init__(self, reducers: Sequence[tuple[str, Reducer]] | None):
        self.out: list[str] = []
        self.strs: dict[str, int] = {}
        self.nums: dict[float, int] = {}
        self.bigs: dict[int, int] = {}
        self.objs: dict[int, int] = {}
        self.consts: dict[Any, int] = {}
        self.reducers = list(reducers or ())
        self.keep: list[Any] = []  # reducer results registered by id must stay alive

    # ---- slots
    def _slot(self, text: str = "") -> int:
        self.out.append(text)
        return len(self.out) - 1

    def _str(self, s: str) -> int:
        i = self.strs.get(s)
        if i is None:
            i = self.strs[s] = self._slot(stringify_string(s))
        return i

    def _num(self, v: float) -> int:
        if v != v:
            return _NAN
        if v == math.inf:
            return _POSITIVE_INFINITY
        if v == -math.inf:
            return _NEGATIVE_INFINITY
        if v == 0 and math.copysign(1.0, v) < 0:
            return _NEGATIVE_ZERO
        i = self.nums.get(v)
        if i is None:
            text = str(v) if type(v) is int else js_number(v)
            i = self.nums[v] = self._slot(text)
        return i

    def _bigint(self, v: int) -> int:
        i = self.bigs.get(v)
        if i is None:
            i = self.bigs[v] = self._slot()
            self.out[i] = f'["BigInt",{self._str(str(v))}]'
        return i

    def _const(self, v: Any, text: str) -> int:
        i = self.consts.get(v)
        if i is None:
            i = self.consts[v] = self._slot(text)
        return i

    def _tag_leaf(self, thing: Any, tag: str, payload: str) -> int:
        i = self.objs[id(thing)] = self._slot()
        self.out[i] = f'["{tag}",{self._str(payload)}]'
        return i

    # ---- leaves: everything that needs no recursion
    def leaf(self, thing: Any) -> int | None:
        t = type(thing)
        if t is str:
            i = self.strs.get(thing)
            return i if i is not None else self._str(thing)
        if t is int:
            if -MAX_SAFE_INTEGER <= thing <= MAX_SAFE_INTEGER:
                i = self.nums.get(thing)
                return i if i is not None else self._num(thing)
            return self._bigint(thing)
        if t is float:
            return self._num(thing)
        if t is bool:
            return self._const(thing, "true" if thing else "false")
        if thing is None:
            return self._const(None, "null")
        if thing is UNDEFINED:
            return _UNDEFINED
        i = self.objs.get(id(thing))
        if i is not None:
            return i
        if isinstance(thing, BigInt):
            return self._bigint(int(thing))
        if isinstance(thing, int):  # IntEnum & co. (bool cannot be subclassed)
            return self.leaf(int(thing))
        if isinstance(thing, float):
            return self._num(float(thing))
        if isinstance(thing, str):
            return self._str(str(thing))
        if self.reducers:
            return None  # custom reducers see every non-primitive value first
        return self._leaf_object(thing)

    def _leaf_object(self, thing: Any) -> int | None:
        if isinstance(thing, (bytes, bytearray, memoryview)):
            if isinstance(thing, ArrayBuffer):
                return self._tag_leaf(thing, "ArrayBuffer", _b64encode(bytes(thing)))
            data = thing.tobytes() if isinstance(thing, memoryview) else bytes(thing)
            return self._tag_leaf(thing, "Uint8Array", _b64encode(data))
        if isinstance(thing, datetime):
            if thing.tzinfo is None or thing.utcoffset() is None:
                return None
            try:
                iso = _iso(thing)
            except (OverflowError, ValueError):
                return None
            return self._tag_leaf(thing, "Date", iso)
        if isinstance(thing, TypedArray):
            return self._tag_leaf(thing, thing.type, _b64encode(thing.data))
        if isinstance(thing, array.array):
            tag = _ARRAY_TYPECODES.get((thing.typecode, thing.itemsize))
            if tag is None:
                return None
            if sys.byteorder != "little" and thing.itemsize > 1:
                thing2 = array.array(thing.typecode, thing)
                thing2.byteswap()
                data = thing2.tobytes()
            else:
                data = thing.tobytes()
            return self._tag_leaf(thing, tag, _b64encode(data))
        if isinstance(thing, (JSRegExp, re.Pattern)):
            if isinstance(thing, JSRegExp):
                source, flags = thing.source, thing.flags
            else:
                if not isinstance(thing.pattern, str):
                    return None
                source = thing.pattern
                flags = "".join(f for bit, f in _RE_FLAGS if thing.flags & bit)
            i = self.objs[id(thing)] = self._slot()
            j = self._slot()
            self.out[j] = f'{{"source":{self._str(source)},"flags":{self._str(flags)}}}'
            self.out[i] = f'["RegExp",{j}]'
            return i
        return None

    # ---- containers
    def begin(self, thing: Any) -> tuple[int, _WriteGen | None]:
        for tag, fn in self.reducers:
            reduced = fn(thing)
            if reduced:
                self.keep.append(reduced)
                i = self.objs[id(thing)] = self._slot()
                return i, self._gen_tagged(i, tag, reduced)
        if self.reducers:
            leaf_i = self._leaf_object(thing)
            if leaf_i is not None:
                return leaf_i, None
        if isinstance(thing, (list, tuple)):
            i = self.objs[id(thing)] = self._slot()
            return i, self._gen_array(i, thing)
        if isinstance(thing, dict):
            if isinstance(thing, JSMap) or not all(isinstance(k, str) for k in thing):
                i = self.objs[id(thing)] = self._slot()
                return i, self._gen_map(i, thing)
            if "__proto__" in thing:
                raise _Unsupported(
                    "Cannot serialize an object with a '__proto__' key (use a JSMap)",
                    _type_name(thing),
                )
            i = self.objs[id(thing)] = self._slot()
            return i, self._gen_object(i, thing)
        if isinstance(thing, (set, frozenset)):
            i = self.objs[id(thing)] = self._slot()
            return i, self._gen_set(i, thing)
        if isinstance(thing, BaseException):
            i = self.objs[id(thing)] = self._slot()
            return i, self._gen_error(i, thing)
        if isinstance(thing, Tagged):
            i = self.objs[id(thing)] = self._slot()
            return i, self._gen_tagged(i, thing.tag, thing.value)
        raise self._unsupported(thing)

    @staticmethod
    def _unsupported(thing: Any) -> _Unsupported:
        tn = _type_name(thing)
        if isinstance(thing, datetime):
            if thing.tzinfo is None or thing.utcoffset() is None:
                return _Unsupported(
                    "Cannot serialize a naive datetime (no tzinfo); use a timezone-aware "
                    "datetime, e.g. datetime.now(timezone.utc)",
                    tn,
                )
            return _Unsupported(f"Cannot serialize datetime {thing!r}: out of range", tn)
        if isinstance(thing, date):
            return _Unsupported(
                "Cannot serialize a datetime.date (JavaScript has no date-only type); "
                "use a timezone-aware datetime or an ISO string",
                tn,
            )
        if callable(thing) and not isinstance(thing, type):
            return _Unsupported(f"Cannot serialize a function ({tn})", tn)
        return _Unsupported(f"Cannot serialize a value of Python type {tn}", tn)

    def _gen_array(self, index: int, arr: Sequence[Any]) -> _WriteGen:
        leaf = self.leaf
        parts = []
        for n, item in enumerate(arr):
            c = leaf(item)
            if c is None:
                c = yield item, n
            parts.append(str(c))
        self.out[index] = "[" + ",".join(parts) + "]"

    def _gen_object(self, index: int, obj: dict[str, Any]) -> _WriteGen:
        leaf = self.leaf
        keys: list[str] = list(obj)
        if any(_is_array_index(k) for k in keys):
            idx_keys = sorted((k for k in keys if _is_array_index(k)), key=int)
            keys = idx_keys + [k for k in keys if not _is_array_index(k)]
        parts = []
        for k in keys:
            v = obj[k]
            c = leaf(v)
            if c is None:
                c = yield v, k
            parts.append(f"{stringify_string(k)}:{c}")
        self.out[index] = "{" + ",".join(parts) + "}"

    def _gen_map(self, index: int, m: dict[Any, Any]) -> _WriteGen:
        leaf = self.leaf
        entries = self._slot()
        parts = []
        for n, (k, v) in enumerate(m.items()):
            pair = self._slot()
            ki = leaf(k)
            if ki is None:
                ki = yield k, ("key", n)
            vi = leaf(v)
            if vi is None:
                vi = yield v, ("get", k)
            self.out[pair] = f"[{ki},{vi}]"
            parts.append(str(pair))
        self.out[entries] = "[" + ",".join(parts) + "]"
        self.out[index] = f'["Map",{entries}]'

    def _gen_set(self, index: int, s: set[Any] | frozenset[Any]) -> _WriteGen:
        leaf = self.leaf
        arr = self._slot()
        parts = []
        for n, item in enumerate(s):
            c = leaf(item)
            if c is None:
                c = yield item, ("set", n)
            parts.append(str(c))
        self.out[arr] = "[" + ",".join(parts) + "]"
        self.out[index] = f'["Set",{arr}]'

    def _gen_error(self, index: int, exc: BaseException) -> _WriteGen:
        leaf = self.leaf
        tag, fields = _error_fields(exc)
        self.keep.append(fields)
        payload = self._slot()
        parts = []
        for k, v in fields:
            c = leaf(v)
            if c is None:
                c = yield v, k
            parts.append(f'"{k}":{c}')
        self.out[payload] = "{" + ",".join(parts) + "}"
        self.out[index] = f'["{tag}",{payload}]'

    def _gen_tagged(self, index: int, tag: str, value: Any) -> _WriteGen:
        c = self.leaf(value)
        if c is None:
            c = yield value, ("tag", tag)
        self.out[index] = f"[{stringify_string(tag)},{c}]"

    # ---- driver
    def run(self, root: Any) -> int:
        i = self.leaf(root)
        if i is not None:
            return i
        path: list[Any] = []
        try:
            index, gen = self.begin(root)
            if gen is None:
                return index
            stack = [(gen, index)]
            # A generator is first sent None (to start it), then each child's slot.
            send: Any = None
            while stack:
                gen, idx = stack[-1]
                try:
                    child, key = gen.send(send)
                except StopIteration:
                    stack.pop()
                    if path:
                        path.pop()
                    send = idx
                    continue
                path.append(key)
                ci, cgen = self.begin(child)
                if cgen is None:
                    path.pop()
                    send = ci
                else:
                    stack.append((cgen, ci))
                    send = None
            return index
        except _Unsupported as e:
            e.path = path  # type: ignore[attr-defined]
            raise


def stringify(
    value: Any,
    *,
    context: str = "",
    root: str = "value",
    reducers: Sequence[tuple[str, Reducer]] | None = None,
) -> str:
    """Encode ``value`` as devalue 5.6.3 text (with the DevKit's reducers).

    ``context`` is prefixed to error messages (e.g. ``"step add: return value"``);
    ``root`` names the value in error paths (``value[2].when``). ``reducers`` is an optional
    sequence of ``(tag, fn)`` consulted (in order, before the built-in mapping) for every
    non-primitive value: the first truthy ``fn(value)`` is emitted as ``["tag", idx(...)]``.

    Raises :class:`SerializationError` (a ``TypeError``) for values with no mapping.
    """
    w = _Writer(reducers)
    try:
        index = w.run(value)
    except _Unsupported as e:
        raise SerializationError(
            e.reason,
            type_name=e.type_name,
            path=_format_path(root, getattr(e, "path", [])),
            context=context,
        ) from None
    if index < 0:
        return str(index)
    return "[" + ",".join(w.out) + "]"


# --------------------------------------------------------------------------- parse


def _parse_int(s: str) -> int | float:
    v = int(s)
    # a JSON integer beyond the safe range is a JavaScript number, not a BigInt
    return v if -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER else float(s)


def _reject_constant(s: str) -> Any:
    raise PayloadError(f"invalid devalue text: unexpected {s}")


def parse(text: str | bytes, *, undefined: Any = None) -> Any:
    """Decode devalue text. ``undefined`` (and array holes) decode to ``undefined``
    (default ``None``; pass :data:`UNDEFINED` to keep them distinguishable)."""
    try:
        parsed = json.loads(text, parse_int=_parse_int, parse_constant=_reject_constant)
    except PayloadError:
        raise
    except (ValueError, RecursionError) as e:
        raise PayloadError(f"invalid devalue text: {e}") from None
    return unflatten(parsed, undefined=undefined)


def unflatten(parsed: Any, *, undefined: Any = None) -> Any:
    """Decode an already JSON-parsed devalue array (legacy spec-1 payloads)."""
    if type(parsed) is int:
        return _Reader([None], undefined).special(parsed)
    if type(parsed) is not list or not parsed:
        raise PayloadError("invalid devalue data: expected a non-empty array or a number")
    return _Reader(parsed, undefined).run()


_MISSING = object()
_VISIT = object()


def _primitive(v: Any) -> bool:
    return v is None or type(v) in (str, int, float, bool)


def _hashable(k: Any) -> Any:
    try:
        hash(k)
        return k
    except TypeError:
        pass
    if isinstance(k, list):
        return tuple(_hashable(x) for x in k)
    if isinstance(k, set):
        return frozenset(k)
    raise PayloadError(
        f"a Map key or Set element of type {type(k).__name__} cannot be represented in Python"
    )


def _parse_date(payload: Any) -> datetime | None:
    if isinstance(payload, (int, float)) and not isinstance(payload, bool):
        return _from_epoch_ms(payload)
    if not isinstance(payload, str):
        raise PayloadError(f"invalid Date payload {payload!r}")
    if payload in (".", ""):
        return None  # an invalid Date
    s = payload
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise PayloadError(
            f"cannot decode Date {payload!r} (out of range for a Python datetime?)"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)


def _parse_bigint(payload: Any) -> BigInt:
    if isinstance(payload, str):
        s = payload.strip() or "0"  # BigInt("") is 0n
        try:
            return BigInt(int(s, 0 if s[:2].lower() in ("0x", "0o", "0b") else 10))
        except ValueError:
            pass
    elif isinstance(payload, int) and not isinstance(payload, bool):
        return BigInt(payload)
    raise PayloadError(f"invalid BigInt payload {payload!r}")


class _Reader:
    def __init__(self, values: list[Any], undefined: Any):
        self.values = values
        self.hydrated: list[Any] = [_MISSING] * len(values)
        self.undefined = undefined

    def special(self, i: int) -> Any:
        if i == _UNDEFINED or i == _HOLE:
            return self.undefined
        if i == _NAN:
            return math.nan
        if i == _POSITIVE_INFINITY:
            return math.inf
        if i == _NEGATIVE_INFINITY:
            return -math.inf
        if i == _NEGATIVE_ZERO:
            return -0.0
        raise PayloadError(f"invalid devalue data: bad index {i}")

    def _payload(self, v: list[Any]) -> Any:
        """The payload of a leaf tag: hydrated value at index v[1], or the literal."""
        if len(v) < 2:
            raise PayloadError(f"invalid devalue data: {v[0]} without a payload")
        p = v[1]
        if type(p) is int:
            r = self.get(p)
            if r is _VISIT:
                raise PayloadError(f"invalid devalue data: bad {v[0]} payload")
            return r
        return p

    def _typed(self, v: list[Any], tag: str) -> Any:
        p = v[1] if len(v) > 1 else None
        if type(p) is int and 0 <= p < len(self.values) and type(self.values[p]) is list:
            # devalue built-in form: ["Uint8Array", idx(["ArrayBuffer", b64]), start?, end?]
            buf = self.values[p]
            if not buf or buf[0] != "ArrayBuffer" or len(buf) < 2 or not isinstance(buf[1], str):
                raise PayloadError("invalid devalue data: typed array without an ArrayBuffer")
            data = _b64decode(buf[1])
            if len(v) > 2:
                size = TYPED_ARRAY_FORMATS[tag][1]
                start = v[2] if type(v[2]) is int else 0
                end = v[3] if len(v) > 3 and type(v[3]) is int else len(data) // size
                data = data[start * size : end * size]
        else:
            payload = self._payload(v)
            if not isinstance(payload, str):
                raise PayloadError(f"invalid devalue data: bad {tag} payload")
            data = _b64decode(payload)
        if tag == "Uint8Array":
            return data
        try:
            return TypedArray(tag, data)
        except ValueError as e:
            raise PayloadError(f"invalid devalue data: {e}") from None

    def _leaf_tag(self, v: list[Any]) -> Any:
        tag = v[0]
        if tag == "Date":
            return _parse_date(self._payload(v))
        if tag == "BigInt":
            return _parse_bigint(self._payload(v))
        if tag in TYPED_ARRAY_FORMATS:
            return self._typed(v, tag)
        if tag == "ArrayBuffer":
            payload = self._payload(v)
            if not isinstance(payload, str):
                raise PayloadError("invalid devalue data: bad ArrayBuffer payload")
            return ArrayBuffer(_b64decode(payload))
        if tag == "RegExp":
            p = v[1] if len(v) > 1 else None
            if isinstance(p, str):  # devalue built-in form
                flags = v[2] if len(v) > 2 and isinstance(v[2], str) else ""
                return JSRegExp(p, flags)
            if type(p) is int and 0 <= p < len(self.values) and type(self.values[p]) is dict:
                d = self.values[p]
                src = self.get(d["source"]) if "source" in d else ""
                flags = self.get(d["flags"]) if "flags" in d else ""
                if isinstance(src, str) and isinstance(flags, str):
                    return JSRegExp(src, flags)
            raise PayloadError("invalid devalue data: bad RegExp payload")
        if tag == "Object":  # boxed primitive (devalue built-in)
            if len(v) < 2 or not _primitive(v[1]):
                raise PayloadError("invalid devalue data: bad Object payload")
            return v[1]
        return _VISIT

    def get(self, i: Any) -> Any:
        """Hydrated value at index i, or _VISIT when it is a container not yet built."""
        if type(i) is not int:
            raise PayloadError(f"invalid devalue data: index {i!r} is not an integer")
        if i < 0:
            return self.special(i)
        if i >= len(self.values):
            raise PayloadError(f"invalid devalue data: index {i} out of range")
        h = self.hydrated[i]
        if h is not _MISSING:
            return h
        v = self.values[i]
        if _primitive(v):
            self.hydrated[i] = v
            return v
        if type(v) is list and v and type(v[0]) is str:
            r = self._leaf_tag(v)
            if r is not _VISIT:
                self.hydrated[i] = r
            return r
        return _VISIT

    # ---- containers: create + register first (so cycles resolve), then fill
    def begin(self, i: int) -> _ReadGen:
        v = self.values[i]
        if type(v) is dict:
            obj: dict[str, Any] = {}
            self.hydrated[i] = obj
            return self._gen_object(obj, v)
        # list
        if not v:
            self.hydrated[i] = []
            return self._gen_done()
        head = v[0]
        if type(head) is str:
            return self._begin_tag(i, head, v)
        if head == _SPARSE and type(head) is int:
            n = v[1] if len(v) > 1 else None
            if type(n) is not int or not 0 <= n <= _MAX_SPARSE_LENGTH:
                raise PayloadError("invalid devalue data: bad sparse array length")
            arr = [self.undefined] * n
            self.hydrated[i] = arr
            return self._gen_sparse(arr, v)
        arr = [self.undefined] * len(v)
        self.hydrated[i] = arr
        return self._gen_array(arr, v)

    def _begin_tag(self, i: int, tag: str, v: list[Any]) -> _ReadGen:
        if tag == "Map":
            m = JSMap()
            self.hydrated[i] = m
            return self._gen_map(m, v)
        if tag == "Set":
            s: set[Any] = set()
            self.hydrated[i] = s
            return self._gen_set(s, v)
        if tag == "null":
            obj: dict[str, Any] = {}
            self.hydrated[i] = obj
            return self._gen_null_object(obj, v)
        if tag in ERROR_TAGS:
            err = JSError(tag if tag != "DOMException" else "Error", tag=tag)
            self.hydrated[i] = err
            return self._gen_error(err, v)
        t = Tagged(tag)
        self.hydrated[i] = t
        return self._gen_tagged(t, v)

    @staticmethod
    def _gen_done() -> _ReadGen:
        return
        yield

    def _gen_object(self, obj: dict[str, Any], v: dict[str, Any]) -> _ReadGen:
        get = self.get
        for k, n in v.items():
            if k == "__proto__":
                raise PayloadError("Cannot parse an object with a `__proto__` property")
            c = get(n)
            if c is _VISIT:
                c = yield n
            obj[k] = c

    def _gen_array(self, arr: list[Any], v: list[Any]) -> _ReadGen:
        get = self.get
        for j, n in enumerate(v):
            if n == _HOLE and type(n) is int:
                continue
            c = get(n)
            if c is _VISIT:
                c = yield n
            arr[j] = c

    def _gen_sparse(self, arr: list[Any], v: list[Any]) -> _ReadGen:
        get = self.get
        for j in range(2, len(v) - 1, 2):
            pos = v[j]
            if type(pos) is not int or not 0 <= pos < len(arr):
                raise PayloadError("invalid devalue data: bad sparse array index")
            c = get(v[j + 1])
            if c is _VISIT:
                c = yield v[j + 1]
            arr[pos] = c

    def _gen_null_object(self, obj: dict[str, Any], v: list[Any]) -> _ReadGen:
        get = self.get
        for j in range(1, len(v) - 1, 2):
            k = v[j]
            if not isinstance(k, str):
                raise PayloadError("invalid devalue data: bad null-prototype object key")
            c = get(v[j + 1])
            if c is _VISIT:
                c = yield v[j + 1]
            obj[k] = c

    def _payload_of_container(self, v: list[Any]) -> _ReadGen:
        """Yield-helper: hydrate a reviver payload (index or literal)."""
        p = v[1]
        if type(p) is int:
            c = self.get(p)
            if c is _VISIT:
                c = yield p
            return c
        return p

    def _gen_map(self, m: JSMap, v: list[Any]) -> _ReadGen:
        get = self.get
        if len(v) == 2:  # DevKit reducer form: ["Map", idx([[k, v], ...])]
            entries = yield from self._payload_of_container(v)
            if not isinstance(entries, list):
                raise PayloadError("invalid devalue data: Map payload is not an array")
            for e in entries:
                if not isinstance(e, list) or len(e) != 2:
                    raise PayloadError("invalid devalue data: Map entry is not a [key, value] pair")
                m[_hashable(e[0])] = e[1]
            return
        for j in range(1, len(v) - 1, 2):  # devalue built-in: ["Map", k, v, ...]
            k = get(v[j])
            if k is _VISIT:
                k = yield v[j]
            val = get(v[j + 1])
            if val is _VISIT:
                val = yield v[j + 1]
            m[_hashable(k)] = val

    def _gen_set(self, s: set[Any], v: list[Any]) -> _ReadGen:
        get = self.get
        if len(v) == 2:
            p = v[1]
            target = self.values[p] if type(p) is int and 0 <= p < len(self.values) else None
            if type(target) is list and not (target and type(target[0]) is str):
                items = yield from self._payload_of_container(v)
                for x in items:
                    s.add(_hashable(x))
                return
        for j in range(1, len(v)):  # devalue built-in: ["Set", idx, ...]
            x = get(v[j])
            if x is _VISIT:
                x = yield v[j]
            s.add(_hashable(x))

    def _gen_error(self, err: JSError, v: list[Any]) -> _ReadGen:
        tag = v[0]
        if len(v) < 2:
            raise PayloadError(f"invalid devalue data: {tag} without a payload")
        d = yield from self._payload_of_container(v)
        if not isinstance(d, dict):
            raise PayloadError(f"invalid devalue data: {tag} payload is not an object")
        und = self.undefined

        def text(x: Any) -> str:
            return "" if x is None or x is und or x is UNDEFINED else str(x)

        if tag in ("Error", "DOMException"):
            name = d.get("name")
            err.name = text(name) or "Error"
        else:
            err.name = tag
        err.message = text(d.get("message"))
        err.args = (err.message,)
        stack = d.get("stack")
        err.stack = stack if isinstance(stack, str) else None
        err.has_cause = "cause" in d
        err.cause = d.get("cause")
        if tag == "RetryableError":
            ra = d.get("retryAfter")
            if isinstance(ra, (int, float)) and not isinstance(ra, bool):
                err.extra["retryAfter"] = _from_epoch_ms(ra)
            elif isinstance(ra, (str, datetime)):
                err.extra["retryAfter"] = _parse_date(ra) if isinstance(ra, str) else ra
        elif tag == "AggregateError":
            errors = d.get("errors")
            err.extra["errors"] = errors if isinstance(errors, list) else []

    def _gen_tagged(self, t: Tagged, v: list[Any]) -> _ReadGen:
        if len(v) < 2:
            t.value = self.undefined
            return
        t.value = yield from self._payload_of_container(v)

    def run(self) -> Any:
        r = self.get(0)
        if r is not _VISIT:
            return r
        stack = [(self.begin(0), 0)]
        send: Any = None
        while stack:
            gen, idx = stack[-1]
            try:
                child = gen.send(send)
            except StopIteration:
                stack.pop()
                send = self.hydrated[idx]
                continue
            stack.append((self.begin(child), child))
            send = None
        return self.hydrated[0]
