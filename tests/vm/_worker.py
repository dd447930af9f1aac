"""Subprocess side of the cross-process snapshot tests.

usage: _worker.py resume SNAP_IN VALUE SNAP_OUT
    restore SNAP_IN, resolve the next pending host call with VALUE (JSON), run the jobs,
    write the new snapshot to SNAP_OUT and print {"pending": [...], "result": ...} as JSON.
usage: _worker.py determinism CLOCK
    boot at CLOCK, run a few steps, print the snapshot sha256 after each.
usage: _worker.py cache-load
    load the compiled module (from the disk cache) and print how it was obtained.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

from wfctl.vm import VM, Snapshot


def resume(snap_in: str, value: str, snap_out: str) -> None:
    snap = Snapshot.from_bytes(Path(snap_in).read_bytes())
    vm = VM.restore(snap)
    vm.call("resolveNext", value)
    vm.run_jobs()
    out = {
        "pending": json.loads(vm.call("readPending") or "[]"),
        "result": json.loads(vm.call("getResult") or "null"),
        "clock": vm.eval("Date.now()"),
    }
    Path(snap_out).write_bytes(vm.snapshot().to_bytes())
    vm.close()
    print(json.dumps(out))


DETERMINISM_STEPS = [
    "globalThis.xs = Array.from({length: 4}, () => Math.random());",
    "globalThis.m = new Map(); for (let i = 0; i < 300; i++) m.set('k' + i, {i, r: Math.random()});",
    "xs.push(Date.now(), performance.now()); JSON.stringify(xs).length",
]


def determinism(clock: str) -> None:
    """Boot at CLOCK, run DETERMINISM_STEPS, print the sha256 of the image after each."""
    vm = VM.boot(clock_ms=int(clock))
    digests = []
    for step in DETERMINISM_STEPS:
        vm.eval(step)
        digests.append(hashlib.sha256(vm.snapshot().to_bytes()).hexdigest())
    vm.close()
    print(json.dumps(digests))


def cache_load() -> None:
    from wfctl.vm import loader

    t = time.perf_counter()
    rt = loader.get_runtime()
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    VM.boot().close()
    boot_s = time.perf_counter() - t
    print(json.dumps({"source": rt.stats.source, "load_s": load_s, "first_boot_s": boot_s}))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "resume":
        resume(*sys.argv[2:5])
    elif cmd == "determinism":
        determinism(sys.argv[2])
    elif cmd == "cache-load":
        cache_load()
    else:
        raise SystemExit(f"unknown command {cmd}")
