"""Webhooks beyond the catalogue: --public-url, the request object, a webhook's JSON Schema."""

from __future__ import annotations

import time

from worlds import open_world

WEBHOOK = "/.well-known/workflow/v1/webhook/"


def _tokens_when_ready(s, data_dir, run_id):
    deadline = time.monotonic() + 30
    while True:
        steps = s.get(f"/api/runs/{run_id}").json()["steps"]
        if steps and steps[0]["status"] == "completed":
            return steps[0]["output"]
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_webhook_request_object_public_url_and_schema(serve, data_dir):
    public = "https://shop.example.test/wf"
    s = serve("--public-url", public)
    run_id = s.post("/api/runs", json={"workflow": "webhookFlow"}).json()["runId"]
    made = _tokens_when_ready(s, data_dir, run_id)
    plain, static, typed = made["tokens"]
    assert made["urls"] == [public + WEBHOOK + t for t in made["tokens"]]

    r = s.http.put(
        WEBHOOK + plain + "?source=psp",
        content=b'{"event":"paid"}',
        headers={"X-Signature": "abc", "Content-Type": "application/json"},
    )
    assert r.status_code == 202 and r.json() == {"runId": run_id}
    r = s.get(WEBHOOK + static)  # any method; body empty (not JSON)
    assert r.status_code == 402 and r.text == "Hello from static response!"

    w = open_world(data_dir)
    try:
        before = [e["eventId"] for e in w.list_events(run_id).data]
        bad = s.post(WEBHOOK + typed, json={"paid": "yes"})
        assert bad.status_code == 400
        assert [e["path"] for e in bad.json()["errors"]] == ["$.paid"]
        not_json = s.post(WEBHOOK + typed, content=b"paid=1")
        assert not_json.status_code == 400
        assert [e["eventId"] for e in w.list_events(run_id).data] == before  # run untouched
    finally:
        w.close()
    assert s.post(WEBHOOK + typed, json={"paid": True}).status_code == 202

    out = s.wait_status(run_id, ("completed",))["output"]
    first, second, third = out
    assert first["method"] == "PUT"
    assert first["url"] == public + WEBHOOK + plain + "?source=psp"
    assert first["body"] == '{"event":"paid"}' and first["json"] == {"event": "paid"}
    assert second["method"] == "GET" and second["body"] == "" and second.get("json") is None
    assert third["json"] == {"paid": True}
