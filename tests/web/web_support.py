"""Helpers of the web UI tests: a real `wfctl web` server process over a prepared data
directory, and headless Chromium (Debian's `chromium` + `chromium-driver`) driven by Selenium.

The browser is not optional: when it is missing the tests fail and say how to install it
(`make test` installs it)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

TESTS = Path(__file__).resolve().parent.parent
OBS_APP = TESTS / "apps" / "t_observe"
ARTIFACTS = TESTS / "artifacts"  # screenshots (git-ignored)
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL_HINT = (
    "headless Chromium is needed for the web UI tests: install it with "
    "`apt-get update && apt-get install -y chromium chromium-driver` (make test does this)"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_runs(data_dir: Path, plan: list[tuple[str, list]], **env: str) -> list[str]:
    """Create and drive runs in this process; returns their ids in order."""
    from wfctl.engine.app import App
    from wfctl.engine.engine import Engine
    from worlds import open_world

    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    world = open_world(data_dir)
    try:
        engine = Engine(world, App.load(OBS_APP))
        ids = []
        for workflow, args in plan:
            wait = not (workflow == "napping")  # a 1h sleep: leave it to the server
            res = engine.start(workflow, args, wait=wait)
            if workflow == "napping":
                engine.drive(res.run_id, wait=False)
            ids.append(res.run_id)
        return ids
    finally:
        world.close()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class Server:
    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full = {k: v for k, v in os.environ.items() if k != "WFCTL_ENCRYPTION_KEY"}
        full.update({"WFCTL_RETRY_DELAY": "0.2", **(env or {})})
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wfctl.cli",
                "--data-dir",
                str(data_dir),
                "web",
                "--port",
                str(self.port),
                "--app",
                str(OBS_APP),
            ],
            env=full,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.url + "/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                out = self.proc.stdout.read() if self.proc.stdout else ""
                self.stop()
                raise AssertionError(f"wfctl web did not start:\n{out}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run_status(data_dir: Path, run_id: str) -> str:
    from worlds import open_world

    world = open_world(data_dir)
    try:
        return world.get_run(run_id)["status"]
    finally:
        world.close()
