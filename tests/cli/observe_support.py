"""Helpers of the live view / follow / logs / terminal tests: the real CLI in a subprocess,
through a pseudo-terminal (pexpect) when the test is about what a terminal shows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect

TESTS = Path(__file__).resolve().parent.parent
OBS_APP = TESTS / "apps" / "t_observe"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def plain(text: str) -> str:
    return ANSI.sub("", text).replace("\r\n", "\n")


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WORKFLOW_RUNTIME", "WFCTL_APP")}
    env.update(
        WORKFLOW_LOCAL_DATA_DIR=str(data_dir),
        WFCTL_APP=str(OBS_APP),
        WFCTL_RETRY_DELAY="0.3",
        COLUMNS="80",
        TERM="xterm",
    )
    env.pop("NO_COLOR", None)
    env.update(extra)
    return env


def spawn(args: list[str], env: dict[str, str], *, timeout: float = 60) -> pexpect.spawn:
    """The CLI on an 80x40 pseudo-terminal."""
    return pexpect.spawn(
        sys.executable,
        ["-m", "wfctl.cli", *args],
        env=env,
        encoding="utf-8",
        timeout=timeout,
        dimensions=(40, 80),
    )


def pty_run(args: list[str], env: dict[str, str], *, timeout: float = 60) -> tuple[str, int]:
    child = spawn(args, env, timeout=timeout)
    child.expect(pexpect.EOF)
    child.close()
    return plain(child.before or ""), child.exitstatus if child.exitstatus is not None else -1


def run(
    args: list[str], env: dict[str, str], *, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The CLI with pipes (not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "wfctl.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def shell(
    cmd: str, env: dict[str, str], *, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """A shell pipeline, `wfctl` meaning this interpreter's CLI."""
    wfctl = f"{sys.executable} -m wfctl.cli"
    return subprocess.run(
        ["bash", "-c", f'set -o pipefail; wfctl() {{ {wfctl} "$@"; }}; {cmd}'],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def start_id(env: dict[str, str], workflow: str, *args: str) -> str:
    """Start and drive a run in this process (quicker than a CLI process) and return its id."""
    import json

    from wfctl.engine.app import App
    from wfctl.engine.engine import Engine
    from worlds import open_world

    world = open_world(env["WORKFLOW_LOCAL_DATA_DIR"])
    try:
        res = Engine(world, App.load(OBS_APP)).start(
            workflow, [json.loads(a) if a[:1] in '[{"0123456789' else a for a in args]
        )
        return res.run_id
    finally:
        world.close()
