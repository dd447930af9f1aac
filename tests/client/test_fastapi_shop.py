"""The examples/fastapi-shop app, run as its README says, driven through real HTTP."""

from __future__ import annotations

import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi-shop"


def _wait(http: httpx.Client, run_id: str, status: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        doc = http.get(f"/orders/{run_id}").json()
        if doc["status"] == status:
            return doc
        assert time.monotonic() < deadline, doc
        time.sleep(0.05)


def _pay(http: httpx.Client, body: dict) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:  # the hook exists once the workflow reached it
        r = http.post("/webhooks/payment", json=body)
        if r.status_code != 404:
            return r
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_shop_over_http(tmp_path):
    app_dir = tmp_path / "shop"
    shutil.copytree(EXAMPLE, app_dir, ignore=shutil.ignore_patterns(".workflow-data"))
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", "0"],
        cwd=app_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline() if ready else ""
        assert "listening on " in line, proc.stderr.read() if proc.poll() is not None else line
        url = line.split("listening on ", 1)[1].strip()
        with httpx.Client(base_url=url, timeout=30) as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    r = http.post("/orders", json={"orderId": "42", "cents": 2500})
                    break
                except httpx.ConnectError:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
            assert r.status_code == 201
            run_id = r.json()["runId"]
            declined_id = http.post("/orders", json={"orderId": "43", "cents": 99}).json()["runId"]

            bad = _pay(http, {"orderId": "42", "paymentId": "", "status": "maybe"})
            assert bad.status_code == 400
            paths = sorted(e["path"] for e in bad.json()["detail"]["errors"])
            assert paths == ["$.paymentId", "$.status"]
            assert _wait(http, run_id, "running")["steps"] == ["reserve_stock", "request_payment"]

            ok = _pay(http, {"orderId": "42", "paymentId": "pay_42", "status": "paid"})
            assert ok.status_code == 200 and ok.json() == {"runId": run_id}
            doc = _wait(http, run_id, "completed")
            assert doc["result"]["shipment"]["tracking"] == "TRK-42"

            _pay(http, {"orderId": "43", "paymentId": "pay_43", "status": "declined"})
            failed = _wait(http, declined_id, "failed")
            assert "declined" in failed["error"]
            assert http.get("/orders/wrun_01M8VJBAD9A2BVJ6DA47MM78DY").status_code == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        proc.stdout.close()
        proc.stderr.close()
