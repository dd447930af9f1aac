"""Each command loads only what it uses (issue 9): the VM, wasmtime, pydantic, cryptography and
zstandard stay out of `wfctl --help` and `wfctl inspect runs`; `wfctl start` loads the VM.

Real processes of the installed CLI; the test reads the process's own ``sys.modules`` at exit
rather than timing anything (times are the bench's job).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "bench" / "apps" / "bench"
PROBE = """
import atexit, json, sys
def report():
    sys.stderr.write("@@MODULES@@" + json.dumps(sorted(sys.modules)) + "\\n")
atexit.register(report)
sys.argv = ["wfctl", *sys.argv[1:]]
from wfctl.cli import main
main()
"""
HEAVY = ("wasmtime", "pydantic", "cryptography", "zstandard", "wfctl.vm.vm", "asyncio", "ulid")


def modules_after(tmp_path: Path, *args: str) -> tuple[int, set[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WFCTL_", "WORKFLOW_"))}
    env.update(WORKFLOW_LOCAL_DATA_DIR=str(tmp_path / "data"), WFCTL_APP=str(APP))
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, timeout=120
    )
    line = next(x for x in proc.stderr.splitlines() if x.startswith("@@MODULES@@"))
    return proc.returncode, set(json.loads(line[len("@@MODULES@@") :])), proc.stdout


def loaded(mods: set[str], name: str) -> bool:
    return name in mods or any(m.startswith(name + ".") for m in mods)


@pytest.mark.parametrize(
    "args", [("--help",), ("inspect", "runs"), ("inspect", "runs", "--limit", "3")]
)
def test_read_commands_load_no_vm(tmp_path: Path, args: tuple[str, ...]) -> None:
    code, mods, _ = modules_after(tmp_path, *args)
    assert code == 0
    assert [m for m in HEAVY if loaded(mods, m)] == []
    assert not loaded(mods, "wfctl.engine.engine"), "reading needs no engine"
    if args == ("--help",):
        assert not loaded(mods, "rich"), "help is plain text: no rich console"
        assert not loaded(mods, "worlds.local")


def test_start_loads_the_vm_and_runs(tmp_path: Path) -> None:
    code, mods, out = modules_after(tmp_path, "start", "noSteps", "21", "--json")
    assert code == 0, out
    assert json.loads(out)["output"] == 42
    assert loaded(mods, "wasmtime")
    assert not loaded(mods, "pydantic")


@pytest.mark.parametrize("bad", ["0", "abc", "1001"])
def test_plain_parameter_errors_are_still_typers(tmp_path: Path, bad: str) -> None:
    """Values the fast path does not accept go to Typer's own validation: usage error, exit 2."""
    code, _, _ = modules_after(tmp_path, "inspect", "runs", "--limit", bad)
    assert code == 2
