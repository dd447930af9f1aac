"""Defects 2, 5 and 12 of issue 14: every failure while driving a run is that run's failure,
with a clear reason; ``replay`` counts a reproduced failure as a pass."""

from __future__ import annotations

import time

import pytest
from engine_support import output_of
from hostile_support import HOSTILE, assert_store_consistent

from wfctl.engine.executor import js_error_from


@pytest.mark.parametrize("what", ["date", "number", "string"])
def test_an_out_of_range_sleep_is_a_catchable_range_error(what, hostile, data_dir):
    res = hostile.start("sleepFar", [what])
    assert res.status == "completed", res.run
    out = output_of(hostile.world, res.run_id)
    assert out.startswith("RangeError: sleep: the resume time"), out
    assert_store_consistent(hostile, data_dir)


def test_an_uncaught_out_of_range_sleep_fails_the_run(hostile, data_dir):
    res = hostile.start("sleepFarUncaught", [])
    assert res.status == "failed"
    assert res.run["error"]["message"].startswith("RangeError") or "out of range" in str(
        res.run["error"]
    )
    assert_store_consistent(hostile, data_dir)


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        ("str", "BrokenStr whose __str__ failed"),
        ("cycle", "a"),
        ("exit", "SystemExit"),
        ("interrupt", "KeyboardInterrupt"),
    ],
)
def test_steps_failing_in_unusual_ways_fail_their_run(kind, needle, hostile, data_dir):
    """A broken __str__, a cyclic __cause__, sys.exit() and KeyboardInterrupt raised by a step
    are recorded as step failures; the process (this test) survives and serves other runs."""
    t0 = time.monotonic()
    res = hostile.start("badStep", [kind])
    assert time.monotonic() - t0 < 10
    assert res.status == "failed", res.run
    assert needle in res.run["error"]["message"], res.run["error"]
    assert hostile.start("healthy", [1]).status == "completed"
    assert_store_consistent(hostile, data_dir)


def test_a_cyclic_cause_chain_is_recorded_once_per_exception():
    a, b = ValueError("a"), ValueError("b")
    a.__cause__, b.__cause__ = b, a
    err = js_error_from(a)
    assert err.message == "a" and err.cause.message == "b" and err.cause.cause is None


def test_a_deep_step_value_is_blamed_on_the_value_not_on_recursion(hostile, data_dir):
    res = hostile.start("deepStep", [3000])
    assert res.status == "failed"
    message = res.run["error"]["message"]
    assert "nested more than 1000 levels" in message and "recursion" not in message, message
    assert hostile.start("deepStep", [900]).status == "completed"
    assert_store_consistent(hostile, data_dir)


def test_module_errors_do_not_show_the_host_app_path(hostile):
    res = hostile.start("importMissing", [])
    out = output_of(hostile.world, res.run_id)
    assert "no-such-module.js" in out
    assert str(HOSTILE) not in out and "apps/hostile" not in out, out


@pytest.mark.parametrize(
    ("workflow", "reason"),
    [
        ("spin", "execution budget"),
        ("trap", "wasm trap"),
        ("neverSettles", "no step, sleep or hook can settle"),
    ],
)
def test_replay_counts_a_reproduced_failure_as_a_pass(workflow, reason, hostile, data_dir):
    """Defect 5: runs that failed by budget, trap or an unsettleable promise replay clean
    (under both runtimes)."""
    from wfctl.engine.replaycheck import check_run

    res = hostile.start(workflow, [])
    assert res.status == "failed" and reason in res.run["error"]["message"], res.run
    for runtime in ("replay", "snapshot"):
        report = check_run(hostile, res.run_id, runtime)
        assert report.ok, report.divergence
        assert any("reproduced the stored failure" in n for n in report.notes), report.notes
    assert_store_consistent(hostile, data_dir)
