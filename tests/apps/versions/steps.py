"""Steps of tests/apps/versions; every call is counted in $VERSIONS_COUNTER (one line each)."""

import os

from wfctl import FatalError, step

BROKEN = True


def _mark(label: str) -> None:
    path = os.environ.get("VERSIONS_COUNTER")
    if path:
        with open(path, "a") as f:
            f.write(label + "\n")


@step
def tick(label: str, v: int) -> int:
    _mark(label)
    return v + 1


@step
def breaks(v: int) -> int:
    _mark("breaks")
    if BROKEN:
        raise FatalError("breaks is broken")
    return v * 10
