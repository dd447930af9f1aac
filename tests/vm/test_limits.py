"""Execution budget, memory cap, stack exhaustion: the host survives and reports clearly."""

from __future__ import annotations

import pytest

from wfctl.vm import VM, JSException, VMOutOfMemory, VMTimeout, VMTrap

from ._support import CLOCK


def test_infinite_loop_hits_the_budget():
    v = VM.boot(call_budget_s=0.2)
    v.eval("globalThis.spin = () => { for (;;) {} }; globalThis.ok = () => 1;")
    with pytest.raises(VMTimeout, match="exceeded its execution budget of 0.2 s"):
        v.call("spin")
    # a JS catch cannot swallow the interrupt
    with pytest.raises(VMTimeout):
        v.eval("try { while (true) {} } catch (e) { 'caught' }")
    # ...inside jobs too
    v.eval("Promise.resolve().then(() => { while (true) {} })")
    with pytest.raises(VMTimeout):
        v.run_jobs()
    assert v.call_int("ok") == 1  # the VM is still usable
    v.snapshot()
    v.close()


def test_memory_bomb_is_catchable_in_js():
    v = VM.boot(memory_limit=16 << 20)
    caught = v.eval(
        """
        (() => {
          let r;
          try {
            const a = [];
            for (;;) a.push('x'.repeat(1000) + a.length);
          } catch (e) {
            r = 'caught ' + e;
          }
          return r;
        })()
        """
    )
    assert caught == "caught InternalError: out of memory"
    assert v.eval("[1, 2, 3].map((x) => x * 2)") == [2, 4, 6]  # still usable
    with pytest.raises(VMOutOfMemory) as ei:  # uncaught
        v.eval("const big = []; for (;;) big.push(new Array(1000).fill(1));")
    assert isinstance(ei.value, JSException)
    assert v.eval("'still alive'") == "still alive"
    v.close()


def test_deep_recursion_is_contained():
    v = VM.boot(clock_ms=CLOCK)
    v.eval("globalThis.f = (n) => f(n + 1); globalThis.x = 1;")
    snap = v.snapshot()
    with pytest.raises((VMTrap, JSException)) as ei:
        v.call("f", "0")
    if isinstance(ei.value, VMTrap):
        assert "call stack exhausted" in str(ei.value)
        with pytest.raises(VMTrap):  # the instance is discarded
            v.eval("1")
        with pytest.raises(VMTrap):
            v.snapshot()
    v.close()
    # the process is fine: a fresh VM and the last snapshot both work
    fresh = VM.boot()
    assert fresh.eval("6 * 7") == 42
    again = VM.restore(snap)
    assert again.eval("x") == 1
    fresh.close()
    again.close()


def test_moderate_recursion_works():
    v = VM.boot()
    v.eval("globalThis.depth = (n) => n === 0 ? 0 : 1 + depth(n - 1);")
    assert v.eval("depth(1000)") == 1000
    v.close()


def test_keyboard_interrupt_in_a_callback_stops_the_guest():
    fired = []

    def console(stream, text):
        fired.append(text)
        raise KeyboardInterrupt

    v = VM.boot(console=console, call_budget_s=30)
    with pytest.raises(KeyboardInterrupt):
        v.eval("console.log('stop me'); for (;;) {}")
    assert fired == ["stop me"]
    assert v.eval("1 + 1") == 2  # the guest unwound cleanly
    v.close()
