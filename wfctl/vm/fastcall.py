"""Cheap calls into wasm exports, and cheap host functions, through ``wasmtime._ffi``.

``wasmtime.Func.__call__`` re-queries the function type and boxes every value on each call
(~9-13 µs). :func:`fast_func` caches the signature once and calls
``wasmtime_func_call_unchecked`` with a preallocated ``wasmtime_val_raw_t`` buffer
(~1-2 µs). :func:`new_host_func` creates a host function with
``wasmtime_func_new_unchecked`` (no per-call ``Caller``/``Val`` objects), used for the
callbacks QuickJS calls through the function table (interrupt handler, module loader).

This is private wasmtime-py API (``wasmtime._ffi``): wasmtime is pinned exactly in
``pyproject.toml`` for this reason.

A Python exception raised by one of *our* host functions is parked in a thread-local slot
(:data:`_pending`) and picked up by the failing call on the same thread. wasmtime-py's own
process-global ``wasmtime._func.LAST_EXCEPTION`` is never read, written or cleared here:
Python steps that use wasmtime themselves, on other threads, keep their own exceptions.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime._extern import wrap_extern

__all__ = [
    "I32",
    "I64",
    "CallFailed",
    "HostFunc",
    "Trap",
    "context_address",
    "export_extern",
    "export_func",
    "fast_func",
    "new_host_func",
]

I32 = "i32"
I64 = "i64"

_ValRaw = ffi.wasmtime_val_raw_t
RAW_SIZE = ctypes.sizeof(_ValRaw)

# Own function objects (not the ones ``_bindings`` configured) with cheap argument types.
_call_unchecked = ffi.dll["wasmtime_func_call_unchecked"]
_call_unchecked.restype = ctypes.c_void_p
_call_unchecked.argtypes = (
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_void_p,
)

_HostCallback = ffi.wasmtime_func_unchecked_callback_t

# The host exception of the current thread's failing guest call (see the module docstring).
_pending = threading.local()
_NO_FINALIZER = ctypes.cast(0, ctypes.CFUNCTYPE(None, ctypes.c_void_p))


class CallFailed(Exception):
    """A raw call trapped or failed; ``message`` is wasmtime's text, ``cause`` any host
    exception that a Python host function raised while the guest was running."""

    def __init__(self, message: str, cause: BaseException | None = None):
        super().__init__(message)
        self.message = message
        self.cause = cause


def context_address(store: wasmtime.Store) -> int:
    """Address of the store's ``wasmtime_context_t`` (stable for the store's lifetime)."""
    return ctypes.cast(store._context(), ctypes.c_void_p).value or 0


def _describe_failure(err: int | None, trap: ctypes.c_void_p) -> CallFailed:
    cause = getattr(_pending, "exc", None)
    _pending.exc = None
    if trap.value:
        ptr = ctypes.cast(trap.value, ctypes.POINTER(ffi.wasm_trap_t))
        trap.value = None
        message = str(wasmtime.Trap._from_ptr(ptr))
    elif err:
        ptr = ctypes.cast(err, ctypes.POINTER(ffi.wasmtime_error_t))
        message = str(wasmtime.WasmtimeError._from_ptr(ptr))
    else:  # pragma: no cover - defensive
        message = "unknown wasm failure"
    if cause is not None:
        message = f"{message} (host exception: {cause!r})"
    return CallFailed(message, cause)


_FACTORIES: dict[tuple[tuple[str, ...], tuple[str, ...]], Callable[..., Any]] = {}


def _factory(params: tuple[str, ...], results: tuple[str, ...]) -> Callable[..., Any]:
    """Compile (once per signature) a factory of specialised call closures."""
    key = (params, results)
    fac = _FACTORIES.get(key)
    if fac is not None:
        return fac
    n = max(len(params), len(results), 1)
    slots = ", ".join(f"s{i}" for i in range(n))
    args = ", ".join(f"a{i}" for i in range(len(params)))
    src = [f"def factory(call, ctx, fptr, bufp, n, trapp, trap, describe, {slots}):"]
    src.append(f"    def fast({args}):")
    for i, k in enumerate(params):
        src.append(f"        s{i}.{'i32' if k == I32 else 'i64'} = a{i}")
    src.append("        err = call(ctx, fptr, bufp, n, trapp)")
    src.append("        if err or trap.value:")
    src.append("            raise describe(err, trap)")
    if results:
        src.append(f"        return s0.{'i32' if results[0] == I32 else 'i64'}")
    src.append("    return fast")
    ns: dict[str, Any] = {}
    exec("\n".join(src), ns)  # noqa: S102 - generated from a fixed template
    fac = _FACTORIES[key] = ns["factory"]
    return fac


def fast_func(
    store_ctx: int,
    name: str,
    func: wasmtime.Func,
    params: tuple[str, ...],
    results: tuple[str, ...],
) -> Callable[..., Any]:
    """Wrap a wasm function for cheap calls; returns a plain Python function.

    Arguments are ints (i32 values may be given unsigned; they are truncated to 32 bits).
    It returns the single result as an int (i32 results are signed: mask pointers with
    ``& 0xFFFFFFFF``), or ``None`` for a function without results, and raises
    :class:`CallFailed` on a trap. The generated code does one attribute store per argument
    and one ctypes call: no boxing, no type queries, no loops.
    """
    n = max(len(params), len(results), 1)
    buf = (_ValRaw * n)()
    trap = ctypes.c_void_p()
    raw_func = func._func
    slots = [_ValRaw.from_buffer(buf, i * RAW_SIZE) for i in range(n)]  # views keep buf alive
    fn = _factory(params, results)(
        _call_unchecked,
        store_ctx,
        ctypes.addressof(raw_func),
        ctypes.addressof(buf),
        n,
        ctypes.addressof(trap),
        trap,
        _describe_failure,
        *slots,
    )
    fn.__name__ = name
    fn.wasm_func = raw_func  # keep the wasmtime_func_t alive with the closure
    fn.params = params
    fn.results = results
    return fn


def _valkind(t: wasmtime.ValType) -> str:
    s = str(t)
    if s not in (I32, I64):
        raise TypeError(f"unsupported wasm value type {s}")
    return s


def export_func(
    store: wasmtime.Store,
    store_ctx: int,
    instance: wasmtime.Instance,
    name: str,
    sig_cache: dict[str, tuple[tuple[str, ...], tuple[str, ...]]],
) -> Callable[..., Any]:
    """Look up one export lazily (no eager wrapping of all exports) and wrap it."""
    item = ffi.wasmtime_extern_t()
    raw = name.encode()
    ok = ffi.wasmtime_instance_export_get(
        store._context(), ctypes.byref(instance._instance), raw, len(raw), ctypes.byref(item)
    )
    if not ok or item.kind != ffi.WASMTIME_EXTERN_FUNC.value:
        raise KeyError(f"wasm export {name!r} not found (is the module patched?)")
    func = wasmtime.Func._from_raw(item.of.func)
    sig = sig_cache.get(name)
    if sig is None:
        ty = func.type(store)
        sig = (tuple(_valkind(t) for t in ty.params), tuple(_valkind(t) for t in ty.results))
        sig_cache[name] = sig
    return fast_func(store_ctx, name, func, sig[0], sig[1])


def export_extern(store: wasmtime.Store, instance: wasmtime.Instance, name: str) -> Any:
    """Look up one non-function export (memory, table, global) lazily."""
    item = ffi.wasmtime_extern_t()
    raw = name.encode()
    ok = ffi.wasmtime_instance_export_get(
        store._context(), ctypes.byref(instance._instance), raw, len(raw), ctypes.byref(item)
    )
    if not ok:
        raise KeyError(f"wasm export {name!r} not found")
    return wrap_extern(item)


class HostFunc:
    """A host function made by :func:`new_host_func`; ``func`` goes into the table. Keep
    this object alive as long as the store: it owns the ctypes thunk wasmtime calls."""

    __slots__ = ("func", "_cb", "_ty")

    def __init__(self, func: wasmtime.Func, cb: Any, ty: wasmtime.FuncType):
        self.func = func
        self._cb = cb  # the ctypes thunk must outlive the store
        self._ty = ty


class Trap(Exception):
    """Raise inside a host function implementation to make the guest trap."""


_FUNC_TYPES: dict[tuple[tuple[str, ...], tuple[str, ...]], wasmtime.FuncType] = {}


def new_host_func(
    store: wasmtime.Store,
    params: tuple[str, ...],
    results: tuple[str, ...],
    impl: Callable[..., int | None],
) -> HostFunc:
    """Create a host function; ``impl(*args) -> int | None``.

    ``impl`` may raise :class:`Trap` to trap the guest; any other exception also traps (and
    is parked in this thread's slot so the failing call on this thread reports it).
    """
    ty = _FUNC_TYPES.get((params, results))
    if ty is None:
        vt = {I32: wasmtime.ValType.i32(), I64: wasmtime.ValType.i64()}
        ty = wasmtime.FuncType([vt[p] for p in params], [vt[r] for r in results])
        _FUNC_TYPES[(params, results)] = ty
    nparams = len(params)
    fields = tuple("i32" if p == I32 else "i64" for p in params)
    res_field = ("i32" if results[0] == I32 else "i64") if results else None

    def thunk(_env: Any, _caller: Any, vals: Any, _n: int) -> int:
        try:
            args = [getattr(vals[i], fields[i]) for i in range(nparams)]
            r = impl(*args)
            if res_field is not None:
                setattr(vals[0], res_field, r)
            return 0
        except BaseException as e:  # noqa: BLE001 - must never unwind through C
            if not isinstance(e, Trap):
                _pending.exc = e
            try:
                msg = str(e).encode("utf-8", "replace") or b"host function failed"
            except BaseException:  # noqa: BLE001 - a broken __str__ must not unwind into C
                msg = b"host function failed"
            trap = ffi.wasmtime_trap_new(msg, len(msg))
            return ctypes.cast(trap, ctypes.c_void_p).value or 0

    cb = _HostCallback(thunk)
    out = ffi.wasmtime_func_t()
    ffi.wasmtime_func_new_unchecked(
        store._context(), ty.ptr(), cb, None, _NO_FINALIZER, ctypes.byref(out)
    )
    return HostFunc(wasmtime.Func._from_raw(out), cb, ty)
