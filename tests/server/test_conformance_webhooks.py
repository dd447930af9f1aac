"""DevKit e2e catalogue rows 16–18 (webhooks), against a real `wfctl serve` and the e2e app.

16: a plain hook is not resumable through the public webhook route (404) but `resumeHook`
    (here POST /api/hooks/{token}) still works; 17: webhookWorkflow; 18: unknown token → 404,
    empty body. See docs/CONFORMANCE.md.
"""

from __future__ import annotations

import time

import pytest

from worlds import open_world

WEBHOOK = "/.well-known/workflow/v1/webhook/"


def _hooks(data_dir, run_id):
    w = open_world(data_dir)
    try:
        return w.list_hooks(run_id=run_id, limit=100).data
    finally:
        w.close()


def _event_types(data_dir, run_id):
    w = open_world(data_dir)
    try:
        return [e["eventType"] for e in w.list_events(run_id).data]
    finally:
        w.close()


def test_hook_not_resumable_via_public_webhook_route(serve, data_dir):  # 16
    s = serve("--no-check", app="e2e")  # the e2e app uses unregistered steps on purpose
    token = "hook-not-public-16"
    run_id = s.post(
        "/api/runs", json={"workflow": "hookWorkflow", "args": [token, "data-16"]}
    ).json()["runId"]
    s.wait_hook(data_dir, token)
    s.wait_status(run_id, ("running",))
    before = _event_types(data_dir, run_id)
    r = s.post(WEBHOOK + token, json={"message": "sneaky", "done": True})
    assert r.status_code == 404 and r.content == b""
    assert _event_types(data_dir, run_id) == before
    r = s.post(f"/api/hooks/{token}", json={"message": "one", "done": True})
    assert r.status_code == 202
    doc = s.wait_status(run_id, ("completed",))
    assert doc["output"] == [{"message": "one", "done": True}]


@pytest.mark.parametrize("runtime", ["snapshot", "replay"])
def test_webhook_workflow(serve, data_dir, runtime):  # 17
    # replay: every invocation re-runs the workflow from the log; the webhook tokens and URLs
    # must come out the same each time (they are drawn from the run's recorded secret).
    s = serve("--no-check", app="e2e", env={"WORKFLOW_RUNTIME": runtime})
    run_id = s.post("/api/runs", json={"workflow": "webhookWorkflow"}).json()["runId"]
    s.wait_status(run_id, ("running",))
    hooks: list[dict] = []
    for _ in range(400):
        hooks = _hooks(data_dir, run_id)
        if len(hooks) == 3:
            break
        time.sleep(0.05)
    assert len(hooks) == 3 and all(h["isWebhook"] for h in hooks)
    tokens = [h["token"] for h in hooks]
    assert len(set(tokens)) == 3 and all(len(t) >= 21 for t in tokens)
    urls = [s.url + WEBHOOK + t for t in tokens]

    r1 = s.post(WEBHOOK + tokens[0], content=b'{"message":"one"}')
    assert r1.status_code == 202 and r1.json() == {"runId": run_id}
    r2 = s.post(WEBHOOK + tokens[1], content=b'{"message":"two"}')
    assert r2.status_code == 402 and r2.text == "Hello from static response!"
    r3 = s.post(WEBHOOK + tokens[2], content=b'{"message":"three"}')
    assert r3.status_code == 202

    doc = s.wait_status(run_id, ("completed",))
    assert doc["output"]["urls"] == urls  # hook.url is absolute, from the bound address
    assert doc["output"]["payloads"] == [
        {"url": urls[0], "method": "POST", "body": '{"message":"one"}'},
        {"url": urls[1], "method": "POST", "body": '{"message":"two"}'},
        {"url": urls[2], "method": "POST", "body": '{"message":"three"}'},
    ]
    assert _hooks(data_dir, run_id) == []  # released with the run


def test_webhook_route_with_invalid_token(serve):  # 18
    s = serve("--no-check", app="e2e")
    for method in ("POST", "GET", "PUT"):
        r = s.http.request(method, WEBHOOK + "no-such-token", content=b"{}")
        assert r.status_code == 404 and r.content == b""
