"""Fixtures of the web UI tests: a real `wfctl web` server process over a prepared data
directory, and headless Chromium (Debian's `chromium` + `chromium-driver`) driven by Selenium.

The browser is not optional: when it is missing the tests fail and say how to install it
(`make test` installs it)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

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


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A server over: a completed run, a run waiting on a hook, one in a 1 h sleep, a failed one."""
    data_dir = tmp_path_factory.mktemp("web") / "data"
    ids = start_runs(
        data_dir,
        [("chatty", [5]), ("approval", [77]), ("napping", ["1h"]), ("failing", ["b"])],
        WFCTL_RETRY_DELAY="0.05",
    )
    server = Server(data_dir)
    try:
        yield {
            "url": server.url,
            "data_dir": data_dir,
            "done": ids[0],
            "waiting": ids[1],
            "napping": ids[2],
            "failed": ids[3],
        }
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail(INSTALL_HINT, pytrace=False)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="wfctl-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1100",
        f"--user-data-dir={profile}",
    ):
        opts.add_argument(flag)
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    except Exception as exc:  # a broken install: same advice
        pytest.fail(f"{INSTALL_HINT} ({type(exc).__name__}: {exc})", pytrace=False)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def shot(browser, request):
    """shot(name): save a screenshot under tests/artifacts/ and report where."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        browser.save_screenshot(str(path))
        print(f"screenshot: {path}")
        return path

    return take


def run_status(data_dir: Path, run_id: str) -> str:
    from worlds import open_world

    world = open_world(data_dir)
    try:
        return world.get_run(run_id)["status"]
    finally:
        world.close()


__all__ = ["json", "run_status", "start_runs", "Server"]
