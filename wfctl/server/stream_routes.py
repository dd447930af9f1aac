"""``GET /api/runs/{runId}/stream``: a run stream as newline-delimited JSON, live.

Query: ``namespace`` (a named stream), ``startIndex`` (negative counts from the end),
``follow`` (default ``1``: keep the response open until the stream closes or the run ends).
Each line is ``{"index", "data"}`` as ``wfctl inspect stream --json`` prints it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from wfctl.streams import Chunk, chunk_json, read_stream
from worlds.errors import RunNotFoundError

_DONE = object()


def stream_routes(client: Any) -> list[BaseRoute]:
    engine = client.engine

    async def stream(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        q = request.query_params
        try:
            start = int(q.get("startIndex", "0"))
        except ValueError:
            return JSONResponse({"error": "startIndex must be an integer"}, status_code=400)
        follow = q.get("follow", "1").lower() not in ("0", "false", "no")
        namespace = q.get("namespace") or None
        try:
            await run_in_threadpool(engine.world.get_run, run_id)
        except RunNotFoundError:
            return JSONResponse({"error": f"run {run_id} not found"}, status_code=404)
        chunks = read_stream(
            run_id,
            namespace=namespace,
            start_index=start,
            follow=follow,
            world=engine.world,
            key=engine.run_key(run_id),
        )

        async def body() -> AsyncIterator[bytes]:
            try:
                while True:
                    # one blocking step of the reader per thread hop (it polls the world)
                    item = await run_in_threadpool(next, chunks, _DONE)
                    if not isinstance(item, Chunk):
                        return
                    line = json.dumps(chunk_json(item), ensure_ascii=False, default=str)
                    yield (line + "\n").encode("utf-8")
            finally:
                chunks.close()

        return StreamingResponse(body(), media_type="application/x-ndjson")

    return [Route("/api/runs/{run_id}/stream", stream, methods=["GET"])]
