"""Running ``wfctl serve``: bind, build the app, hand it to uvicorn, shut down gracefully."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from pathlib import Path

from wfctl.errors import UsageError
from worlds import World


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)  # before "listening on" is printed: a client may connect at once
    sock.set_inheritable(True)
    return sock


def serve(
    *,
    app_dir: Path | None,
    world: str | Path | World | None,
    host: str,
    port: int,
    concurrency: int,
    public_url: str | None,
    api_token: str | None,
    check_steps: bool = True,
) -> None:
    import uvicorn

    from wfctl.client import Client

    from .app import create_app
    from .background import BackgroundWorker

    api_token = api_token or os.environ.get("WFCTL_API_TOKEN") or None
    if not is_loopback(host) and not api_token:
        raise UsageError(
            f"binding to {host} (not loopback) requires --api-token or WFCTL_API_TOKEN"
        )
    sock = bind(host, port)
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    url = (public_url or f"http://{shown_host}:{bound_port}").rstrip("/")
    client = Client(app_dir, world, drive=True, concurrency=concurrency, public_url=url)
    client.engine.check_steps = check_steps
    worker = BackgroundWorker(client.engine, concurrency=concurrency)
    app = create_app(client, api_token=api_token, worker=worker, public_url=url)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=30,
    )
    server = uvicorn.Server(config)
    print(
        f"wfctl serve: listening on http://{shown_host}:{bound_port} (public URL {url})", flush=True
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    print("wfctl serve: stopped", file=sys.stderr, flush=True)
