"""Defects 1, 4, 11 of issue 14: workflow code cannot reach the host↔VM protocol, cannot
observe garbage collection, and one long builtin cannot outrun the budget."""

from __future__ import annotations

import time

import pytest
from engine_support import output_of
from hostile_support import assert_store_consistent

from wfctl.vm import VM, VMTimeout


@pytest.mark.parametrize("workflow", ["hijackProtocol", "breakJson", "pollute"])
def test_replacing_protocol_globals_or_builtins_does_not_reach_the_host(
    workflow, hostile, data_dir
):
    """Replacing __wf_tick/__wf_state/..., JSON.*, or polluting Object/Array/Map/Promise
    prototypes: the run completes (the runtime captured what it uses), quickly, in-process."""
    t0 = time.monotonic()
    res = hostile.start(workflow, [])
    assert time.monotonic() - t0 < 10
    assert res.status == "completed", res.run
    healthy = hostile.start("healthy", [41])  # the process still serves other runs
    assert healthy.status == "completed"
    assert_store_consistent(hostile, data_dir)


def test_module_top_level_replacement_of_the_protocol_is_harmless(hostile, data_dir):
    """workflows.js assigns globalThis.__wf_tick = () => 1 at its top level (the measured
    100 % CPU hang): every run of the app still works."""
    assert hostile.start("healthy", [1]).status == "completed"


def test_a_runaway_loop_fails_the_run_within_the_budget(hostile, data_dir):
    t0 = time.monotonic()
    res = hostile.start("spin", [])
    assert time.monotonic() - t0 < 5
    assert res.status == "failed"
    assert "execution budget" in res.run["error"]["message"]
    assert hostile.start("healthy", [1]).status == "completed"
    assert_store_consistent(hostile, data_dir)


def test_one_long_builtin_is_stopped_by_the_wall_clock_backstop():
    """Defect 11: a single sort (no interrupt poll inside) stops near the budget; the VM is
    discarded and the process is fine."""
    vm = VM.boot(call_budget_s=0.5, memory_limit=512 << 20)
    vm.eval("globalThis.a = []; 0")
    for k in range(10):  # filled in slices, each well inside the budget
        lo, hi = k * 250_000, (k + 1) * 250_000
        vm.eval(f"for (let i = {lo}; i < {hi}; i++) a[i] = (i * 7919) % 1000003; 0")
    t0 = time.monotonic()
    with pytest.raises(VMTimeout) as info:
        vm.eval("a.sort(); 1")  # default sort compares as strings: many seconds unbounded
    elapsed = time.monotonic() - t0
    assert info.value.discarded
    assert elapsed < 0.5 + 0.25 + 0.5, elapsed
    vm.close()
    with VM.boot(call_budget_s=0.5) as other:
        assert other.eval("1 + 1") == 2


def test_a_long_builtin_in_a_workflow_fails_the_run_in_bounded_time(hostile, data_dir):
    t0 = time.monotonic()
    res = hostile.start("bigSort", [2_500_000])
    assert time.monotonic() - t0 < 8
    assert res.status == "failed"
    assert "execution budget" in res.run["error"]["message"]
    assert_store_consistent(hostile, data_dir)


def test_no_garbage_collection_observers_in_the_sandbox(hostile):
    """Defect 4: WeakRef and FinalizationRegistry are removed (docs/RUNTIMES.md lists the
    audit of the global object)."""
    res = hostile.start("gcProbe", [])
    assert res.status == "completed"
    assert output_of(hostile.world, res.run_id) == ["undefined", "undefined", "undefined"]


def test_workflow_code_cannot_import_wfctl_internals(tmp_path, make_engine):
    app = tmp_path / "app"
    app.mkdir()
    (app / "workflows.js").write_text(
        'import { parse } from "wfctl:devalue";\nexport async function w() { return 1; }\n'
    )
    (app / "steps.py").write_text("")
    from wfctl.errors import AppError

    with pytest.raises(AppError, match="internal to wfctl"):
        make_engine(app)
