"""Snapshot / restore: cross-process resumption, determinism, refusal of foreign snapshots."""

from __future__ import annotations

import hashlib
import json

import pytest

from wfctl.vm import VM, Snapshot, SnapshotIncompatible, mapping_loader

from ._support import CLOCK, WORKFLOW_JS, run_worker, vm  # noqa: F401


def _start_workflow(clock: int = CLOCK) -> VM:
    v = VM.boot(clock_ms=clock, modules=mapping_loader({"wf.js": WORKFLOW_JS}))
    v.eval_module('import "./wf.js";', "main.js")
    assert v.call("start", "10") is None  # an async function: Promise -> None
    v.run_jobs()
    return v


def test_suspended_workflow_resumes_in_other_processes(tmp_path):
    v = _start_workflow()
    assert json.loads(v.call("readPending")) == [{"name": "add", "args": [10, 1]}]
    s1 = tmp_path / "s1.snap"
    s1.write_bytes(v.snapshot().to_bytes())
    v.close()

    # process 2: first resume, suspends again on the second host call
    out = json.loads(run_worker("resume", str(s1), "11", str(tmp_path / "s2.snap")))
    assert out == {"pending": [{"name": "add", "args": [11, 2]}], "result": None, "clock": CLOCK}

    # process 3: second resume, completes
    out = json.loads(
        run_worker("resume", str(tmp_path / "s2.snap"), "13", str(tmp_path / "s3.snap"))
    )
    assert out["pending"] == []
    assert out["result"] == {"ok": 24}

    # and the final image is usable here too
    v = VM.restore(Snapshot.from_bytes((tmp_path / "s3.snap").read_bytes()))
    assert json.loads(v.call("getResult")) == {"ok": 24}
    v.close()


def test_same_clock_same_random_and_identical_snapshots():
    a, b = VM.boot(clock_ms=CLOCK), VM.boot(clock_ms=CLOCK)
    code = "Array.from({length: 8}, () => Math.random())"
    seq = a.eval(code)
    assert seq == b.eval(code)
    assert len(set(seq)) == 8
    a.eval("globalThis.m = new Map(); for (let i = 0; i < 500; i++) m.set('k' + i, {i});")
    b.eval("globalThis.m = new Map(); for (let i = 0; i < 500; i++) m.set('k' + i, {i});")
    assert a.snapshot().to_bytes() == b.snapshot().to_bytes()
    other = VM.boot(clock_ms=CLOCK + 1)
    assert other.eval(code) != seq
    assert other.eval("Date.now()") == CLOCK + 1
    for v in (a, b, other):
        v.close()


def test_boot_is_deterministic_across_paths_and_processes():
    from . import _worker

    clock = 1_234_567_890_123  # not used elsewhere: the first boot here is a real one
    digests = []
    for _ in range(2):  # real boot, then the pristine-image path
        v = VM.boot(clock_ms=clock)
        run = []
        for step in _worker.DETERMINISM_STEPS:
            v.eval(step)
            run.append(hashlib.sha256(v.snapshot().to_bytes()).hexdigest())
        v.close()
        digests.append(run)
    assert digests[0] == digests[1]
    assert json.loads(run_worker("determinism", str(clock))) == digests[0]


def test_restored_then_continued_equals_never_stopped():
    steps = [
        "globalThis.xs = [Math.random()];",
        "for (let i = 0; i < 200; i++) xs.push({i, r: Math.random(), d: Date.now()});",
        "xs.sort((p, q) => (p.r ?? 0) - (q.r ?? 0)); xs.length",
    ]
    never = _start_workflow()
    stopped = _start_workflow()
    never.eval(steps[0])
    stopped.eval(steps[0])
    restored = VM.restore(stopped.snapshot())
    stopped.close()
    for v in (never, restored):
        v.set_clock(CLOCK + 5000)
        v.call("resolveNext", "11")
        v.run_jobs()
        for s in steps[1:]:
            v.eval(s)
    m1, m2 = never.snapshot(), restored.snapshot()
    assert hashlib.sha256(m1.memory).digest() == hashlib.sha256(m2.memory).digest()
    assert m1.meta == m2.meta
    never.close()
    restored.close()


def test_snapshot_round_trips_through_bytes(vm):  # noqa: F811
    vm.eval("globalThis.echo = (s) => s + '!'")
    assert vm.call("echo", "a") == "a!"
    snap = vm.snapshot()
    data = snap.to_bytes()
    back = Snapshot.from_bytes(data)
    assert back.memory == snap.memory and back.meta == snap.meta
    assert back.to_bytes() == data
    v2 = VM.restore(back)
    assert v2.call("echo", "b") == "b!"  # the cached function handle came with the meta
    v2.close()


def test_foreign_snapshots_are_refused(vm):  # noqa: F811
    snap = vm.snapshot()
    tampered = Snapshot(snap.memory, {**snap.meta, "wasm_sha256": "0" * 64})
    with pytest.raises(SnapshotIncompatible, match="different QuickJS wasm"):
        VM.restore(tampered)
    with pytest.raises(SnapshotIncompatible, match="format"):
        VM.restore(Snapshot(snap.memory, {**snap.meta, "format": 999}))
    data = bytearray(snap.to_bytes())
    data[8] = 99  # header format version
    with pytest.raises(SnapshotIncompatible, match="format 99"):
        Snapshot.from_bytes(bytes(data))
    with pytest.raises(SnapshotIncompatible, match="magic"):
        Snapshot.from_bytes(b"not a snapshot at all")
    with pytest.raises(SnapshotIncompatible, match="corrupt"):
        Snapshot.from_bytes(snap.to_bytes()[:-10])
    # the refusals did not disturb the original
    assert vm.eval("1 + 1") == 2
