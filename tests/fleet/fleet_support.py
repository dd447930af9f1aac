"""Helpers of the worker-fleet tests: worker subprocesses, CPU use, the fixture app."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
FLEET_APP = TESTS / "apps" / "t_fleet"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def expected_mix(i: int, n: int | None = None) -> dict[str, int]:
    """The output of ``mix(i)`` (tests/apps/t_fleet/workflows.js); hooks get ``{n}``."""
    v = i + 1
    kind = i % 5
    if kind == 0:
        v += 3
    elif kind == 1:
        v = 3 * v + 6
    elif kind == 2:
        v += 2
    elif kind == 3:
        v += 1
    else:
        v = v + (1000 + i if n is None else n) + 1
    return {"i": i, "v": v}


def spawn_worker(
    world: str, *args: str, env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen:
    """``wfctl worker`` in its own process (stderr to ``log`` when given, else a pipe)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    stderr: Any = open(log, "ab") if log else subprocess.PIPE  # noqa: SIM115 - the child owns it
    target = ["--world", world] if world.startswith("postgres") else ["--data-dir", world]
    return subprocess.Popen(
        [sys.executable, "-m", "wfctl.cli", *target, "worker", "--app", str(FLEET_APP), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=full_env,
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (and its reaped children) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLK_TCK


def wait_until(cond: Callable[[], Any], limit: float, what: str, every: float = 0.05) -> Any:
    """Poll ``cond`` until it returns something truthy (a guard against hangs, not a timing
    assertion)."""
    deadline = time.monotonic() + limit
    while True:
        got = cond()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out after {limit} s waiting for {what}"
        time.sleep(every)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
