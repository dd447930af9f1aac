"""Request latency of `wfctl serve`: POST /api/runs, and a webhook round trip.

    .venv/bin/python -m bench.http_bench [--runs 50] [--webhooks 30]

Starts a real `wfctl serve` on a free loopback port over a temporary data directory (the
tests' t_client app), then measures, one request at a time:

- ``POST /api/runs`` (``sumTo(1)``): request sent → 201 received (the run is recorded; it is
  driven in the background), back to back (the server drives the earlier runs meanwhile) and
  on an otherwise idle server (each run finished before the next request);
- a webhook: request to ``hook.url`` → 202 received (the payload is recorded), and request sent →
  the run completed with the webhook's body (``webhookOnce``).

Prints medians and p90s as JSON. Bounded: a fixed number of requests to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "server"))

from serve_support import start_serve  # noqa: E402

from worlds import open_world  # noqa: E402

WEBHOOK = "/.well-known/workflow/v1/webhook/"


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(samples),
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 2),
    }


def _wait(http: httpx.Client, run_id: str, status: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        doc = http.get(f"/api/runs/{run_id}").json()
        if doc["status"] == status:
            return doc
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {run_id} stayed {doc['status']}")
        time.sleep(0.002)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--webhooks", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        served = start_serve(data, "t_client")
        try:
            http = served.http
            http.post("/api/runs", json={"workflow": "sumTo", "args": [1]})  # warm up
            post = []
            for _ in range(args.runs):
                t = time.perf_counter()
                r = http.post("/api/runs", json={"workflow": "sumTo", "args": [1]})
                post.append(time.perf_counter() - t)
                assert r.status_code == 201, r.text
            idle = []  # the same request with the server otherwise idle (previous run finished)
            for _ in range(args.runs // 2):
                t = time.perf_counter()
                r = http.post("/api/runs", json={"workflow": "sumTo", "args": [1]})
                idle.append(time.perf_counter() - t)
                _wait(http, r.json()["runId"], "completed")
                time.sleep(0.05)
            world = open_world(data)
            hook_req, hook_done = [], []
            for i in range(args.webhooks):
                run_id = http.post("/api/runs", json={"workflow": "webhookOnce"}).json()["runId"]
                while not (hooks := world.list_hooks(run_id=run_id).data):
                    time.sleep(0.002)
                _wait(http, run_id, "running")
                time.sleep(0.05)  # let the drive that created the hook leave
                t = time.perf_counter()
                r = http.post(WEBHOOK + hooks[0]["token"], json={"i": i})
                hook_req.append(time.perf_counter() - t)
                assert r.status_code == 202, r.text
                doc = _wait(http, run_id, "completed")
                hook_done.append(time.perf_counter() - t)
                assert doc["output"] == {"i": i}
            world.close()
        finally:
            served.stop()
    print(
        json.dumps(
            {
                "post_api_runs_back_to_back": _ms(post),
                "post_api_runs_idle_server": _ms(idle),
                "webhook_request": _ms(hook_req),
                "webhook_to_run_completed": _ms(hook_done),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
