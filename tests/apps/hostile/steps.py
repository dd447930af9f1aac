"""Steps of the hostile-workflows app: each fails in a way the engine must record, not die of."""

from __future__ import annotations

import sys

from wfctl import step


@step
def echo(v):
    return v


class BrokenStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ is broken")


@step(max_retries=0)
def broken_str():
    raise BrokenStr()


@step(max_retries=0)
def cyclic_cause():
    a = ValueError("a")
    b = ValueError("b")
    a.__cause__ = b
    b.__cause__ = a
    raise a


@step(max_retries=0)
def exits():
    sys.exit(3)


@step(max_retries=0)
def interrupts():
    raise KeyboardInterrupt


@step
def deep_value(n: int):
    v: list = []
    for _ in range(n):
        v = [v]
    return v
