"""`wfctl serve` over real HTTP: every route, auth, errors, typed hooks, shutdown and restart."""

from __future__ import annotations

import signal
import time

from worlds import open_world


def _events(data_dir, run_id):
    w = open_world(data_dir)
    try:
        return [e["eventType"] for e in w.list_events(run_id).data]
    finally:
        w.close()


def test_routes(serve, data_dir):
    s = serve()
    r = s.post("/api/runs", json={"workflow": "sumTo", "args": [10]})
    assert r.status_code == 201, r.text
    run_id = r.json()["runId"]
    assert run_id.startswith("wrun_")
    doc = s.wait_status(run_id, ("completed",))
    assert doc["output"] == 55 and doc["input"] == [10]
    assert doc["workflowName"] == "workflow//./workflows//sumTo"
    assert len(doc["steps"]) == 10 and doc["eventCount"] > 10
    assert "hookSecret" not in doc["executionContext"]  # never served

    page = s.get("/api/runs", params={"status": "completed", "workflow": "sumTo", "limit": 5})
    assert page.status_code == 200
    body = page.json()
    assert set(body) == {"data", "cursor", "hasMore"}
    assert [d["runId"] for d in body["data"]] == [run_id]

    assert s.get("/api/runs/wrun_01M8VJBAD9A2BVJ6DA47MM78DY").status_code == 404
    assert s.get("/api/runs", params={"status": "weird"}).status_code == 400
    assert s.post("/api/runs", content=b"{not json").status_code == 400
    bad = s.post("/api/runs", json={"workflow": "nope", "args": []})
    assert bad.status_code == 400 and "unknown workflow" in bad.json()["error"]

    # hooks: 202, unknown token 404, malformed JSON 400
    r = s.post("/api/runs", json={"workflow": "approval", "args": ["a1"]})
    run_id = r.json()["runId"]
    s.wait_hook(data_dir, "approve:a1")
    assert s.post("/api/hooks/approve:nobody", json={"x": 1}).status_code == 404
    assert s.post("/api/hooks/approve:a1", content=b"{oops").status_code == 400
    r = s.post("/api/hooks/approve:a1", json={"approved": True})
    assert r.status_code == 202 and r.json() == {"runId": run_id}
    doc = s.wait_status(run_id, ("completed",))
    assert doc["output"] == {"id": "a1", "decision": {"approved": True}}

    # cancel
    r = s.post("/api/runs", json={"workflow": "sleepy", "args": [60_000]})
    run_id = r.json()["runId"]
    s.wait_status(run_id, ("running",))
    r = s.post(f"/api/runs/{run_id}/cancel")
    assert r.status_code == 200 and r.json() == {"runId": run_id, "status": "cancelled"}
    assert s.post("/api/runs/wrun_01M8VJBAD9A2BVJ6DA47MM78DY/cancel").status_code == 404
    finished = s.post("/api/runs", json={"workflow": "sumTo", "args": [1]}).json()["runId"]
    s.wait_status(finished, ("completed",))
    assert s.post(f"/api/runs/{finished}/cancel").status_code == 409

    assert s.get("/healthz").json() == {"ok": True}


def test_typed_hook_rejects_invalid_payload_and_leaves_the_run_untouched(serve, data_dir):
    s = serve()
    run_id = s.post("/api/runs", json={"workflow": "typedPayment", "args": ["o7"]}).json()["runId"]
    s.wait_hook(data_dir, "pay:o7")
    s.wait_status(run_id, ("running",))
    before = _events(data_dir, run_id)
    r = s.post("/api/hooks/pay:o7", json={"amount": "ten", "currency": "GBP"})
    assert r.status_code == 400
    paths = sorted(e["path"] for e in r.json()["errors"])
    assert paths == ["$.amount", "$.currency"]
    assert _events(data_dir, run_id) == before
    assert s.post("/api/hooks/pay:o7", json={"amount": 12, "currency": "EUR"}).status_code == 202
    assert s.wait_status(run_id, ("completed",))["output"] == {
        "id": "o7",
        "amount": 12,
        "currency": "EUR",
    }


def test_api_token_required_off_loopback(serve, cli, data_dir):
    from serve_support import APPS

    refused = cli(
        "--data-dir",
        str(data_dir),
        "serve",
        "--app",
        str(APPS / "t_client"),
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        timeout=60,
    )
    assert refused.returncode == 2
    assert "--api-token" in refused.stderr
    assert not data_dir.exists()

    s = serve("--host", "0.0.0.0", "--api-token", "s3cret-token", token=None)
    assert s.get("/api/runs").status_code == 401
    assert s.get("/api/runs", headers={"Authorization": "Bearer wrong"}).status_code == 401
    r = s.post("/api/runs", json={"workflow": "sumTo", "args": [3]})
    assert r.status_code == 401 and not data_dir.joinpath("runs").exists()
    auth = {"Authorization": "Bearer s3cret-token"}
    r = s.post("/api/runs", json={"workflow": "sumTo", "args": [3]}, headers=auth)
    assert r.status_code == 201
    assert s.get("/healthz").status_code == 200  # health and webhooks need no token


def test_sigterm_mid_run_then_restart_completes(serve, data_dir):
    s = serve()
    run_id = s.post("/api/runs", json={"workflow": "slowSteps", "args": [3, 1.0]}).json()["runId"]
    deadline = time.monotonic() + 30
    while _events(data_dir, run_id).count("step_started") < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    code = s.stop(signal.SIGTERM)
    assert code in (0, -signal.SIGTERM)
    w = open_world(data_dir)
    try:
        events = w.list_events(run_id).data
        started = {e["correlationId"] for e in events if e["eventType"] == "step_started"}
        ended = {e["correlationId"] for e in events if e["eventType"] == "step_completed"}
        assert started == ended and len(ended) == 2  # the step in flight finished and was recorded
        assert w.get_run(run_id)["status"] == "running"  # left resumable
    finally:
        w.close()

    s2 = serve()
    assert s2.wait_status(run_id, ("completed",), timeout=60)["output"] == [0, 1, 2]
