"""Steps of the engine-level acceptance tests' fixture app."""

from __future__ import annotations

import time

from wfctl import FatalError, get_step_metadata, step


@step
def add(a, b):
    return a + b


@step
def inc(v):
    return v + 1


@step
def slow_inc(v, ms):
    time.sleep(ms / 1000)
    return v + 1


@step
def boom(i):
    raise FatalError(f"boom {i}")


@step
def flaky():
    md = get_step_metadata()
    if md.attempt == 1:
        raise ValueError("flaky first attempt")
    return {"attempt": md.attempt}


@step
def unencodable():
    return object()


@step
def fail_with(message):
    raise FatalError(message)


@step
def echo(value):
    return value


@step
def big(i):
    return f"{i}:" + "x" * 5000
