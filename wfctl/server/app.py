"""The Starlette application of ``wfctl serve``.

Routes (JSON in and out, shapes as the CLI's ``--json``):

    POST /api/runs                    {"workflow", "args"?, "runId"?} -> 201 {"runId"}
    GET  /api/runs                    ?status=&workflow=&limit=&cursor= -> {"data", "cursor", "hasMore"}
    GET  /api/runs/{runId}            -> as `wfctl inspect run --json`
    POST /api/runs/{runId}/cancel     -> {"runId", "status"}
    POST /api/hooks/{token}           body = the payload -> 202 {"runId"}
    *    /.well-known/workflow/v1/webhook/{token}   a webhook request (no bearer token)
    GET  /healthz                     200 when the worker loop and the world are healthy

With an API token, ``/api/*`` requires ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import contextlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from wfctl.client import Client
from wfctl.errors import NotFoundError, UsageError, WfctlError
from wfctl.hookpolicy import HookPayloadError, policy_of
from wfctl.serde.errors import PayloadError
from wfctl.server.stream_routes import stream_routes
from worlds.errors import HookNotFoundError, RunNotFoundError, WorldError

from . import views
from .background import BackgroundWorker

STATUSES = ("pending", "running", "completed", "failed", "cancelled")
_NO_BODY = object()


class JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, default=str).encode("utf-8")


def _error(status: int, message: str, **extra: Any) -> JSON:
    return JSON({"error": message, **extra}, status_code=status)


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


async def _json_body(request: Request, *, empty: Any = _NO_BODY) -> Any:
    raw = await request.body()
    if not raw.strip() and empty is not _NO_BODY:
        return empty
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise _BadRequest(f"the request body is not valid JSON ({exc})") from None


class _BadRequest(Exception):
    pass


def _guard(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """User errors become a status and one sentence, as the CLI's exit codes do."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except _BadRequest as exc:
            return _error(400, str(exc))
        except HookPayloadError as exc:
            return _error(400, str(exc), errors=exc.errors)
        except (NotFoundError, RunNotFoundError, HookNotFoundError) as exc:
            return _error(404, str(exc))
        except UsageError as exc:
            return _error(400, str(exc))
        except (WfctlError, WorldError, PayloadError) as exc:
            return _error(409, str(exc))

    return wrapped


def create_app(
    client: Client,
    *,
    api_token: str | None = None,
    worker: BackgroundWorker | None = None,
    public_url: str | None = None,
) -> Starlette:
    engine = client.engine

    @_guard
    async def start_run(request: Request) -> Response:
        body = await _json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("workflow"), str):
            raise _BadRequest('expected {"workflow": NAME, "args": [...]}')
        args = body.get("args", [])
        if not isinstance(args, list):
            raise _BadRequest('"args" must be a JSON array')
        run_id = body.get("runId")
        run = await run_in_threadpool(lambda: client.start(body["workflow"], *args, run_id=run_id))
        return JSON({"runId": run.id}, status_code=201)

    @_guard
    async def list_runs(request: Request) -> Response:
        q = request.query_params
        status = q.get("status") or None
        if status is not None and status not in STATUSES:
            raise _BadRequest(f"unknown status {status!r} ({', '.join(STATUSES)})")
        try:
            limit = int(q.get("limit", "20"))
        except ValueError:
            raise _BadRequest("limit must be an integer") from None
        if not 1 <= limit <= 1000:
            raise _BadRequest("limit must be between 1 and 1000")
        doc = await run_in_threadpool(
            views.runs_page,
            engine,
            status=status,
            workflow=q.get("workflow") or None,
            limit=limit,
            cursor=q.get("cursor") or None,
            decrypt=_flag(q.get("decrypt")),
        )
        return JSON(doc)

    @_guard
    async def get_run(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        decrypt = _flag(request.query_params.get("decrypt"))
        return JSON(await run_in_threadpool(views.run_doc, engine, run_id, decrypt=decrypt))

    @_guard
    async def cancel_run(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        try:
            status = await run_in_threadpool(client.cancel, run_id)
        except UsageError as exc:  # the run already ended
            return _error(409, str(exc))
        return JSON({"runId": run_id, "status": status})

    @_guard
    async def resume_hook(request: Request) -> Response:
        token = request.path_params["token"]
        value = await _json_body(request, empty=None)
        run = await run_in_threadpool(client.resume_hook, token, value)
        return JSON({"runId": run.id}, status_code=202)

    async def webhook(request: Request) -> Response:
        token = request.path_params["token"]
        try:
            hook = await run_in_threadpool(engine.world.get_hook_by_token, token)
        except HookNotFoundError:
            return Response(status_code=404)
        if not hook.get("isWebhook"):
            return Response(status_code=404)  # plain hooks are not resumable from outside
        raw = await request.body()
        text = raw.decode("utf-8", errors="replace")
        url = str(request.url)
        if public_url:
            url = (
                public_url
                + request.url.path
                + (f"?{request.url.query}" if request.url.query else "")
            )
        value: dict[str, Any] = {
            "method": request.method,
            "url": url,
            "headers": {k: request.headers.get(k) for k in request.headers.keys()},  # noqa: SIM118
            "body": text,
        }
        with contextlib.suppress(ValueError):
            value["json"] = json.loads(text)
        try:
            run = await run_in_threadpool(client.resume_hook, token, value)
        except HookPayloadError as exc:
            return _error(400, str(exc), errors=exc.errors)
        except (NotFoundError, HookNotFoundError):
            return Response(status_code=404)
        except (WfctlError, WorldError, PayloadError) as exc:  # e.g. the run just ended
            return _error(409, str(exc))
        policy = policy_of(hook, engine.run_key(hook["runId"]))
        if policy.respond_with is not None:
            r = policy.respond_with
            return Response(
                content=str(r.get("body", "")),
                status_code=int(r.get("status", 200)),
                headers={str(k): str(v) for k, v in (r.get("headers") or {}).items()},
            )
        return JSON({"runId": run.id}, status_code=202)

    async def healthz(request: Request) -> Response:
        problems = []
        if worker is not None and not worker.healthy():
            problems.append(f"worker loop: {worker.error or 'not running'}")
        try:
            await run_in_threadpool(engine.world.list_runs, limit=1)
        except Exception as exc:
            problems.append(f"world: {type(exc).__name__}: {exc}")
        if problems:
            return JSON({"ok": False, "problems": problems}, status_code=503)
        return JSON({"ok": True})

    routes: list[BaseRoute] = [
        Route("/api/runs", start_run, methods=["POST"]),
        Route("/api/runs", list_runs, methods=["GET"]),
        Route("/api/runs/{run_id}", get_run, methods=["GET"]),
        Route("/api/runs/{run_id}/cancel", cancel_run, methods=["POST"]),
        Route("/api/hooks/{token:path}", resume_hook, methods=["POST"]),
        Route(
            "/.well-known/workflow/v1/webhook/{token:path}",
            webhook,
            methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        ),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    routes += stream_routes(client)  # GET /api/runs/{runId}/stream (streams helper)
    routes += ui_routes(client)  # the web UI at "/" (observe): keep last, it matches everything

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if worker is not None:
            worker.start()
        yield
        # SIGTERM/SIGINT: uvicorn has stopped taking requests. Steps in flight finish and are
        # recorded, drives leave their runs resumable, then the process exits.
        await run_in_threadpool(_shutdown, client, worker)

    app = Starlette(routes=routes, lifespan=lifespan)
    if api_token:
        app.add_middleware(_BearerAuth, token=api_token)
    return app


def _shutdown(client: Client, worker: BackgroundWorker | None) -> None:
    client.engine.stopping.set()
    if worker is not None:
        worker.stop()
    client.close()


def ui_routes(client: Client) -> list[BaseRoute]:
    """observe's web UI, mounted at "/" when ``wfctl.web`` is installed."""
    try:
        from wfctl.web import create_ui_app
    except ImportError:
        return []
    # The client's engine: the UI's resume / cancel / re-run act with the served app.
    return [Mount("/", app=create_ui_app(engine=client.engine))]


class _BearerAuth:
    """``/api/*`` needs ``Authorization: Bearer <token>``; webhooks and /healthz do not."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                response = _error(
                    401, "missing or wrong bearer token (Authorization: Bearer <token>)"
                )
                response.headers["WWW-Authenticate"] = "Bearer"
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
