"""Python steps for the e2e conformance app (port of the steps in 99_e2e.ts).

Delays are shortened (sub-second) so the conformance suite stays fast; see
docs/CONFORMANCE.md.
"""

from __future__ import annotations

import hashlib
import random
import time

from e2e_step_helpers import (  # noqa: F401  (steps defined in a helper module)
    read_metadata_from_helper,
    step_that_throws_from_helper,
)

from wfctl import FatalError, RetryableError, get_step_metadata, step

# ------------------------------------------------------------------ basics


@step
def add(a, b):
    return a + b


@step
def random_delay(v: str) -> str:
    time.sleep(random.random() * 0.3)
    return v.upper()


@step
def specific_delay(delay_ms: float, v: str) -> str:
    time.sleep(delay_ms / 1000)
    return v.upper()


@step
def step_that_fails():
    raise FatalError("step failed")


@step
def null_byte_step() -> str:
    return "null byte \0"


@step
def step_with_metadata() -> dict:
    md = get_step_metadata()
    return {
        "run_id": md.run_id,
        "workflow_name": md.workflow_name,
        "step_id": md.step_id,
        "step_name": md.step_name,
        "attempt": md.attempt,
        "started_at": md.started_at,
    }


@step
def race_delay_step(dur_ms: float, resp: int) -> int:
    time.sleep(dur_ms / 1000)
    return resp


@step
def process_payload(payload: dict) -> dict:
    return {"processed": True, "type": payload.get("type"), "id": payload.get("id")}


@step
def noop_step(iteration: int) -> dict:
    return {"iteration": iteration, "ts": int(time.time() * 1000)}


@step
def echo(value):
    return value


@step
def make_large(n: int) -> str:
    pattern = "0123456789abcdef"
    return (pattern * (n // len(pattern) + 1))[:n]


@step
def measure(s: str) -> dict:
    return {"length": len(s), "sha256": hashlib.sha256(s.encode()).hexdigest()}


@step
def record_values(values):
    return values


# ------------------------------------------------------------------ retries


@step
def retry_until_attempt3() -> int:
    attempt = get_step_metadata().attempt
    if attempt < 3:
        raise Exception(f"Failed on attempt {attempt}")
    return attempt


@step
def throw_fatal_error():
    raise FatalError("Fatal step error")


@step
def throw_retryable_error(retry_after: str = "2s") -> dict:
    md = get_step_metadata()
    if md.attempt == 1:
        raise RetryableError("Retryable error", retry_after=retry_after)
    return {
        "attempt": md.attempt,
        "duration": time.time() * 1000 - md.started_at.timestamp() * 1000,
        "stepStartedAt": md.started_at,
    }


@step(max_retries=0)
def throw_with_no_retries():
    attempt = get_step_metadata().attempt
    raise Exception(f"Failed on attempt {attempt}")


@step(max_retries=0)
def step_with_no_retries_that_succeeds() -> dict:
    return {"attempt": get_step_metadata().attempt}


@step(max_retries=0)
def error_step_fn():
    raise Exception("Step error message")


@step
def throw_fatal_with_cause():
    try:
        raise TypeError("inner type error")
    except TypeError as exc:
        raise FatalError("Fatal with cause") from exc


class PaymentDeclined(Exception):
    """A user-defined (non-JS) exception type."""


@step(max_retries=0)
def throw_custom_exception():
    raise PaymentDeclined("card 4242 declined")


@step
def metadata_helper_step(label: str) -> dict:
    md = read_metadata_from_helper()
    return {"label": label, "workflowRunId": md.run_id, "stepId": md.step_id, "attempt": md.attempt}
