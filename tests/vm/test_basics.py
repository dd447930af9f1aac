"""eval / call / call_int / run_jobs / clock / console."""

from __future__ import annotations

import pytest

from wfctl.vm import VM, JSException, VMError

from ._support import CLOCK, vm  # noqa: F401

STRINGS = [
    "",
    "plain ascii",
    "nul\x00in\x00the middle\x00",
    "\x00",
    "emoji 😀🎉 and 𝄞 (non-BMP)",
    "accents: é ü ñ — “quotes” ‘x’ 中文 日本語 한국어",
    "line\nbreaks\r\nand\ttabs",
    "x" * 100_000 + "😀",
]


@pytest.mark.parametrize("s", STRINGS, ids=range(len(STRINGS)))
def test_strings_round_trip_through_call(vm, s):  # noqa: F811
    vm.eval("globalThis.echo = (s) => s; globalThis.len = (s) => String(s.length)")
    assert vm.call("echo", s) == s
    # the guest sees the right UTF-16 length too (non-BMP = 2 code units)
    assert int(vm.call("len", s)) == len(s.encode("utf-16-le")) // 2


def test_strings_round_trip_through_eval(vm):  # noqa: F811
    vm.eval("globalThis.echo = (s) => s")
    for s in STRINGS[:-1]:
        assert vm.eval(f"echo({__import__('json').dumps(s)})") == s


def test_eval_results_are_json(vm):  # noqa: F811
    assert vm.eval("1 + 2") == 3
    assert vm.eval("0.5") == 0.5
    assert vm.eval("true") is True
    assert vm.eval("undefined") is None
    assert vm.eval("null") is None
    assert vm.eval("({a: [1, 'x', null], b: {c: false}})") == {
        "a": [1, "x", None],
        "b": {"c": False},
    }
    assert vm.eval("(() => {})") is None
    assert vm.eval("var g = 5; g") == 5 and vm.eval("g") == 5  # global script semantics


def test_call_results(vm):  # noqa: F811
    vm.eval(
        """
        globalThis.num = () => 42.5;
        globalThis.obj = () => ({toString() { return 'custom'; }});
        globalThis.undef = () => undefined;
        globalThis.nul = () => null;
        globalThis.prom = async () => 'later';
        globalThis.noArg = (...a) => String(a.length);
        globalThis.notFn = 3;
        """
    )
    assert vm.call("num") == "42.5"
    assert vm.call("obj") == "custom"
    assert vm.call("undef") is None
    assert vm.call("nul") is None
    assert vm.call("prom") is None
    assert vm.call("noArg") == "0"
    assert vm.call("noArg", "") == "1"
    with pytest.raises(JSException, match="not a function"):
        vm.call("notFn")
    with pytest.raises(JSException, match="not a function"):
        vm.call("missing")


def test_call_int(vm):  # noqa: F811
    vm.eval(
        """
        let n = 0;
        globalThis.tick = () => ++n;
        globalThis.big = () => 2 ** 40;
        globalThis.neg = () => -7;
        globalThis.flag = () => true;
        globalThis.half = () => 0.5;
        globalThis.str = () => "1";
        """
    )
    assert [vm.call_int("tick") for _ in range(3)] == [1, 2, 3]
    assert vm.call_int("big") == 2**40
    assert vm.call_int("neg") == -7
    assert vm.call_int("flag") == 1
    with pytest.raises(VMError, match="not an integer"):
        vm.call_int("half")
    with pytest.raises(VMError, match="not a number"):
        vm.call_int("str")
    assert vm.call_int("tick") == 4  # still fine


def test_exceptions_carry_name_message_stack(vm):  # noqa: F811
    vm.eval("globalThis.boom = (m) => { throw new TypeError('bad ' + m); }", "lib.js")
    with pytest.raises(JSException) as ei:
        vm.call("boom", "thing")
    e = ei.value
    assert (e.name, e.message) == ("TypeError", "bad thing")
    assert "lib.js:1" in e.stack
    assert (e.filename, e.line) == ("lib.js", 1)
    assert "TypeError: bad thing" in str(e)
    vm.eval("globalThis.raw = () => { throw 'just a string'; }")
    with pytest.raises(JSException) as ei:
        vm.call("raw")
    assert ei.value.name == "" and ei.value.message == "just a string"
    # a syntax error in a script
    with pytest.raises(JSException) as ei:
        vm.eval("\n\nlet x = ;", "broken.js")
    assert ei.value.name == "SyntaxError"
    assert (ei.value.filename, ei.value.line) == ("broken.js", 3)
    assert "broken.js:3" in str(ei.value)


def test_run_jobs_settles_promises_and_reports_throwing_jobs(vm):  # noqa: F811
    vm.eval(
        """
        globalThis.log = [];
        Promise.resolve(1).then((v) => log.push(v)).then(() => log.push(2));
        queueMicrotask(() => log.push(3));
        """
    )
    assert vm.eval("log.length") == 0
    assert vm.run_jobs() == 3
    assert vm.eval("log") == [1, 3, 2]
    assert vm.run_jobs() == 0
    vm.eval(
        "queueMicrotask(() => { throw new RangeError('in a job'); }); queueMicrotask(() => log.push(4));"
    )
    with pytest.raises(JSException, match="RangeError: in a job"):
        vm.run_jobs()
    assert vm.run_jobs() == 1  # the remaining job stays queued
    assert vm.eval("log") == [1, 3, 2, 4]


def test_clock_is_host_controlled(vm):  # noqa: F811
    assert vm.eval("Date.now()") == CLOCK
    assert vm.eval("new Date().toISOString()") == "2023-11-14T22:13:20.000Z"
    assert vm.eval("performance.now()") == 0
    vm.set_clock(CLOCK + 1500)
    assert vm.clock_ms == CLOCK + 1500
    assert vm.eval("[Date.now(), performance.now()]") == [CLOCK + 1500, 1500]


def test_sandbox_has_no_host_access(vm):  # noqa: F811
    assert (
        vm.eval("[typeof std, typeof os, typeof print, typeof setTimeout, typeof fetch]")
        == ["undefined"] * 5
    )
    vm.eval("globalThis.r = null; import('qjs:std').then(() => r = 'loaded', (e) => r = String(e))")
    vm.run_jobs()
    assert "could not load module 'qjs:std'" in vm.eval("r")


def test_console_goes_to_the_callback():
    lines = []
    v = VM.boot(console=lambda stream, text: lines.append((stream, text)))
    v.eval(
        """
        console.log('hello', 1, {a: [1, 'x']}, new Map([[1, 2]]), null, undefined);
        console.info('multi\\nline');
        console.warn('careful');
        console.error(new Error('bad'));
        """
    )
    assert lines[0] == ("stdout", 'hello 1 { a: [ 1, "x" ] } Map(1) { 1 => 2 } null undefined')
    assert lines[1] == ("stdout", "multi\nline")
    assert lines[2] == ("stderr", "careful")
    assert lines[3][0] == "stderr" and lines[3][1].startswith("Error: bad\n    at <eval>")
    v.close()


def test_console_callback_errors_do_not_break_the_guest():
    def bad(stream, text):
        raise RuntimeError("sink down")

    v = VM.boot(console=bad)
    assert v.eval("console.log('x'); 7") == 7
    v.close()


def test_closed_vm_refuses_calls():
    v = VM.boot()
    v.close()
    v.close()  # idempotent
    with pytest.raises(VMError, match="closed"):
        v.eval("1")
    with pytest.raises(VMError, match="closed"):
        v.call_int("x")
    with pytest.raises(VMError, match="closed"):
        v.snapshot()


def test_vms_are_isolated():
    a, b = VM.boot(clock_ms=1), VM.boot(clock_ms=2)
    a.eval("globalThis.x = 'a'")
    assert b.eval("typeof x") == "undefined"
    assert (a.eval("Date.now()"), b.eval("Date.now()")) == (1, 2)
    a.close()
    b.close()


def test_direct_construction_is_refused():
    with pytest.raises(TypeError):
        VM()


def test_large_sources_and_results(vm):  # noqa: F811
    big = "a" * 300_000
    assert vm.eval(f"'{big}'.length") == 300_000
    assert vm.eval(f"'{big}'") == big
    vm.eval("globalThis.rep = (n) => '😀'.repeat(Number(n))")
    assert vm.call("rep", "50000") == "😀" * 50_000


def test_wasi_stdio_is_line_buffered_to_the_console():
    from wfctl.vm.wasi import WasiState

    got = []
    st = WasiState(0, lambda stream, text: got.append((stream, text)))
    st.write(1, b"partial ")
    assert got == [] and st.dirty
    st.write(1, b"line\nsecond\n")
    st.write(2, b"oops \xff")
    assert got == [("stdout", "partial line"), ("stdout", "second")]
    st.flush()
    assert got[-1] == ("stderr", "oops \ufffd") and not st.dirty
