"""Python types for JavaScript values that have no exact built-in Python equivalent.

Mapping used by :mod:`wfctl.serde.devalue` (see docs/ARCHITECTURE.md §4):

=====================  ======================================================
JavaScript             Python
=====================  ======================================================
undefined              ``None`` (or :data:`UNDEFINED` when asked for / to emit ``-1``)
BigInt                 :class:`BigInt` (``int`` subclass); plain ints beyond ±(2**53-1)
                       are encoded as BigInt too
Map                    :class:`JSMap` (``dict`` subclass); a plain ``dict`` with a
                       non-``str`` key is encoded as a Map too
Error family           :class:`JSError` (decode); any ``BaseException`` encodes
typed arrays           :class:`TypedArray` (Uint8Array itself is ``bytes``)
ArrayBuffer            :class:`ArrayBuffer` (``bytes`` subclass)
RegExp                 :class:`JSRegExp`
other tagged values    :class:`Tagged` (URL, Headers, StepFunction, streams, ...)
=====================  ======================================================
"""

from __future__ import annotations

import struct
from typing import Any


class _Undefined:
    """JavaScript ``undefined``. Falsy singleton; encodes as devalue ``-1``."""

    __slots__ = ()
    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"

    def __copy__(self) -> _Undefined:
        return self

    def __deepcopy__(self, memo: Any) -> _Undefined:
        return self


UNDEFINED = _Undefined()
"""JavaScript ``undefined``. ``parse`` decodes undefined to ``None`` unless told otherwise
(``parse(text, undefined=UNDEFINED)``); encode it to reproduce ``-1`` exactly, e.g. the
``{"args": ..., "closureVars": UNDEFINED, "thisVal": UNDEFINED}`` step input."""


class BigInt(int):
    """A JavaScript BigInt. Arithmetic returns plain ``int`` (which is encoded as a number
    when it fits in ±(2**53-1), as a BigInt otherwise)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"BigInt({int(self)})"


class JSMap(dict[Any, Any]):
    """A JavaScript Map (insertion-ordered, any hashable key). Encodes as Map even when
    every key is a ``str``; decoded Maps are always JSMap."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"JSMap({dict.__repr__(self)})"


class ArrayBuffer(bytes):
    """A JavaScript ArrayBuffer (raw bytes, distinct from Uint8Array = ``bytes``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"ArrayBuffer({bytes.__repr__(self)})"


# name -> (struct format char, item size); Uint8Array itself maps to ``bytes``
TYPED_ARRAY_FORMATS: dict[str, tuple[str, int]] = {
    "Int8Array": ("b", 1),
    "Uint8Array": ("B", 1),
    "Uint8ClampedArray": ("B", 1),
    "Int16Array": ("h", 2),
    "Uint16Array": ("H", 2),
    "Int32Array": ("i", 4),
    "Uint32Array": ("I", 4),
    "Float32Array": ("f", 4),
    "Float64Array": ("d", 8),
    "BigInt64Array": ("q", 8),
    "BigUint64Array": ("Q", 8),
}


class TypedArray:
    """A JavaScript typed array other than Uint8Array: its type name and the raw
    little-endian bytes of the view. ``tolist()`` gives the numbers."""

    __slots__ = ("type", "data")

    def __init__(self, type: str, data: bytes | bytearray | memoryview = b""):
        if type not in TYPED_ARRAY_FORMATS:
            raise ValueError(f"unknown typed array type {type!r}")
        data = bytes(data)
        size = TYPED_ARRAY_FORMATS[type][1]
        if len(data) % size:
            raise ValueError(f"{type} data length {len(data)} is not a multiple of {size}")
        self.type = type
        self.data = data

    @classmethod
    def from_list(cls, type: str, values: list[int] | list[float]) -> TypedArray:
        fmt, _ = TYPED_ARRAY_FORMATS[type]
        return cls(type, struct.pack(f"<{len(values)}{fmt}", *values))

    def tolist(self) -> list[Any]:
        fmt, size = TYPED_ARRAY_FORMATS[self.type]
        return list(struct.unpack(f"<{len(self.data) // size}{fmt}", self.data))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TypedArray):
            return NotImplemented
        return self.type == other.type and self.data == other.data

    def __hash__(self) -> int:
        return hash((self.type, self.data))

    def __repr__(self) -> str:
        return f"TypedArray({self.type!r}, {self.tolist()!r})"


class JSRegExp:
    """A JavaScript RegExp (JavaScript syntax; not converted to Python ``re``)."""

    __slots__ = ("source", "flags")

    def __init__(self, source: str, flags: str = ""):
        self.source = source
        self.flags = flags

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, JSRegExp):
            return NotImplemented
        return self.source == other.source and self.flags == other.flags

    def __hash__(self) -> int:
        return hash((self.source, self.flags))

    def __repr__(self) -> str:
        return f"JSRegExp({self.source!r}, {self.flags!r})"


class Tagged:
    """A devalue value with a reducer tag this codec does not map to a Python type
    (``URL``, ``URLSearchParams``, ``Headers``, ``StepFunction``, ``WorkflowFunction``,
    ``ReadableStream``, ``WritableStream``, ``Request``, ``Response``, ``Class``,
    ``Instance``, ...). ``value`` is the decoded reducer payload. Encoding a Tagged emits
    ``["<tag>", idx(value)]`` again, so such values pass through Python unchanged."""

    __slots__ = ("tag", "value")

    def __init__(self, tag: str, value: Any = None):
        self.tag = tag
        self.value = value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tagged):
            return NotImplemented
        return self.tag == other.tag and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.tag)

    def __repr__(self) -> str:
        return f"Tagged({self.tag!r}, {self.value!r})"


# Error tags whose payload is {message, stack, cause?} and whose name is the tag itself.
ERROR_SUBCLASS_TAGS = (
    "EvalError",
    "FatalError",
    "RangeError",
    "ReferenceError",
    "SyntaxError",
    "TypeError",
    "URIError",
)
ERROR_TAGS = frozenset(
    (*ERROR_SUBCLASS_TAGS, "RetryableError", "AggregateError", "DOMException", "Error")
)


class JSError(Exception):
    """A JavaScript Error (any of the devalue Error-family tags).

    ``name``/``message``/``stack``/``cause`` as in JS. ``extra`` carries the tag-specific
    fields: ``retryAfter`` (an aware ``datetime``) for RetryableError, ``errors`` (a list)
    for AggregateError. ``tag`` is the wire tag it was decoded from (``None``: derived
    from ``name`` on encode: a known subclass name gives that tag, anything else
    ``Error``). ``has_cause`` distinguishes "no cause" from "cause is undefined/null";
    it defaults to ``cause is not None``.
    """

    def __init__(
        self,
        name: str = "Error",
        message: str = "",
        stack: str | None = None,
        cause: Any = None,
        extra: dict[str, Any] | None = None,
        *,
        tag: str | None = None,
        has_cause: bool | None = None,
    ):
        super().__init__(message)
        self.name = name
        self.message = message
        self.stack = stack
        self.cause = cause
        self.extra = dict(extra) if extra else {}
        if tag is not None and tag not in ERROR_TAGS:
            raise ValueError(f"unknown error tag {tag!r}")
        self.tag = tag
        self.has_cause = (cause is not None) if has_cause is None else has_cause

    @property
    def wire_tag(self) -> str:
        """The devalue tag this error encodes as."""
        if self.tag is not None:
            return self.tag
        if self.name in ERROR_TAGS and self.name != "DOMException":
            return self.name
        return "Error"

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"JSError(name={self.name!r}, message={self.message!r})"

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, JSError):
            return NotImplemented
        return (
            self.name == other.name
            and self.message == other.message
            and self.stack == other.stack
            and self.has_cause == other.has_cause
            and self.cause == other.cause
            and self.extra == other.extra
        )

    def __hash__(self) -> int:
        return hash((self.name, self.message))

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_jserror,
            (self.name, self.message, self.stack, self.cause, self.extra, self.tag, self.has_cause),
        )


def _rebuild_jserror(
    name: str,
    message: str,
    stack: str,
    cause: Any,
    extra: dict[str, Any],
    tag: str,
    has_cause: bool,
) -> JSError:
    return JSError(name, message, stack, cause, extra, tag=tag, has_cause=has_cause)
