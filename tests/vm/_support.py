"""Helpers shared by the VM tests (no conftest: fixtures live here and are imported)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from wfctl.vm import VM

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CLOCK = 1_700_000_000_000

#: A workflow that awaits host-resolved promises: the host reads ``pending`` and settles
#: them one by one (the same shape as the real runtime's protocol, much smaller).
WORKFLOW_JS = r"""
globalThis.pending = [];
globalThis.result = null;
const host = (name, ...args) =>
  new Promise((resolve, reject) => pending.push({ name, args, resolve, reject }));
async function workflow(x) {
  const a = await host("add", x, 1);
  const b = await host("add", a, 2);
  return a + b;
}
globalThis.start = async (arg) => {
  result = { ok: await workflow(Number(arg)) };
};
globalThis.readPending = () => JSON.stringify(pending.map((p) => ({ name: p.name, args: p.args })));
globalThis.resolveNext = (value) => { pending.shift().resolve(JSON.parse(value)); };
globalThis.getResult = () => JSON.stringify(result);
globalThis.pendingCount = () => pending.length;
"""


@pytest.fixture
def vm() -> Iterator[VM]:
    v = VM.boot(clock_ms=CLOCK)
    try:
        yield v
    finally:
        v.close()


def run_worker(*args: str, timeout: float = 60) -> str:
    """Run tests/vm/_worker.py in a separate Python process; returns its stdout."""
    proc = subprocess.run(
        [sys.executable, str(HERE / "_worker.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise AssertionError(f"worker failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout.strip()
