"""Defect 3 of issue 14: wfctl never reads or clears another thread's pending wasmtime
exception. A thread using wasmtime-py itself (as a step might) gets back every exception its
host function raised, while wfctl VMs on another thread keep trapping."""

from __future__ import annotations

import threading

import wasmtime

from wfctl.vm import VM, VMTrap


def _own_exceptions(stop: threading.Event, counts: dict[str, int]) -> None:
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module(engine, '(module (import "" "f" (func)) (func (export "run") call 0))')

    def f() -> None:
        raise ValueError("mine")

    func = wasmtime.Func(store, wasmtime.FuncType([], []), f)
    run = wasmtime.Instance(store, module, [func]).exports(store)["run"]
    while not stop.is_set() or counts["calls"] < 200:
        counts["calls"] += 1
        try:
            run(store)
        except ValueError as e:
            counts["own"] += str(e) == "mine"
        except wasmtime.Trap:
            counts["lost"] += 1  # our exception was taken by someone else


def test_concurrent_wasmtime_users_keep_their_own_exceptions():
    counts = {"calls": 0, "own": 0, "lost": 0}
    stop = threading.Event()
    t = threading.Thread(target=_own_exceptions, args=(stop, counts))
    t.start()
    traps = 0
    try:
        for _ in range(40):  # each trap goes through wfctl's failure path
            vm = VM.boot(call_budget_s=5)
            try:
                vm.eval("(function f(n) { return f(n + 1) + 1; })(0)")
            except VMTrap as e:
                traps += 1
                assert "mine" not in str(e) and e.__cause__ is None, e
            finally:
                vm.close()
    finally:
        stop.set()
        t.join(30)
    assert traps == 40
    assert counts["lost"] == 0 and counts["own"] == counts["calls"], counts
