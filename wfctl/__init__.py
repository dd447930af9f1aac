"""wfctl: durable workflows on one machine.

Workflows are JavaScript (run in a sandboxed QuickJS VM); steps are Python functions::

    from wfctl import step, FatalError, RetryableError, get_step_metadata

    @step
    def add(a: int, b: int) -> int:
        return a + b
"""

__version__ = "0.1.0"

from wfctl.engine.registry import StepMetadata, get_step_metadata, step  # noqa: E402
from wfctl.errors import FatalError, RetryableError  # noqa: E402
from wfctl.serde.values import BigInt, JSError, JSMap  # noqa: E402

__all__ = [
    "step",
    "get_step_metadata",
    "StepMetadata",
    "FatalError",
    "RetryableError",
    "BigInt",
    "JSMap",
    "JSError",
    "__version__",
    "Client",
    "AsyncClient",
    "Run",
    "AsyncRun",
    "RunFailed",
    "RunCancelled",
    "HookPayloadError",
]

_CLIENT_NAMES = {
    "Client",
    "AsyncClient",
    "Run",
    "AsyncRun",
    "RunFailed",
    "RunCancelled",
    "HookPayloadError",
}


def __getattr__(name: str) -> object:
    # The client pulls in the engine; import it only when an application asks for it.
    if name in _CLIENT_NAMES:
        from wfctl import client

        return getattr(client, name)
    raise AttributeError(f"module 'wfctl' has no attribute {name!r}")
