"""Catalogue "Error handling" #35–#51, as they apply to Python steps."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from e2e_support import (
    assert_completed,
    assert_failed,
    decode,
    event_types,
    events,
    iso_ms,
    normalize,
    step_named,
    steps,
)
from ulid import ULID

from wfctl.engine.engine import DEPLOYMENT_ID
from wfctl.errors import AppError
from wfctl.serde import payload
from wfctl.serde.values import JSError

# ------------------------------------------------------------------ propagation (#35–#38)


def test_nested_workflow_error(engine, runtime):  # 35
    res = engine.start("errorWorkflowNested", [], runtime=runtime)
    error, thrown = assert_failed(engine, res, "USER_ERROR")
    assert error["message"] == "Nested workflow error"
    assert isinstance(thrown, JSError)
    assert thrown.name == "Error" and thrown.message == "Nested workflow error"
    # no transpiler in between: the VM's own stack names the helpers
    for fn in ("errorNested3", "errorNested2", "errorNested1", "errorWorkflowNested"):
        assert fn in (error.get("stack") or ""), error.get("stack")


def test_cross_file_workflow_error(engine, runtime):  # 36
    res = engine.start("errorWorkflowCrossFile", [], runtime=runtime)
    error, thrown = assert_failed(engine, res, "USER_ERROR")
    assert error["message"] == "Error from imported helper module"
    assert thrown.message == "Error from imported helper module"
    assert "helpers.js" in error["stack"] and "throwError" in error["stack"]


def test_basic_step_error(engine, runtime):  # 37
    res = engine.start("errorStepBasic", [], runtime=runtime)
    out = assert_completed(engine, res)
    assert out["caught"] is True
    assert "Step error message" in out["message"]
    assert "error_step_fn" in out["stack"]  # the Python traceback of the step
    assert "evalmachine" not in out["stack"]
    (step,) = steps(engine, res.run_id)
    assert step["status"] == "failed"
    assert step["attempt"] == 1
    assert "Step error message" in step["error"]["message"]
    assert "error_step_fn" in (step["error"].get("stack") or "")


def test_cross_file_step_error(engine, runtime):  # 38
    res = engine.start("errorStepCrossFile", [], runtime=runtime)
    out = assert_completed(engine, res)
    assert out["caught"] is True
    assert "Step error from imported helper module" in out["message"]
    assert "step_that_throws_from_helper" in out["stack"]
    assert "throw_helper_error" in out["stack"] and "e2e_step_helpers.py" in out["stack"]


# ------------------------------------------------------------------ retries (#39–#42)


def test_regular_error_retries_until_success(engine, runtime):  # 39
    res = engine.start("errorRetrySuccess", [], runtime=runtime)
    assert assert_completed(engine, res) == {"finalAttempt": 3}
    (step,) = steps(engine, res.run_id)
    assert step["status"] == "completed" and step["attempt"] == 3
    counts = Counter(event_types(engine, res.run_id))
    assert counts["step_started"] == 3 and counts["step_retrying"] == 2
    assert counts["step_completed"] == 1 and counts["step_failed"] == 0
    retrying = [e for e in events(engine, res.run_id) if e["eventType"] == "step_retrying"]
    msgs = [decode(e["eventData"]["error"]).message for e in retrying]
    assert msgs == ["Failed on attempt 1", "Failed on attempt 2"]


def test_fatal_error_fails_without_retry(engine, runtime):  # 40
    res = engine.start("errorRetryFatal", [], runtime=runtime)
    error, thrown = assert_failed(engine, res, "USER_ERROR")
    assert "Fatal step error" in error["message"]
    assert thrown.name == "FatalError"
    (step,) = step_named(engine, res.run_id, "throw_fatal_error")
    assert step["status"] == "failed" and step["attempt"] == 1
    assert "step_retrying" not in event_types(engine, res.run_id)


def test_retryable_error_respects_retry_after(engine, runtime):  # 41 ('10s' shortened to '2s')
    res = engine.start("errorRetryCustomDelay", ["2s"], runtime=runtime)
    out = assert_completed(engine, res)
    assert out["attempt"] == 2
    assert out["duration"] >= 2000  # now - first start, measured inside the step
    evs = [
        e for e in events(engine, res.run_id) if e["eventType"] in ("step_started", "step_retrying")
    ]
    assert [e["eventType"] for e in evs] == ["step_started", "step_retrying", "step_started"]
    retry_after = iso_ms(evs[1]["eventData"]["retryAfter"])
    assert retry_after >= iso_ms(evs[0]["createdAt"]) + 1999
    assert iso_ms(evs[2]["createdAt"]) >= retry_after
    assert iso_ms(evs[2]["createdAt"]) - iso_ms(evs[0]["createdAt"]) >= 1999
    (step,) = steps(engine, res.run_id)
    assert step["attempt"] == 2 and step["status"] == "completed"
    assert iso_ms(step["startedAt"]) == iso_ms(evs[0]["createdAt"])  # first start, not per attempt


def test_retryable_then_fatal_caught(engine, runtime):  # 41/43 (retryableAndFatalErrorWorkflow)
    res = engine.start("retryableAndFatalErrorWorkflow", [], runtime=runtime)
    out = assert_completed(engine, res)
    assert out["gotFatalError"] is True
    assert out["retryableResult"]["attempt"] == 2
    assert out["retryableResult"]["duration"] >= 1000
    assert isinstance(out["retryableResult"]["stepStartedAt"], datetime)


def test_max_retries_zero(engine, runtime):  # 42
    res = engine.start("errorRetryDisabled", [], runtime=runtime)
    out = assert_completed(engine, res)
    assert out["failed"] is True and out["attempt"] == 1, out
    (step,) = steps(engine, res.run_id)
    assert step["status"] == "failed" and step["attempt"] == 1
    assert "step_retrying" not in event_types(engine, res.run_id)


def test_max_retries_zero_success_and_failure(engine, runtime):  # 42 (maxRetriesZeroWorkflow)
    res = engine.start("maxRetriesZeroWorkflow", [], runtime=runtime)
    assert assert_completed(engine, res) == {
        "successResult": {"attempt": 1},
        "gotError": True,
        "failedAttempt": 1,
    }


# ------------------------------------------------------------------ catchability (#43–#47)


def test_fatal_error_caught_with_is(engine, runtime):  # 43
    res = engine.start("errorFatalCatchable", [], runtime=runtime)
    assert assert_completed(engine, res) == {"caught": True, "isFatal": True, "isInstance": True}


def test_step_fatal_error_cause_chain(engine, runtime):  # 44
    res = engine.start("stepFatalErrorWithCause", [], runtime=runtime)
    assert assert_completed(engine, res) == {
        "caught": True,
        "isFatalInstance": True,
        "isError": True,
        "name": "FatalError",
        "message": "Fatal with cause",
        "fatal": True,
        "fatalIs": True,
        "causeIsTypeError": True,
        "causeName": "TypeError",
        "causeMessage": "inner type error",
    }


def test_workflow_fatal_error_with_cause_run_failed(engine, runtime):  # 45
    res = engine.start("workflowFatalErrorWithCause", [], runtime=runtime)
    error, thrown = assert_failed(engine, res, "USER_ERROR")
    assert error["message"] == "workflow fatal"
    assert isinstance(thrown, JSError)
    assert thrown.name == "FatalError" and thrown.message == "workflow fatal"
    assert isinstance(thrown.cause, JSError)
    assert thrown.cause.name == "RangeError" and thrown.cause.message == "out of range"


def test_workflow_throws_non_error_value(engine, runtime):  # 46
    res = engine.start("workflowThrowsNonError", [], runtime=runtime)
    error, thrown = assert_failed(engine, res, "USER_ERROR")
    assert thrown == {"code": "E_PLAIN", "detail": [1, 2, 3], "note": "not an Error"}
    assert not isinstance(thrown, JSError)
    assert "E_PLAIN" in error["message"]


def test_step_custom_exception_preserved_as_cause(engine, runtime):  # 47 (adapted)
    # Python can only raise exceptions; the closest analogue of "a non-Error value" is a
    # user-defined exception class: it must survive as the cause of the wrapping FatalError.
    res = engine.start("stepThrowsCustomException", [], runtime=runtime)
    out = assert_completed(engine, res)
    assert out["caught"] is True
    assert out["name"] == "FatalError" and out["fatal"] is True
    assert "card 4242 declined" in out["message"]
    assert out["causeName"] == "PaymentDeclined"
    assert out["causeMessage"] == "card 4242 declined"


# ------------------------------------------------------------------ not registered (#48–#50)


def test_workflow_not_registered_rejected_by_start(engine, runtime):  # 48 (adapted)
    with pytest.raises(AppError, match="nonExistentWorkflow"):
        engine.start("nonExistentWorkflow", [], runtime=runtime)
    written = engine.world.list_runs(workflow_name="workflow//./workflows//nonExistentWorkflow")
    assert written.data == []  # nothing was written


def test_workflow_not_registered_fails_run(engine, runtime):  # 48 (a run created elsewhere)
    run_id = f"wrun_{ULID()}"
    engine.world.create_event(
        run_id,
        "run_created",
        event_data={
            "deploymentId": DEPLOYMENT_ID,
            "workflowName": "workflow//./workflows//nonExistentWorkflow",
            "input": payload.encode([], key=None),
            "executionContext": {"workflowRuntime": runtime, "features": {"encryption": False}},
        },
    )
    res = engine.drive(run_id)
    error, thrown = assert_failed(engine, res, "RUNTIME_ERROR")
    assert "is not registered" in error["message"]
    assert "nonExistentWorkflow" in error["message"]


def test_step_not_registered_caught(engine, runtime):  # 49
    res = engine.start("stepNotRegisteredCatchable", [], runtime=runtime)
    out = assert_completed(engine, res)
    assert out["caught"] is True and out["fatal"] is True
    assert "is not registered" in out["error"]
    (ghost,) = steps(engine, res.run_id)
    assert ghost["stepName"] == "step//./steps//nonExistentStep"
    assert ghost["status"] == "failed"
    assert "is not registered" in ghost["error"]["message"]


def test_step_not_registered_uncaught(engine, runtime):  # 50
    res = engine.start("stepNotRegisteredUncaught", [], runtime=runtime)
    run = engine.world.get_run(res.run_id)
    code = (run.get("error") or {}).get("code")
    assert code in ("USER_ERROR", "RUNTIME_ERROR"), run
    error, _ = assert_failed(engine, res, code)
    assert "is not registered" in error["message"]
    assert "anotherNonExistentStep" in error["message"]


# ------------------------------------------------------------------ #51 error subclasses


def _client_errors() -> list[JSError]:
    return [
        JSError(
            "TypeError",
            "client type",
            "TypeError: client type\n    at client (test.py:1)",
            cause=JSError(
                "Error", "client inner", "Error: client inner\n    at client (test.py:2)"
            ),
        ),
        JSError(
            "RangeError", "client range", "RangeError: client range\n    at client (test.py:3)"
        ),
        JSError(
            "RetryableError",
            "client retry",
            "RetryableError: client retry\n    at client (test.py:4)",
            extra={"retryAfter": datetime(2099, 1, 1, tzinfo=UTC)},
        ),
        JSError(
            "AggregateError",
            "client aggregate",
            "AggregateError: client aggregate\n    at client (test.py:5)",
            extra={"errors": [JSError("Error", "e1", "Error: e1\n    at client (test.py:6)")]},
        ),
    ]


def test_error_subclass_round_trip(engine, runtime):  # 51
    client = _client_errors()
    res = engine.start("errorSubclassRoundTripWorkflow", [client], runtime=runtime)
    out = assert_completed(engine, res)
    # workflow-made errors survive workflow -> Python step -> workflow
    assert out["classOk"] == [True] * 10
    assert out["got"] == out["expected"]
    names = [d["ctor"] for d in out["expected"]]
    assert names == [
        "TypeError",
        "RangeError",
        "SyntaxError",
        "URIError",
        "ReferenceError",
        "EvalError",
        "AggregateError",
        "FatalError",
        "RetryableError",
        "Error",
    ]
    assert all(d["hasStack"] for d in out["got"])
    # ... and reach the client (Python) intact
    made = out["made"]
    assert [e.name for e in made] == names
    assert [e.message for e in made] == [
        "type",
        "range",
        "syntax",
        "uri",
        "reference",
        "eval",
        "aggregate",
        "fatal",
        "retryable",
        "plain",
    ]
    assert all(isinstance(e, JSError) and e.stack for e in made)
    assert isinstance(made[0].cause, JSError) and made[0].cause.message == "inner"
    assert not made[1].has_cause
    assert [x.message for x in made[6].extra["errors"]] == ["a1", "a2"]
    assert made[8].extra["retryAfter"] == datetime(2099, 1, 1, tzinfo=UTC)
    assert made[9].cause == "string-cause"
    # client-made errors: client -> workflow -> step -> workflow -> client
    assert [d["ctor"] for d in out["client"]] == [
        "TypeError",
        "RangeError",
        "RetryableError",
        "AggregateError",
    ]
    assert out["clientBack"] == out["client"]
    assert out["client"][2]["retryAfter"] == "2099-01-01T00:00:00.000Z"
    assert out["client"][3]["errors"] == [{"name": "Error", "message": "e1"}]
    assert normalize(out["fromClient"]) == normalize(client)
    assert [e.stack for e in out["fromClient"]] == [e.stack for e in client]
