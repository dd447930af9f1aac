"""A FastAPI shop that runs its orders as durable workflows with wfctl's AsyncClient.

    POST /orders                {"orderId": "42", "cents": 2500} -> 201 {"orderId", "runId"}
    GET  /orders/{runId}        the order's run: status, and its result or error when done
    POST /webhooks/payment      the payment provider's callback {"orderId", "paymentId", "status"}

Run it (from the repository root, after `make install`): `make shop`
(= `cd examples/fastapi-shop && ../../.venv/bin/python app.py`, on http://127.0.0.1:8000).
Runs are driven inside this process; the data lives in ./.workflow-data.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from wfctl import AsyncClient, HookPayloadError
from wfctl.errors import NotFoundError

HERE = Path(__file__).resolve().parent
clients: dict[str, AsyncClient] = {}


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    world = os.environ.get("WFCTL_WORLD") or str(HERE / ".workflow-data")
    async with AsyncClient(app=HERE, world=world) as client:
        clients["wf"] = client
        yield


app = FastAPI(title="wfctl shop", lifespan=lifespan)


class Order(BaseModel):
    orderId: str
    cents: int


@app.post("/orders", status_code=201)
async def create_order(order: Order) -> dict:
    run = await clients["wf"].start("orderFlow", order.orderId, order.cents)
    return {"orderId": order.orderId, "runId": run.id}


@app.get("/orders/{run_id}")
async def order_status(run_id: str) -> dict:
    try:
        info = await clients["wf"].get_run(run_id)
    except NotFoundError:
        raise HTTPException(404, f"no order run {run_id}") from None
    doc: dict = {"runId": info.run_id, "status": info.status, "steps": [s.name for s in info.steps]}
    if info.status == "completed":
        doc["result"] = info.output
    if info.error is not None:
        doc["error"] = f"{info.error.name}: {info.error.message}"
    return doc


@app.post("/webhooks/payment")
async def payment_webhook(payload: dict) -> dict:
    order_id = str(payload.get("orderId", ""))
    try:
        run = await clients["wf"].resume_hook(f"payment:{order_id}", payload)
    except NotFoundError:
        raise HTTPException(404, f"no order {order_id!r} is waiting for a payment") from None
    except HookPayloadError as exc:  # the workflow's schema refused it; nothing was recorded
        raise HTTPException(400, {"error": str(exc), "errors": exc.errors}) from None
    return {"runId": run.id}


if __name__ == "__main__":
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 = any free port")
    args = parser.parse_args()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    print(f"shop: listening on http://{args.host}:{sock.getsockname()[1]}", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[sock])
