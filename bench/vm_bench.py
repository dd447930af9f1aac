"""VM host micro-benchmarks (medians): compile, cached load, boot, snapshot, restore, calls.

    .venv/bin/python bench/vm_bench.py          # prints a table
    from bench.vm_bench import run; run()        # -> dict of medians

Timings are wall-clock medians on whatever machine runs this; they are noisy on small VMs.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import wasmtime  # noqa: E402
import zstandard  # noqa: E402

from wfctl.vm import VM, Snapshot, mapping_loader  # noqa: E402
from wfctl.vm import loader as vm_loader  # noqa: E402
from wfctl.vm.wasm_patch import patch  # noqa: E402


def make_bundle(n_functions: int = 160) -> str:
    """A synthetic ~50 KB workflow bundle: many functions, a Map registry, a class."""
    parts = ["const registry = new Map();"]
    for i in range(n_functions):
        parts.append(
            f"""
export function step{i}(input) {{
  const acc = [];
  for (let j = 0; j < (input?.n ?? 3); j++) acc.push({{ id: "s{i}-" + j, value: j * {i} }});
  const total = acc.reduce((s, x) => s + x.value, 0);
  return {{ name: "step{i}", total: total + {i}, ids: acc.map((x) => x.id).join(",") }};
}}
registry.set("step{i}", step{i});"""
        )
    parts.append(
        """
export class Workflow {
  constructor(name) { this.name = name; this.steps = []; this.state = new Map(); }
  add(name) { this.steps.push(registry.get(name)); return this; }
  run(input) { return this.steps.map((s) => s(input)); }
}
globalThis.registry = registry;
globalThis.runStep = (name) => JSON.stringify(registry.get(name)({ n: 5 }));
globalThis.tick = () => registry.size;
globalThis.echo = (s) => s;
"""
    )
    return "\n".join(parts)


def _median(fn: Callable[[], object], n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _per_call(fn: Callable[[], object], calls: int, rounds: int = 5) -> float:
    def batch() -> None:
        for _ in range(calls):
            fn()

    return _median(batch, rounds) / calls


_CACHED_LOAD_SNIPPET = """
import json, time
t0 = time.perf_counter()
import wasmtime
from wfctl.vm import loader
t1 = time.perf_counter()
engine = wasmtime.Engine(loader._engine_config())
t = time.perf_counter()
path = loader.cache_dir() / (loader.cache_key(loader.WASM_SHA256) + ".cwasm")
wasmtime.Module.deserialize_file(engine, str(path))
deser = time.perf_counter() - t
t = time.perf_counter()
rt = loader.get_runtime()
runtime = time.perf_counter() - t
from wfctl.vm import VM
t = time.perf_counter()
VM.boot().close()
first_boot = time.perf_counter() - t
print(json.dumps({"imports": t1 - t0, "deserialize_file": deser, "runtime": runtime,
                  "first_boot": first_boot, "source": rt.stats.source}))
"""


def run(*, compile_runs: int = 3, process_runs: int = 5) -> dict[str, float]:
    out: dict[str, float] = {}
    rt = vm_loader.get_runtime()  # also makes sure the disk cache is populated

    # compile (uncached): patch + cranelift
    raw = vm_loader.locate_wasm().read_bytes()
    out["patch_ms"] = _median(lambda: patch(raw), 5) * 1e3
    engine = wasmtime.Engine(vm_loader._engine_config())
    patched = patch(raw)
    out["compile_uncached_s"] = _median(lambda: wasmtime.Module(engine, patched), compile_runs)

    # cached load in fresh processes
    results = []
    for _ in range(process_runs):
        proc = subprocess.run(
            [sys.executable, "-c", _CACHED_LOAD_SNIPPET],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        results.append(json.loads(proc.stdout))
    assert all(r["source"] == "disk-cache" for r in results), results
    out["cold_process_imports_ms"] = statistics.median(r["imports"] for r in results) * 1e3
    out["cached_deserialize_file_ms"] = (
        statistics.median(r["deserialize_file"] for r in results) * 1e3
    )
    out["cached_runtime_load_ms"] = statistics.median(r["runtime"] for r in results) * 1e3
    out["cold_process_first_boot_ms"] = statistics.median(r["first_boot"] for r in results) * 1e3

    # boot (warm process: the pristine image is in memory)
    VM.boot(clock_ms=1).close()
    out["boot_ms"] = _median(lambda: VM.boot(clock_ms=1).close(), 50) * 1e3
    clocks = iter(range(10_000, 20_000))
    out["boot_new_clock_ms"] = _median(lambda: VM.boot(clock_ms=next(clocks)).close(), 20) * 1e3

    # a ~50 KB bundle
    bundle = make_bundle()
    out["bundle_bytes"] = len(bundle.encode())

    def load_bundle() -> VM:
        v = VM.boot(clock_ms=1, modules=mapping_loader({"app.js": bundle}))
        v.eval_module('import "./app.js";', "main.js")
        return v

    out["bundle_eval_ms"] = _median(lambda: load_bundle().close(), 10) * 1e3
    vm = load_bundle()
    assert vm.call_int("tick") == 160
    assert json.loads(vm.call("runStep", "step7") or "{}")["total"] == 77
    snap = vm.snapshot()
    out["snapshot_ms"] = _median(vm.snapshot, 20) * 1e3
    data = snap.to_bytes()
    out["snapshot_raw_bytes"] = len(data)
    cctx = zstandard.ZstdCompressor(level=3)
    z = cctx.compress(data)
    out["snapshot_zstd3_bytes"] = len(z)
    out["zstd3_compress_ms"] = _median(lambda: cctx.compress(data), 10) * 1e3
    dctx = zstandard.ZstdDecompressor()
    out["zstd_decompress_ms"] = _median(lambda: dctx.decompress(z), 10) * 1e3

    # restore: a snapshot object seen for the first time (as after loading from disk), and the
    # same object again (copy ranges cached: the template case)
    out["restore_ms"] = _median(lambda: VM.restore(Snapshot.from_bytes(data)).close(), 20) * 1e3
    VM.restore(snap).close()
    out["restore_cached_ranges_ms"] = _median(lambda: VM.restore(snap).close(), 20) * 1e3

    # per-call overhead
    vm.call_int("tick")
    vm.call("echo", "hello")
    out["call_int_us"] = _per_call(lambda: vm.call_int("tick"), 20_000) * 1e6
    out["call_short_string_us"] = _per_call(lambda: vm.call("echo", "hello"), 20_000) * 1e6
    out["run_jobs_empty_us"] = _per_call(vm.run_jobs, 20_000) * 1e6
    out["eval_small_us"] = _per_call(lambda: vm.eval("1"), 5_000) * 1e6
    vm.close()
    out["cache_source_this_process"] = rt.stats.source  # type: ignore[assignment]
    return out


def main() -> None:
    res = run()
    width = max(len(k) for k in res)
    print(f"{'metric':<{width}}  median")
    print(f"{'-' * width}  ------")
    for k, v in res.items():
        if isinstance(v, float):
            print(f"{k:<{width}}  {v:,.3f}")
        else:
            print(f"{k:<{width}}  {v:,}" if isinstance(v, int) else f"{k:<{width}}  {v}")
    print(
        f"\n(python {sys.version.split()[0]}, wasmtime {vm_loader.wasmtime_version()}, "
        f"{os.cpu_count()} CPUs)"
    )


if __name__ == "__main__":
    main()
