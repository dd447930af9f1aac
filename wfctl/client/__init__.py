"""Use wfctl from Python: :class:`Client` (threads) and :class:`AsyncClient` (asyncio)."""

from wfctl.hookpolicy import HookPayloadError

from .aio import AsyncClient, AsyncRun
from .errors import NotFoundError, RunCancelled, RunFailed
from .info import RunError, RunInfo, StepInfo
from .sync import Client, Run

__all__ = [
    "AsyncClient",
    "AsyncRun",
    "Client",
    "HookPayloadError",
    "NotFoundError",
    "Run",
    "RunCancelled",
    "RunError",
    "RunFailed",
    "RunInfo",
    "StepInfo",
]
