"""QuickJS-NG (wasm) host on wasmtime: boot, modules, calls, limits, snapshot/restore.

See ``wfctl/vm/vm.py`` for the semantics and ``docs/ARCHITECTURE.md`` §3 for the contract.
"""

from .errors import (
    JSException,
    SnapshotIncompatible,
    VMError,
    VMOutOfMemory,
    VMTimeout,
    VMTrap,
)
from .snapshot import Snapshot
from .vm import VM, ModuleLoader, mapping_loader

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
