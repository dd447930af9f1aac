"""The web UI over real HTTP (issue 11 §6): filters and paging, re-run, offline assets,
encrypted payloads shown only with the key, and the API `wfctl serve` mounts."""

from __future__ import annotations

import base64
import re
import time

import httpx
from web_support import Server, run_status, start_runs

KEY = base64.b64encode(b"K" * 32).decode()


def test_paging_filters_and_offline_assets(tmp_path):
    data_dir = tmp_path / "data"
    from web_support import OBS_APP

    from wfctl.engine.app import App
    from wfctl.engine.engine import Engine
    from worlds import open_world

    world = open_world(data_dir)
    try:
        engine = Engine(world, App.load(OBS_APP))
        ids = [engine.start("chatty", [i], wait=False).run_id for i in range(27)]
    finally:
        world.close()
    server = Server(data_dir)
    try:
        page1 = httpx.get(server.url + "/").text
        shown = re.findall(r'data-run-id="(wrun_\w+)"', page1)
        assert shown == ids[::-1][:25]  # newest first, 25 a page
        nxt = re.search(r'id="next-page" href="([^"]+)"', page1)
        assert nxt, page1
        page2 = httpx.get(server.url + nxt.group(1).replace("&amp;", "&")).text
        assert re.findall(r'data-run-id="(wrun_\w+)"', page2) == ids[::-1][25:]
        assert 'id="next-page"' not in page2
        # filters
        assert 'data-run-id="' not in httpx.get(server.url + "/?status=completed").text
        assert (
            len(re.findall("run-row", httpx.get(server.url + "/?since=1h&workflow=chatty").text))
            == 25
        )
        assert "run-row" not in httpx.get(server.url + "/?workflow=approval").text
        # everything is served from here: no CDN, no external font
        for page in (page1, httpx.get(f"{server.url}/runs/{ids[0]}").text):
            assert not re.search(r"(src|href)=\"(https?:)?//", page), page
        css = httpx.get(server.url + "/static/style.css")
        js = httpx.get(server.url + "/static/app.js")
        assert css.status_code == js.status_code == 200 and "@import" not in css.text
        assert httpx.get(server.url + "/runs/wrun_01M80ZV6XRY086CQJBQGHFJWHA").status_code == 404
    finally:
        server.stop()


def test_rerun_starts_the_same_workflow_with_the_same_input(site):
    res = httpx.post(f"{site['url']}/runs/{site['done']}/rerun", follow_redirects=False)
    assert res.status_code == 303
    new_id = res.headers["location"].rsplit("/", 1)[-1]
    assert new_id != site["done"] and new_id.startswith("wrun_")
    deadline = time.monotonic() + 30
    while run_status(site["data_dir"], new_id) != "completed":
        assert time.monotonic() < deadline, "the re-run did not complete"
        time.sleep(0.2)
    page = httpx.get(f"{site['url']}/runs/{new_id}").text
    assert "<pre id='output'>7</pre>" in page  # chatty(5) again
    assert httpx.get(f"{site['url']}/runs/{new_id}/state").json()["status"] == "completed"
    bad = httpx.post(f"{site['url']}/hooks/resume", data={"token": "approve:nope", "payload": "1"})
    assert bad.status_code == 404 and "no live hook" in bad.text


def test_encrypted_payloads_only_with_the_key(tmp_path):
    data_dir = tmp_path / "data"
    (run_id,) = start_runs(data_dir, [("chatty", [42])], WFCTL_ENCRYPTION_KEY=KEY)
    pages = {}
    for with_key in (False, True):
        server = Server(data_dir, {"WFCTL_ENCRYPTION_KEY": KEY} if with_key else None)
        try:
            pages[with_key] = httpx.get(f"{server.url}/runs/{run_id}").text
        finally:
            server.stop()
    locked, opened = pages[False], pages[True]
    assert "🔒 Encrypted" in locked and "[42]" not in locked and "begin 42" not in locked
    assert "[42]" in opened and "<pre id='output'>44</pre>" in opened and "begin 42" in opened


def test_ui_mounts_under_another_app(site):
    """What `wfctl serve` does: its API routes first, the UI mounted at /."""
    import socket
    import threading

    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    from wfctl.engine.engine import Engine
    from wfctl.web import create_ui_app
    from worlds import open_world

    world = open_world(site["data_dir"])
    ui = create_ui_app(lambda: Engine(world, None))
    outer = Starlette(
        routes=[Route("/api/ping", lambda r: JSONResponse({"ok": True})), Mount("/", app=ui)]
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(outer, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert httpx.get(url + "/api/ping").json() == {"ok": True}
        assert site["done"] in httpx.get(url + "/").text
        page = httpx.get(f"{url}/runs/{site['failed']}").text
        assert "KeyError" in page and 'href="/static/style.css"' in page
        # without an app the UI reads, and says a worker will drive resumed runs
        assert "a worker will drive the run" in httpx.get(f"{url}/runs/{site['waiting']}").text or (
            run_status(site["data_dir"], site["waiting"]) == "completed"
        )
    finally:
        server.should_exit = True
        thread.join(10)
        world.close()


def test_serve_shows_the_ui_at_root(tmp_path):
    """`wfctl serve` mounts the same pages at / beside its API."""
    from web_support import OBS_APP, start_runs

    data_dir = tmp_path / "data"
    (run_id,) = start_runs(data_dir, [("approval", [5])])
    import os
    import subprocess
    import sys

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wfctl.cli",
            "--data-dir",
            str(data_dir),
            "serve",
            "--app",
            str(OBS_APP),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ},
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert "listening on " in line, line + (proc.stderr.read() if proc.stderr else "")
        url = line.split("listening on ", 1)[1].split()[0]
        page = httpx.get(url + "/", timeout=30).text
        assert f'data-run-id="{run_id}"' in page
        res = httpx.post(
            url + "/hooks/resume", data={"token": "approve:5", "payload": "true"}, timeout=30
        )
        assert res.status_code == 303, res.text
        deadline = time.monotonic() + 30
        while run_status(data_dir, run_id) != "completed":
            assert time.monotonic() < deadline, "the resumed run did not complete under serve"
            time.sleep(0.2)
        assert "<pre id='output'>" in httpx.get(f"{url}/runs/{run_id}", timeout=30).text
    finally:
        proc.terminate()
        proc.wait(30)
