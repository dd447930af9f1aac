"""``wfctl.AsyncClient``: the Client's methods as coroutines, for asyncio applications.

World and engine calls run in worker threads (``asyncio.to_thread``) so the event loop never
blocks on a file or a lock; waiting for a result re-reads the run with a growing backoff, and
with embedded driving is woken early by the client's own drives.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from wfctl.streams import Chunk
from worlds import World

from .info import TERMINAL, RunInfo, outcome
from .sync import Backoff, Client


class AsyncRun:
    def __init__(self, client: AsyncClient, run_id: str) -> None:
        self.client = client
        self.id = run_id

    def __repr__(self) -> str:
        return f"AsyncRun({self.id!r})"

    async def status(self) -> str:
        engine = self.client.sync.engine
        return str((await asyncio.to_thread(engine.get_run, self.id))["status"])

    async def info(self) -> RunInfo:
        return await self.client.get_run(self.id)

    async def result(self, timeout: float | None = None) -> Any:
        """As :meth:`wfctl.Run.result`, without blocking the event loop."""
        engine = self.client.sync.engine
        deadline = None if timeout is None else time.monotonic() + timeout
        backoff = Backoff()
        # With embedded driving, the client's own drives wake this waiter through the loop
        # (no thread is held while waiting).
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()
        driver = self.client.sync.driver

        def wake() -> None:
            loop.call_soon_threadsafe(changed.set)

        if driver is not None:
            driver.listeners.add(wake)
        try:
            while True:
                changed.clear()
                run = await asyncio.to_thread(engine.get_run, self.id)
                if run["status"] in TERMINAL:
                    key = engine.run_key(self.id)
                    return await asyncio.to_thread(outcome, engine.world, run, key)
                delay = backoff.next()
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        status = run["status"]
                        raise TimeoutError(f"run {self.id} is still {status} after {timeout} s")
                    delay = min(delay, left)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), delay)
        finally:
            if driver is not None:
                driver.listeners.discard(wake)


class AsyncClient:
    """Same arguments and methods as :class:`wfctl.Client`, as coroutines."""

    def __init__(
        self,
        app: str | Path | None = None,
        world: str | Path | World | None = None,
        *,
        drive: bool = True,
        concurrency: int = 4,
        public_url: str | None = None,
    ) -> None:
        self.sync = Client(app, world, drive=drive, concurrency=concurrency, public_url=public_url)

    async def start(self, workflow: str, *args: Any, run_id: str | None = None) -> AsyncRun:
        run = await asyncio.to_thread(lambda: self.sync.start(workflow, *args, run_id=run_id))
        return AsyncRun(self, run.id)

    async def run(self, run_id: str) -> AsyncRun:
        await asyncio.to_thread(self.sync.run, run_id)
        return AsyncRun(self, run_id)

    async def get_run(self, run_id: str) -> RunInfo:
        return await asyncio.to_thread(self.sync.get_run, run_id)

    async def list_runs(
        self, status: str | None = None, workflow: str | None = None, limit: int = 20
    ) -> list[RunInfo]:
        return await asyncio.to_thread(self.sync.list_runs, status, workflow, limit)

    async def resume_hook(self, token: str, payload: Any = None) -> AsyncRun:
        run = await asyncio.to_thread(self.sync.resume_hook, token, payload)
        return AsyncRun(self, run.id)

    async def cancel(self, run_id: str) -> str:
        return await asyncio.to_thread(self.sync.cancel, run_id)

    async def read_stream(
        self,
        run_id: str,
        *,
        namespace: str | None = None,
        start_index: int = 0,
        follow: bool = True,
        timeout: float | None = None,
    ) -> AsyncIterator[Chunk]:
        """``async for chunk in client.read_stream(run_id)``: as :meth:`Client.read_stream`
        (each poll of the world runs in a worker thread)."""
        chunks = await asyncio.to_thread(
            lambda: self.sync.read_stream(
                run_id,
                namespace=namespace,
                start_index=start_index,
                follow=follow,
                timeout=timeout,
            )
        )
        done = object()
        try:
            while isinstance(item := await asyncio.to_thread(next, chunks, done), Chunk):
                yield item
        finally:
            chunks.close()

    async def close(self) -> None:
        await asyncio.to_thread(self.sync.close)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
