"""The host side of ``wasi_snapshot_preview1`` for the QuickJS reactor: deterministic and
sealed.

* Clock: every clock id (REALTIME, MONOTONIC, CPU) reads the per-VM guest clock set by the
  host (:attr:`WasiState.clock_ms`); QuickJS seeds ``Math.random`` from it at context
  creation, so the guest is fully deterministic.
* Output: fd 1/2 writes are split into lines and passed to the VM's console callback as
  ``("stdout" | "stderr", line)``; a trailing partial line is flushed after each host call.
* No environment, no args, no preopened directories (so no filesystem), no sockets, no
  ``poll_oneoff``; reading stdin gives EOF. ``proc_exit`` traps.

The functions are defined once on the process-wide :class:`wasmtime.Linker`; the per-VM state
lives in the store's data slot (``Store(engine, data=WasiState(...))``), so two VMs never share
clock or output buffers.
"""

from __future__ import annotations

import ctypes
import logging
import struct
from collections.abc import Callable

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime import _value as wt_value

__all__ = ["WasiState", "define_wasi", "default_console"]

log = logging.getLogger("wfctl.vm")

ConsoleFn = Callable[[str, str], None]

# errno values (wasi_snapshot_preview1)
ESUCCESS = 0
EBADF = 8
EINVAL = 28
ENOSYS = 52
ENOTSUP = 58
ESPIPE = 70

_FILETYPE_CHARACTER_DEVICE = 2
_RIGHTS_STDIO = (1 << 1) | (1 << 6) | (1 << 3)  # fd_read | fd_write | fd_fdstat_set_flags


def default_console(stream: str, text: str) -> None:
    """Default console sink: the ``wfctl.vm`` logger (stderr at WARNING, stdout at INFO)."""
    log.log(logging.WARNING if stream == "stderr" else logging.INFO, "%s", text)


class GuestExit(Exception):
    """The guest called ``proc_exit``."""


class WasiState:
    """Per-store WASI state."""

    __slots__ = ("clock_ms", "console", "dirty", "_pending", "__weakref__")

    def __init__(self, clock_ms: int = 0, console: ConsoleFn | None = None):
        self.clock_ms = int(clock_ms)
        self.console: ConsoleFn = console or default_console
        self.dirty = False  # a partial line is buffered
        self._pending: dict[int, bytearray] = {}

    def __bool__(self) -> bool:  # Store(data=...) ignores falsy data
        return True

    def write(self, fd: int, data: bytes) -> None:
        buf = self._pending.setdefault(fd, bytearray())
        buf += data
        if b"\n" in data:
            *lines, rest = bytes(buf).split(b"\n")
            buf[:] = rest
            for line in lines:
                self.emit(fd, line)
        self.dirty = bool(buf)

    def flush(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        for fd, buf in self._pending.items():
            if buf:
                data = bytes(buf)
                buf.clear()
                self.emit(fd, data)

    def emit(self, fd: int, line: bytes) -> None:
        stream = "stderr" if fd == 2 else "stdout"
        try:
            self.console(stream, line.decode("utf-8", "replace"))
        except Exception:  # a console sink must never break the guest
            log.exception("console callback failed")


def _state(caller: wasmtime.Caller) -> WasiState:
    data = ffi.wasmtime_context_get_data(caller._context())
    # The binding is declared to return a pointer, but its restype is c_void_p: an int index.
    state: WasiState = wt_value._unintern(data)  # type: ignore[arg-type]
    return state


def _mem(caller: wasmtime.Caller) -> tuple[int, int]:
    mem = caller.get("memory")
    assert isinstance(mem, wasmtime.Memory)
    ptr = mem.data_ptr(caller)
    return ctypes.cast(ptr, ctypes.c_void_p).value or 0, mem.data_len(caller)


def _check(size: int, addr: int, n: int) -> None:
    if addr < 0 or addr + n > size:
        raise IndexError("guest pointer out of bounds")


def _put(caller: wasmtime.Caller, addr: int, data: bytes) -> None:
    base, size = _mem(caller)
    addr &= 0xFFFFFFFF
    _check(size, addr, len(data))
    ctypes.memmove(base + addr, data, len(data))


# ---- the imports -------------------------------------------------------------------------


def _environ_sizes_get(caller: wasmtime.Caller, count_p: int, size_p: int) -> int:
    _put(caller, count_p, b"\0\0\0\0")
    _put(caller, size_p, b"\0\0\0\0")
    return ESUCCESS


def _environ_get(caller: wasmtime.Caller, environ: int, buf: int) -> int:
    return ESUCCESS


def _clock_time_get(caller: wasmtime.Caller, clock_id: int, precision: int, out: int) -> int:
    if not 0 <= clock_id <= 3:
        return EINVAL
    ns = max(0, _state(caller).clock_ms) * 1_000_000
    _put(caller, out, struct.pack("<Q", ns & 0xFFFFFFFFFFFFFFFF))
    return ESUCCESS


def _fd_close(caller: wasmtime.Caller, fd: int) -> int:
    return EBADF


def _fd_fdstat_get(caller: wasmtime.Caller, fd: int, out: int) -> int:
    if fd not in (0, 1, 2):
        return EBADF
    rights = _RIGHTS_STDIO
    _put(caller, out, struct.pack("<BxHxxxxQQ", _FILETYPE_CHARACTER_DEVICE, 0, rights, 0))
    return ESUCCESS


def _fd_fdstat_set_flags(caller: wasmtime.Caller, fd: int, flags: int) -> int:
    return ENOTSUP if fd in (0, 1, 2) else EBADF


def _fd_prestat_get(caller: wasmtime.Caller, fd: int, out: int) -> int:
    return EBADF  # no preopened directories: the guest has no filesystem


def _fd_prestat_dir_name(caller: wasmtime.Caller, fd: int, path: int, n: int) -> int:
    return EBADF


def _fd_read(caller: wasmtime.Caller, fd: int, iovs: int, n: int, nread: int) -> int:
    if fd != 0:
        return EBADF
    _put(caller, nread, b"\0\0\0\0")  # stdin is always at EOF
    return ESUCCESS


def _fd_readdir(caller: wasmtime.Caller, fd: int, buf: int, n: int, cookie: int, out: int) -> int:
    return EBADF


def _fd_seek(caller: wasmtime.Caller, fd: int, offset: int, whence: int, out: int) -> int:
    return ESPIPE if fd in (0, 1, 2) else EBADF


def _fd_write(caller: wasmtime.Caller, fd: int, iovs: int, n: int, nwritten: int) -> int:
    if fd not in (1, 2):
        return EBADF
    base, size = _mem(caller)
    iovs &= 0xFFFFFFFF
    _check(size, iovs, 8 * n)
    total = 0
    chunks = []
    for i in range(n):
        ptr, length = struct.unpack_from("<II", ctypes.string_at(base + iovs + 8 * i, 8))
        _check(size, ptr, length)
        chunks.append(ctypes.string_at(base + ptr, length))
        total += length
    _state(caller).write(fd, b"".join(chunks))
    _put(caller, nwritten, struct.pack("<I", total))
    return ESUCCESS


def _no_dir(caller: wasmtime.Caller, fd: int, *rest: int) -> int:
    return EBADF


def _poll_oneoff(caller: wasmtime.Caller, sin: int, sout: int, n: int, nevents: int) -> int:
    return ENOSYS


def _proc_exit(caller: wasmtime.Caller, code: int) -> None:
    raise GuestExit(f"guest called proc_exit({code})")


_IMPLS: dict[str, Callable[..., int | None]] = {
    "environ_get": _environ_get,
    "environ_sizes_get": _environ_sizes_get,
    "clock_time_get": _clock_time_get,
    "fd_close": _fd_close,
    "fd_fdstat_get": _fd_fdstat_get,
    "fd_fdstat_set_flags": _fd_fdstat_set_flags,
    "fd_prestat_get": _fd_prestat_get,
    "fd_prestat_dir_name": _fd_prestat_dir_name,
    "fd_read": _fd_read,
    "fd_readdir": _fd_readdir,
    "fd_seek": _fd_seek,
    "fd_write": _fd_write,
    "path_create_directory": _no_dir,
    "path_filestat_get": _no_dir,
    "path_filestat_set_times": _no_dir,
    "path_open": _no_dir,
    "path_remove_directory": _no_dir,
    "path_rename": _no_dir,
    "path_unlink_file": _no_dir,
    "poll_oneoff": _poll_oneoff,
    "proc_exit": _proc_exit,
}


def define_wasi(linker: wasmtime.Linker, module: wasmtime.Module) -> None:
    """Define every ``wasi_snapshot_preview1`` import of ``module`` on ``linker``.

    An import this host does not know fails loudly here rather than at call time.
    """
    for imp in module.imports:
        if imp.module != "wasi_snapshot_preview1":
            raise RuntimeError(f"unexpected import {imp.module}.{imp.name}")
        name = imp.name
        impl = _IMPLS.get(name) if name is not None else None
        if name is None or impl is None:
            raise RuntimeError(f"no host implementation for WASI import {name}")
        ty = imp.type
        assert isinstance(ty, wasmtime.FuncType)
        linker.define_func(imp.module, name, ty, impl, access_caller=True)
