"""Whole-process CLI time: what a user waits for when typing a command.

Each command is started as a new process ``count`` times (after one unmeasured warm-up start,
which also fills the OS page cache and the compiled-wasm cache) and timed from spawn to exit:

- ``python -c pass``: the interpreter's own floor on this machine, at this moment;
- ``wfctl --help``;
- ``wfctl inspect runs`` on a store holding a few runs;
- ``wfctl start noSteps 21`` of the bench app (a run with no steps, driven to completion).

The bench does not need hyperfine: a spawn + wait loop measures the same thing. Bytecode
caching is on for these processes (``PYTHONDONTWRITEBYTECODE`` is dropped), as for an installed
wfctl: otherwise every start would compile the package's sources again.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.workloads import APP_DIR

ROOT = Path(__file__).resolve().parent.parent
LAUNCH = "import sys; from wfctl.cli import main; sys.argv[0] = 'wfctl'; sys.exit(main())"

COMMANDS: dict[str, list[str]] = {
    "wfctl --help": ["--help"],
    "wfctl inspect runs": ["inspect", "runs"],
    "wfctl start (no steps)": ["start", "noSteps", "21"],
}
# The targets, whole process, ms.
TARGETS = {"wfctl --help": 120.0, "wfctl inspect runs": 120.0, "wfctl start (no steps)": 200.0}


def _time(cmd: list[str], env: dict[str, str], cwd: Path, count: int) -> dict[str, Any]:
    subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, check=False)  # warm-up
    times = []
    code = 0
    for _ in range(count):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, check=False)
        times.append((time.perf_counter() - t0) * 1000)
        code = code or proc.returncode
    return {
        "medianMs": statistics.median(times),
        "minMs": min(times),
        "maxMs": max(times),
        "exit": code,
    }


def run(
    count: int = 7, data_dir: Path | None = None, code: Path | None = None
) -> dict[str, dict[str, Any]]:
    """Times of the commands above; ``code``: run the wfctl found in that directory."""
    tmp = Path(tempfile.mkdtemp(prefix="wfctl-cli-bench-", dir=data_dir))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WFCTL_", "WORKFLOW_"))}
    # As installed: bytecode is cached (the warm-up start writes it), whatever this shell says.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = str((code or ROOT).resolve())
    env["WORKFLOW_LOCAL_DATA_DIR"] = str(tmp / "data")
    env["WFCTL_APP"] = str(APP_DIR)
    if "WFCTL_CACHE_DIR" in os.environ:
        env["WFCTL_CACHE_DIR"] = os.environ["WFCTL_CACHE_DIR"]
    out: dict[str, dict[str, Any]] = {}
    try:
        base = [sys.executable, "-c", LAUNCH]
        for _ in range(3):  # a few runs for `inspect runs` to list
            subprocess.run(base + ["start", "noSteps", "1"], env=env, cwd=tmp, capture_output=True)
        out["python -c pass"] = _time([sys.executable, "-c", "pass"], env, tmp, count)
        for label, args in COMMANDS.items():
            out[label] = _time(base + args, env, tmp, count)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


if __name__ == "__main__":
    for name, r in run().items():
        print(
            f"{name:<26} {r['medianMs']:7.1f} ms  ({r['minMs']:.1f}–{r['maxMs']:.1f}) exit {r['exit']}"
        )
