"""Steps of the worker-fleet tests' fixture app (trivial: the fleet, not the steps, is tested)."""

from __future__ import annotations

import os
import time

from wfctl import get_step_metadata, step


@step
def inc(v):
    return v + 1


@step
def flaky(i):
    if get_step_metadata().attempt == 1:
        raise ValueError(f"flaky {i}: first attempt fails")
    return 2


@step
def slow_inc(v, ms):
    time.sleep(ms / 1000)
    return v + 1


@step
def tagged(v, ms):
    time.sleep(ms / 1000)
    return {"v": v + 1, "pid": os.getpid()}
