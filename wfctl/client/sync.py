"""``wfctl.Client``: start, watch, resume and cancel runs from Python code."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

from wfctl.engine.app import App, short_name
from wfctl.engine.engine import Engine
from wfctl.streams import Chunk, read_stream
from worlds import World, open_world

from .driver import Driver
from .info import TERMINAL, RunInfo, outcome, run_info

VALID_STATUSES = ("pending", "running", "completed", "failed", "cancelled")

_apps: dict[Path, App] = {}
_apps_lock = threading.Lock()


def load_app(app: str | Path | None) -> App:
    """The app at ``app`` (default ``$WFCTL_APP``, else the current directory), loaded once per
    process: ``steps.py`` is imported once however many clients use it."""
    if app is None:
        app = os.environ.get("WFCTL_APP") or Path.cwd()
    path = Path(app).resolve()
    with _apps_lock:
        if path not in _apps:
            _apps[path] = App.load(path)
        return _apps[path]


def resolve_world(world: str | Path | World | None) -> World:
    """A World from a data directory, a ``postgresql://`` URL (once that world exists) or an
    instance; ``None`` defaults as the CLI does (``$WFCTL_WORLD``, ``$WORKFLOW_LOCAL_DATA_DIR``,
    ``./.workflow-data``)."""
    if isinstance(world, World):
        return world
    if world is None:
        world = (
            os.environ.get("WFCTL_WORLD")
            or os.environ.get("WORKFLOW_LOCAL_DATA_DIR")
            or ".workflow-data"
        )
    return open_world(world)


class Backoff:
    """Sleeps that grow from 10 ms to ``cap``: a waiter looks at one run's entity, not the store."""

    def __init__(self, cap: float = 0.5) -> None:
        self.delay = 0.01
        self.cap = cap

    def next(self) -> float:
        d = self.delay
        self.delay = min(self.cap, self.delay * 1.6)
        return d


class Run:
    """A handle on one run. Cheap to make; reads the world on every call."""

    def __init__(self, client: Client, run_id: str) -> None:
        self.client = client
        self.id = run_id

    def __repr__(self) -> str:
        return f"Run({self.id!r})"

    def status(self) -> str:
        """``"pending"``, ``"running"``, ``"completed"``, ``"failed"`` or ``"cancelled"``."""
        return str(self.client.engine.get_run(self.id)["status"])

    def info(self) -> RunInfo:
        return self.client.get_run(self.id)

    def result(self, timeout: float | None = None) -> Any:
        """Wait for the run to end and return its decoded output.

        Raises :class:`RunFailed`, :class:`RunCancelled`, or ``TimeoutError`` after ``timeout``
        seconds (the run goes on). With embedded driving the client's own drives wake this up
        at once; otherwise (``drive=False``) it re-reads this run's entity with a growing backoff.
        """
        engine = self.client.engine
        deadline = None if timeout is None else time.monotonic() + timeout
        backoff = Backoff()
        while True:
            run = engine.get_run(self.id)
            if run["status"] in TERMINAL:
                return outcome(engine.world, run, engine.run_key(self.id))
            delay = backoff.next()
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"run {self.id} is still {run['status']} after {timeout} s")
                delay = min(delay, left)
            if self.client.driver is not None:
                self.client.driver.wait_changed(delay)
            else:
                time.sleep(delay)


class Client:
    """Start, watch, resume and cancel workflow runs of one app, from Python.

    ``Client(app=None, world=None, drive=True)``: ``app`` is the app directory (default
    ``$WFCTL_APP`` or ``.``); ``world`` a data directory, a ``postgresql://`` URL or a World
    (default as the CLI). With ``drive=True`` the runs this client starts or resumes are driven
    in background threads of this process; with ``drive=False`` it only records them and a
    ``wfctl worker`` fleet drives them.
    """

    def __init__(
        self,
        app: str | Path | None = None,
        world: str | Path | World | None = None,
        *,
        drive: bool = True,
        concurrency: int = 4,
        public_url: str | None = None,
    ) -> None:
        self._owns_world = not isinstance(world, World)  # close only what we opened
        self.world = resolve_world(world)
        self.app = load_app(app)
        self.engine = Engine(self.world, self.app)
        self.engine.public_url = public_url  # type: ignore[attr-defined]
        self.driver: Driver | None = Driver(self.engine, concurrency=concurrency) if drive else None

    # -- runs ---------------------------------------------------------------------------

    def start(self, workflow: str, *args: Any, run_id: str | None = None) -> Run:
        """Create a run of ``workflow`` with ``args`` and return its handle at once."""
        res = self.engine.start(workflow, list(args), run_id=run_id, wait=False)
        if self.driver is not None:
            self.driver.submit(res.run_id)
        return Run(self, res.run_id)

    def run(self, run_id: str) -> Run:
        """A handle on an existing run (raises ``NotFoundError`` for an unknown id). With
        embedded driving, an unfinished run is driven here too (e.g. one left by a restart)."""
        status = self.engine.get_run(run_id)["status"]
        if self.driver is not None and status not in TERMINAL:
            self.driver.submit(run_id)
        return Run(self, run_id)

    def get_run(self, run_id: str) -> RunInfo:
        """The run with decoded input, output or error, timings and steps."""
        run = self.engine.get_run(run_id)
        return run_info(self.world, run, self.engine.run_key(run_id))

    def list_runs(
        self, status: str | None = None, workflow: str | None = None, limit: int = 20
    ) -> list[RunInfo]:
        """Runs, newest first (without their steps)."""
        if status is not None and status not in VALID_STATUSES:
            raise ValueError(f"unknown status {status!r} ({', '.join(VALID_STATUSES)})")
        wf = None if workflow is None else f"workflow//./workflows//{short_name(workflow)}"
        page = self.world.list_runs(workflow_name=wf, status=status, limit=limit)
        return [
            run_info(self.world, r, self.engine.run_key(r["runId"]), with_steps=False)
            for r in page.data
        ]

    def resume_hook(self, token: str, payload: Any = None) -> Run:
        """Deliver ``payload`` to the hook holding ``token``; returns the hook's run.

        Raises ``NotFoundError`` for a token no live hook holds and :class:`HookPayloadError`
        (a ``ValueError``) when the hook's schema refuses the payload — nothing is recorded then.
        """
        res = self.engine.resume_hook(token, payload, drive=False)
        if self.driver is not None:
            self.driver.submit(res.run_id)
        return Run(self, res.run_id)

    def cancel(self, run_id: str) -> str:
        """Cancel a pending or running run; returns its status (``"cancelled"``)."""
        return self.engine.cancel(run_id).status

    def read_stream(
        self,
        run_id: str,
        *,
        namespace: str | None = None,
        start_index: int = 0,
        follow: bool = True,
        timeout: float | None = None,
    ) -> Generator[Chunk, None, None]:
        """The chunks steps wrote to the run's stream (``getWritable({namespace})``), decoded,
        in order: see :func:`wfctl.streams.read_stream` (negative ``start_index`` counts from
        the end; ``follow`` waits until the stream closes or the run ends)."""
        self.engine.get_run(run_id)  # NotFoundError for an unknown run
        return read_stream(
            run_id,
            namespace=namespace,
            start_index=start_index,
            follow=follow,
            timeout=timeout,
            world=self.world,
            key=self.engine.run_key(run_id),
        )

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Stop driving: steps in flight finish and are recorded, runs stay resumable."""
        if self.driver is not None:
            self.driver.close()
        if self._owns_world:
            self.world.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
