import logging
import time

from wfctl import get_step_metadata, step

log = logging.getLogger("observe.steps")


@step
def add(a, b):
    print(f"adding {a} + {b}")
    log.info("add called")
    return a + b


@step(max_retries=2)
def flaky(n):
    if get_step_metadata().attempt == 1:
        raise ConnectionError("provider timed out")
    return n


def _dig(data, key):
    return data[key]


@step(max_retries=1)
def lookup(data, key):
    return _dig(data, key)


@step
def slow_step(seconds):
    time.sleep(seconds)
    return seconds
