"""Reading streams through `wfctl.Client.read_stream` and the streaming HTTP endpoint of
`wfctl serve` (GET /api/runs/{runId}/stream, NDJSON). Real server process, real HTTP."""

from __future__ import annotations

import base64
import json
import sys
import threading
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from serve_support import start_serve  # noqa: E402

from wfctl.client import Client  # noqa: E402

APP = Path(__file__).resolve().parents[1] / "apps" / "t_streams"


def test_client_read_stream(data_dir: Path) -> None:
    with Client(app=APP, world=data_dir) as client:
        run = client.start("slowStream", 3, 100)
        got = [c.data for c in client.read_stream(run.id, follow=True, timeout=60)]
        assert got == ["0\n", "1\n", "2\n"]
        assert [c.index for c in client.read_stream(run.id, start_index=-1)] == [2]


def test_http_stream_follows_until_closed(data_dir: Path) -> None:
    served = start_serve(data_dir, APP)
    try:
        rid = served.post("/api/runs", json={"workflow": "slowStream", "args": [4, 150]}).json()[
            "runId"
        ]
        lines: list[dict] = []

        def read() -> None:
            with httpx.stream("GET", f"{served.url}/api/runs/{rid}/stream", timeout=60) as r:
                assert r.status_code == 200
                assert r.headers["content-type"].startswith("application/x-ndjson")
                lines.extend(json.loads(line) for line in r.iter_lines() if line)

        t = threading.Thread(target=read)
        t.start()
        t.join(60)
        assert not t.is_alive()
        assert lines == [{"index": i, "data": f"{i}\n"} for i in range(4)]
        done = served.post("/api/runs", json={"workflow": "outputStream"}).json()["runId"]
        served.wait_status(done, ("completed",))
        r = served.get(f"/api/runs/{done}/stream", params={"startIndex": "-2", "follow": "0"})
        assert [json.loads(x) for x in r.text.splitlines()] == [
            {"index": 0, "data": base64.b64encode(b"Hello, world!").decode()},
            {"index": 1, "data": {"foo": "test"}},
        ]
        r = served.get(f"/api/runs/{done}/stream", params={"namespace": "test", "follow": "0"})
        assert [json.loads(x)["data"] for x in r.text.splitlines()][0] == "Hello, named stream!"
        assert served.get("/api/runs/wrun_01M8VJB0ZM1TR0MKFZ300GRVAX/stream").status_code == 404
        bad = served.get(f"/api/runs/{done}/stream", params={"startIndex": "x"})
        assert bad.status_code == 400
    finally:
        served.stop()


def test_async_client_read_stream(data_dir: Path) -> None:
    import asyncio

    from wfctl.client import AsyncClient

    async def main() -> list:
        client = AsyncClient(app=APP, world=data_dir)
        try:
            run = await client.start("slowStream", 3, 50)
            return [c.data async for c in client.read_stream(run.id, timeout=60)]
        finally:
            await client.close()

    assert asyncio.run(main()) == ["0\n", "1\n", "2\n"]
