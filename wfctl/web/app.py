"""The web UI as a Starlette app: ``create_ui_app`` builds it (``wfctl web`` serves it with
uvicorn; ``wfctl serve`` can mount the same app at ``/``).

Reads go straight to the world. Actions (resume a hook, cancel, re-run) go through the engine,
as the CLI's would; a run an action makes runnable is driven on a background thread of this
process when the app is loaded, else left to ``wfctl worker``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from wfctl.engine.engine import Engine
from wfctl.engine.runlogs import read_logs
from wfctl.engine.timeline import Tracker, error_reader, step_failure_of
from wfctl.errors import WfctlError
from wfctl.serde import payload
from wfctl.serde.jsonout import decode_field, entity_json
from wfctl.web import pages
from worlds import World, all_items
from worlds.errors import WorldError

log = logging.getLogger("wfctl.web")

STATIC = Path(__file__).resolve().parent / "static"
PAGE_SIZE = 25
DRIVE_TIMEOUT = 60.0  # seconds a background drive waits in-process for timers (then: worker)
SINCE = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}
STATUSES = ("pending", "running", "completed", "failed", "cancelled")


def _base(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


class _UI:
    def __init__(self, engine_factory: Callable[[], Engine]) -> None:
        self._factory = engine_factory
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self._drivers: dict[str, threading.Thread] = {}

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = self._factory()
            return self._engine

    def where(self) -> str:
        root = getattr(self.engine.world, "root", None) or getattr(
            self.engine.world, "data_dir", ""
        )
        return str(root)

    # -- background driving -----------------------------------------------------------------

    def drive_later(self, run_id: str) -> bool:
        """Drive the run on a background thread (one per run); False when no app is loaded."""
        engine = self.engine
        if engine.app is None:
            return False
        with self._lock:
            t = self._drivers.get(run_id)
            if t is not None and t.is_alive():
                return True

            def go() -> None:
                try:
                    engine.drive(run_id, wait=True, timeout=DRIVE_TIMEOUT, lease_wait=5.0)
                except Exception:
                    log.warning("driving run %s failed", run_id, exc_info=True)

            t = self._drivers[run_id] = threading.Thread(
                target=go, name=f"wfctl-web-{run_id}", daemon=True
            )
            t.start()
        return True

    # -- pages ---------------------------------------------------------------------------

    def runs(self, request: Request) -> Response:
        q = request.query_params
        status = q.get("status", "")
        workflow = q.get("workflow", "")
        since = q.get("since", "")
        cursor = q.get("cursor") or None
        if status and status not in STATUSES:
            status = ""
        engine = self.engine
        wf_name = None
        if workflow:
            wf_name = workflow if "//" in workflow else f"workflow//./workflows//{workflow}"
        page = engine.world.list_runs(
            workflow_name=wf_name, status=status or None, cursor=cursor, limit=PAGE_SIZE
        )
        runs = page.data
        next_cursor = page.cursor if page.has_more else None
        if since in SINCE:
            cut = datetime.now(UTC) - SINCE[since]
            fresh = [r for r in runs if _dt(r.get("createdAt")) >= cut]
            if len(fresh) < len(runs):
                next_cursor = None  # newest first: everything further is older still
            runs = fresh
        try:
            workflows = engine.workflows() if engine.app is not None else []
        except WfctlError:
            workflows = []
        html = pages.runs_page(
            _base(request),
            runs,
            status=status,
            workflow=workflow,
            since=since if since in SINCE else "",
            workflows=workflows,
            next_cursor=next_cursor,
            first=cursor is None,
            where=self.where(),
        )
        return HTMLResponse(html)

    def run(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        engine = self.engine
        try:
            run = engine.world.get_run(run_id)
        except (WorldError, WfctlError):
            return HTMLResponse(
                pages.message_page(_base(request), "Not found", f"run {run_id} not found"), 404
            )
        key = engine.run_key(run_id)
        show = key is not None  # encrypted payloads are shown only when the key is configured
        events = engine.world.list_events(run_id).data
        tracker = Tracker(error_reader(key if show else None))
        tracker.feed(events)
        doc = entity_json(run, key, decrypt=show)
        steps = all_items(
            lambda c: engine.world.list_steps(run_id, cursor=c, limit=1000, sort="asc")
        )
        steps_doc = [entity_json(s, key, decrypt=show) for s in steps]
        events_doc = [entity_json(e, key, decrypt=show) for e in events]
        hooks = engine.world.list_hooks(run_id=run_id, limit=1000).data
        try:
            logs, _, _ = read_logs(engine.world, run_id, key)
        except Exception:
            logs = []
        html = pages.run_page(
            _base(request),
            doc,
            tracker,
            events_doc,
            steps_doc,
            hooks,
            logs,
            _failure(run, events, tracker, key if show else None),
            now_ms=int(time.time() * 1000),
            can_drive=engine.app is not None,
            where=self.where(),
        )
        return HTMLResponse(html)

    def state(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        engine = self.engine
        try:
            run = engine.world.get_run(run_id)
        except WorldError:
            return JSONResponse({"error": "not found"}, 404)
        count = len(engine.world.list_events(run_id).data)
        return JSONResponse({"runId": run_id, "status": run["status"], "eventCount": count})

    # -- actions -------------------------------------------------------------------------

    def cancel(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        try:
            self.engine.cancel(run_id)
        except (WfctlError, WorldError) as exc:
            return HTMLResponse(pages.message_page(_base(request), "Cannot cancel", str(exc)), 409)
        return RedirectResponse(f"{_base(request)}/runs/{run_id}", 303)

    def rerun(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        engine = self.engine
        try:
            run = engine.world.get_run(run_id)
            if engine.app is None:
                raise WfctlError("re-running needs the app: start wfctl web with --app DIR")
            args = payload.decode(run["input"], key=engine.run_key(run_id))
            res = engine.start(
                run["workflowName"],
                list(args) if isinstance(args, list) else [args],
                runtime=(run.get("executionContext") or {}).get("workflowRuntime"),
                wait=False,
            )
        except (WfctlError, WorldError) as exc:
            return HTMLResponse(pages.message_page(_base(request), "Cannot re-run", str(exc)), 409)
        self.drive_later(res.run_id)
        return RedirectResponse(f"{_base(request)}/runs/{res.run_id}", 303)

    async def resume(self, request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8"), keep_blank_values=True)
        token = (form.get("token") or [""])[0]
        text = (form.get("payload") or [""])[0].strip()
        base = _base(request)
        try:
            value = json.loads(text) if text else None
        except ValueError as exc:
            return HTMLResponse(
                pages.message_page(base, "Bad payload", f"the payload is not valid JSON: {exc}"),
                400,
            )
        engine = self.engine
        try:
            res = await run_in_threadpool(engine.resume_hook, token, value, drive=False)
        except (WfctlError, WorldError) as exc:
            return HTMLResponse(pages.message_page(base, "Cannot resume", str(exc)), 404)
        self.drive_later(res.run_id)
        return RedirectResponse(f"{base}/runs/{res.run_id}", 303)


def _dt(iso: str | None) -> datetime:
    if not iso:
        return datetime.min.replace(tzinfo=UTC)
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _failure(
    run: dict[str, Any], events: list[dict[str, Any]], tracker: Tracker, key: bytes | None
) -> dict[str, Any] | None:
    if run["status"] != "failed":
        return None
    span = tracker.failing_step()
    if span is not None:
        err, data = step_failure_of(events, span.id, key)
        if err is not None:
            return {
                "step": span.name,
                "attempts": len(span.attempts),
                "name": err.name,
                "message": err.message,
                "stack": err.stack,
            }
        return {
            "step": span.name,
            "attempts": len(span.attempts),
            "name": "Error",
            "message": data.get("message") or "(encrypted: configure the key to read it)",
            "stack": data.get("stack") or "",
        }
    failed = next((e for e in reversed(events) if e["eventType"] == "run_failed"), None)
    data = (failed or {}).get("eventData") or {}
    err = decode_field(data.get("error"), key, decrypt=key is not None)
    if isinstance(err, dict):
        return {
            "name": err.get("name", "Error"),
            "message": err.get("message", ""),
            "stack": err.get("stack", ""),
        }
    return {"name": "Error", "message": str(err or data.get("message", "")), "stack": ""}


def create_ui_app(
    engine_factory: Callable[[], Engine] | None = None,
    *,
    engine: Engine | None = None,
    world: World | None = None,
    data_dir: str | Path | None = None,
    app_dir: str | Path | None = None,
) -> Starlette:
    """The web UI. Give one of: ``engine`` (e.g. ``wfctl serve``'s client engine: actions
    drive runs with its app), ``engine_factory`` (called once, on the first request),
    ``world`` (read and record only: resumed hooks and re-runs are left to a worker; re-run
    needs an app), or ``data_dir`` / ``app_dir`` to build an engine from (app optional)."""
    if engine is not None:
        engine_factory = lambda: engine  # noqa: E731
    elif world is not None:
        engine_factory = lambda: Engine(world)  # noqa: E731
    elif engine_factory is None:
        engine_factory = default_engine_factory(data_dir, app_dir)
    ui = _UI(engine_factory)
    routes = [
        Route("/", ui.runs),
        Route("/runs/{run_id}", ui.run),
        Route("/runs/{run_id}/state", ui.state),
        Route("/runs/{run_id}/cancel", ui.cancel, methods=["POST"]),
        Route("/runs/{run_id}/rerun", ui.rerun, methods=["POST"]),
        Route("/hooks/resume", ui.resume, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.ui = ui
    return app


def default_engine_factory(
    data_dir: str | Path | None, app_dir: str | Path | None
) -> Callable[[], Engine]:
    def make() -> Engine:
        from wfctl.engine.app import App
        from worlds import open_world

        # None: the CLI's default ($WFCTL_WORLD, $WORKFLOW_LOCAL_DATA_DIR, ./.workflow-data)
        world = open_world(data_dir)
        application = None
        if app_dir is not None:
            application = App.load(Path(app_dir))
        return Engine(world, application)

    return make
