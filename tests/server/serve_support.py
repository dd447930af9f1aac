"""A real `wfctl serve` subprocess on a free loopback port, and HTTP helpers."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / "tests" / "apps"


class Served:
    def __init__(self, proc: subprocess.Popen[str], url: str, token: str | None) -> None:
        self.proc = proc
        self.url = url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url, headers=headers, timeout=30)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.post(path, **kw)

    def wait_status(self, run_id: str, statuses: tuple[str, ...], timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            doc = self.get(f"/api/runs/{run_id}").json()
            if doc["status"] in statuses:
                return doc
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} is {doc['status']}, expected {statuses}")
            time.sleep(0.05)

    def wait_hook(self, data_dir: Path, token: str, timeout: float = 30) -> dict:
        from worlds import open_world

        world = open_world(data_dir)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    return world.get_hook_by_token(token)
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        finally:
            world.close()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream:
                    stream.close()


def start_serve(
    data_dir: Path,
    app: str | Path = "t_client",
    *args: str,
    token: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> Served:
    app_dir = app if isinstance(app, Path) else APPS / app
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wfctl.cli",
            "--data-dir",
            str(data_dir),
            "serve",
            "--app",
            str(app_dir),
            "--port",
            "0",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=full_env,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else ""
    if "listening on " not in line:
        proc.kill()
        err = proc.stderr.read() if proc.stderr else ""
        raise AssertionError(f"wfctl serve did not start: {line!r} {err}")
    url = line.split("listening on ", 1)[1].split()[0].replace("0.0.0.0", "127.0.0.1")
    served = Served(proc, url, token)
    deadline = time.monotonic() + timeout
    while served.get("/healthz").status_code != 200:
        assert time.monotonic() < deadline, "healthz never became ok"
        time.sleep(0.05)
    return served
