"""How deeply nested a value may be to cross the host ↔ VM boundary.

Decoding runs recursively both in Python and in the VM (whose native stack is 1 MiB): a value
nested deeper than :data:`MAX_DEPTH` would fail far from its cause (a "call stack exhausted"
that looks like workflow recursion, or a Python ``RecursionError``). It is refused where it
enters instead, with a message about the value.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_DEPTH", "DepthError", "check_depth", "value_depth"]

#: Containers (lists, dicts, sets, errors...) inside each other. Chosen well below what the
#: VM's codec can decode (measured: ~2,900 nested arrays) and Python's recursion limit.
MAX_DEPTH = 1000


class DepthError(ValueError):
    """A value nested deeper than :data:`MAX_DEPTH`."""

    user_facing = True


def value_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of containers in ``value`` (iterative; stops counting past ``limit``)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    seen: set[int] = set()
    while stack:
        v, d = stack.pop()
        if isinstance(v, (str, bytes, bytearray, int, float, bool)) or v is None:
            continue
        if id(v) in seen:
            continue
        seen.add(id(v))
        if d > deepest:
            deepest = d
            if deepest > limit:
                return deepest
        if isinstance(v, dict):
            children = [*v.keys(), *v.values()]
        elif isinstance(v, (list, tuple, set, frozenset)):
            children = list(v)
        else:
            children = [getattr(v, a, None) for a in ("cause", "extra")]
        stack.extend((c, d + 1) for c in children)
    return deepest


def check_depth(value: Any, what: str) -> None:
    """Raise :class:`DepthError` naming ``what`` if ``value`` is nested too deeply."""
    depth = value_depth(value)
    if depth > MAX_DEPTH:
        raise DepthError(
            f"{what} nested more than {MAX_DEPTH} levels deep; values crossing into the "
            f"workflow may be nested at most {MAX_DEPTH} levels"
        )
