"""QuickJS-NG (wasm) host on wasmtime: boot, modules, calls, limits, snapshot/restore.

See ``wfctl/vm/vm.py`` for the semantics and ``docs/ARCHITECTURE.md`` §3 for the contract.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import (
    JSException,
    SnapshotIncompatible,
    VMError,
    VMOutOfMemory,
    VMTimeout,
    VMTrap,
)

_LAZY = {"VM": ".vm", "ModuleLoader": ".vm", "mapping_loader": ".vm", "Snapshot": ".snapshot"}

if TYPE_CHECKING:
    from .snapshot import Snapshot
    from .vm import VM, ModuleLoader, mapping_loader


def __getattr__(name: str) -> Any:
    # wasmtime loads with the VM itself, not with `wfctl.vm.errors` (the engine catches those).
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wfctl.vm' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "VM",
    "Snapshot",
    "ModuleLoader",
    "mapping_loader",
    "VMError",
    "JSException",
    "VMOutOfMemory",
    "VMTimeout",
    "VMTrap",
    "SnapshotIncompatible",
]
