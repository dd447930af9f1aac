"""wfctl: durable workflows on one machine.

Workflows are JavaScript (run in a sandboxed QuickJS VM); steps are Python functions::

    from wfctl import step, FatalError, RetryableError, get_step_metadata

    @step
    def add(a: int, b: int) -> int:
        return a + b
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Loaded on first use, so that `import wfctl.<anything>` (every CLI command) does not pay for
# the step registry and the value types unless it uses them.
_EXPORTS = {
    "step": "wfctl.engine.registry",
    "get_step_metadata": "wfctl.engine.registry",
    "StepMetadata": "wfctl.engine.registry",
    "FatalError": "wfctl.errors",
    "RetryableError": "wfctl.errors",
    "BigInt": "wfctl.serde.values",
    "JSMap": "wfctl.serde.values",
    "JSError": "wfctl.serde.values",
    # The client pulls in the engine; import it only when an application asks for it.
    "Client": "wfctl.client",
    "AsyncClient": "wfctl.client",
    "Run": "wfctl.client",
    "AsyncRun": "wfctl.client",
    "RunFailed": "wfctl.client",
    "RunCancelled": "wfctl.client",
    "HookPayloadError": "wfctl.client",
    # The streams API: the payload codec and crypto, on first use.
    "StreamWriter": "wfctl.streams",
    "AsyncStreamWriter": "wfctl.streams",
    "get_writable": "wfctl.streams",
    "read_stream": "wfctl.streams",
}

if TYPE_CHECKING:
    from wfctl.engine.registry import StepMetadata, get_step_metadata, step
    from wfctl.errors import FatalError, RetryableError
    from wfctl.serde.values import BigInt, JSError, JSMap


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'wfctl' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "step",
    "get_step_metadata",
    "StepMetadata",
    "FatalError",
    "RetryableError",
    "BigInt",
    "JSMap",
    "JSError",
    "StreamWriter",
    "AsyncStreamWriter",
    "get_writable",
    "read_stream",
    "__version__",
    "Client",
    "AsyncClient",
    "Run",
    "AsyncRun",
    "RunFailed",
    "RunCancelled",
    "HookPayloadError",
]
