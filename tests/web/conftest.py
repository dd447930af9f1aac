"""Fixtures of the web UI tests (see web_support): a `wfctl web` server over prepared runs,
and headless Chromium driven by Selenium — failing, with the install command, when missing."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_support import ARTIFACTS, CHROMEDRIVER, CHROMIUM, INSTALL_HINT, Server, start_runs


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
