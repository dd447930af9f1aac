"""Steps of the Client/serve fixture app. Appends a line to $WFCTL_TEST_IMPORT_LOG on import."""

import os
import time

from wfctl import FatalError, step

if os.environ.get("WFCTL_TEST_IMPORT_LOG"):
    with open(os.environ["WFCTL_TEST_IMPORT_LOG"], "a") as f:
        f.write(f"{os.getpid()}\n")


@step
def add(a: int, b: int) -> int:
    return a + b


@step
def charge(cents: int) -> dict:
    raise FatalError(f"card declined for {cents} cents")


@step
def slow(i: int, seconds: float) -> int:
    time.sleep(seconds)
    return i


@step
def echo(value: object) -> object:
    return value
