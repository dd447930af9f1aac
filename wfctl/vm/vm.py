"""The QuickJS VM: boot, modules, calls, limits, snapshot/restore (ARCHITECTURE.md §3).

One :class:`VM` = one wasmtime ``Store`` + instance of the patched QuickJS-NG reactor, with a
raw ``JS_NewRuntime`` + ``JS_NewContext`` (no ``qjs:std``/``qjs:os``, no filesystem; a
``console`` object routed to the host). The whole guest state lives in linear memory, so a
snapshot is a copy of it (see ``/work/shared/reference/quickjs-wasm-host.md``).

Semantics worth knowing:

* Values cross the boundary as UTF-8 strings (``call``) or JSON (``eval``). Lengths are used
  both ways, so NUL characters and non-BMP characters round-trip; lone surrogates travel as
  WTF-8 (``surrogatepass``).
* ``call(fn, arg)`` calls ``globalThis[fn]`` with ``undefined`` as ``this``. The function is
  looked up once per VM and its handle cached (the cache is part of the snapshot), so
  reassigning ``globalThis[fn]`` later is not seen. A non-string result is converted with
  ``String()``; ``undefined``/``null`` give ``None``; **a Promise result gives ``None``**: the
  caller runs :meth:`VM.run_jobs` and reads the outcome through another call.
* Jobs (promise reactions) only run inside :meth:`VM.run_jobs` and at the end of
  :meth:`VM.eval_module`. A job that throws raises :class:`JSException` from ``run_jobs``
  (later jobs stay queued). Unhandled promise rejections are *not* reported: the runtime must
  observe the promises it cares about.
* Every public call gets the execution budget (``call_budget_s``) as a deadline. The QuickJS
  interrupt handler (a Python host function in the function table, polled every ~10k
  bytecodes) then stops the guest with an uncatchable error and the host raises
  :class:`VMTimeout`. The VM stays usable, but async work that was interrupted is left
  half-done: restoring the last snapshot is the safe reaction. There is no poll inside a
  single long-running C builtin: for those, a wall-clock backstop (wasmtime epoch
  interruption, see ``epoch.py``) traps the guest shortly after the budget; that raises
  :class:`VMTimeout` with ``discarded = True`` and the VM is unusable afterwards.
* ``memory_limit`` is QuickJS's allocator limit (``JS_SetMemoryLimit``): exceeding it throws a
  catchable ``InternalError: out of memory`` in JS (in extreme cases the thrown value is
  ``null``: there was no memory left to build the error); uncaught, :class:`VMOutOfMemory`.
  The store also caps linear memory (``memory_limit * 1.5 + 32 MiB``) as a hard backstop.
* A wasm trap (deep recursion -> "call stack exhausted", ``unreachable``...) raises
  :class:`VMTrap` and kills this VM (every later call raises :class:`VMTrap`, ``snapshot()``
  refuses); boot or restore a new one. The Python process is unaffected.
* A VM is not thread-safe: use it from one thread at a time. The guest runs on the calling
  thread's native stack and may use 1 MiB of it (plus host frames): the default 8 MiB thread
  stacks are fine, tiny ``threading.stack_size()`` values are not.
"""

from __future__ import annotations

import ctypes
import json
import re
import threading
import time
from collections import OrderedDict
from typing import Any

import wasmtime
from wasmtime import _ffi as _wt_ffi

from . import loader as _loader
from .abi import (
    EVAL_GLOBAL,
    EVAL_MODULE,
    MASK32,
    PROMISE_PENDING,
    PROMISE_REJECTED,
    S_ARGV,
    S_PCTX,
    S_PLEN,
    SCRATCH_SIZE,
    STR_OFF,
    TAG_BOOL,
    TAG_EXCEPTION,
    TAG_INT,
    TAG_NULL,
    TAG_OBJECT,
    TAG_STRING,
    TAG_UNDEFINED,
    UNDEFINED,
    is_float,
    to_float,
    to_int32,
)
from .epoch import NO_DEADLINE, backstop_ticks, ensure_ticking
from .errors import (
    JSException,
    SnapshotIncompatible,
    VMError,
    VMOutOfMemory,
    VMTimeout,
    VMTrap,
)
from .fastcall import CallFailed, context_address, export_extern, new_host_func
from .hostfuncs import CONSOLE_SHIM, HOST_FUNCS, Exports, HostState, make_host_impls
from .modules import ModuleLoader, mapping_loader
from .snapshot import FORMAT, WASM_PAGE, Snapshot
from .wasi import ConsoleFn, WasiState

__all__ = ["VM", "ModuleLoader", "mapping_loader"]

_IO_INITIAL = 4096
_PRISTINE_MAX = 4
_pristine_lock = threading.Lock()
_monotonic = time.monotonic
_memmove = ctypes.memmove
_string_at = ctypes.string_at
_i64_at = ctypes.c_int64.from_address
_u32_at = ctypes.c_uint32.from_address

# "    at fn (file:12:5)" / "    at file:12:5" / "    at fn (file:12)"
_FRAME_RE = re.compile(r"^\s*at (?:.*? \()?(?P<file>.+?):(?P<line>\d+)(?::\d+)?\)?\s*$")


def _location(stack: str | None) -> tuple[str | None, int | None]:
    """File and line of the first frame of a QuickJS ``error.stack`` (skipping native
    frames and ``<input>``, the pseudo-file of ``JSON.parse`` errors)."""
    if not stack:
        return None, None
    for ln in stack.splitlines():
        m = _FRAME_RE.match(ln)
        if m and m["file"] not in ("native", "<input>"):
            return m["file"], int(m["line"])
    return None, None


class VM:
    """A QuickJS-NG VM in a wasmtime store. Create with :meth:`boot` or :meth:`restore`."""

    def __init__(
        self,
        *,
        _token: object = None,
        clock_ms: int = 0,
        modules: ModuleLoader | None = None,
        console: ConsoleFn | None = None,
        call_budget_s: float | None = 5.0,
        wasm_cap: int | None = None,
    ):
        if _token is not _TOKEN:
            raise TypeError("use VM.boot() or VM.restore()")
        rt = _loader.get_runtime()
        self._rt = rt
        self._closed = False
        self._dead: str | None = None
        self._busy = False
        self._budget = float(call_budget_s) if call_budget_s and call_budget_s > 0 else None
        self._wasi = WasiState(clock_ms, console)
        store = wasmtime.Store(rt.engine, data=self._wasi)
        if wasm_cap is not None:
            store.set_limits(memory_size=wasm_cap)
        self._store = store
        # The backstop deadline is set per call (_begin/call_int); none outside calls.
        ensure_ticking(rt.engine)
        self._epoch_ticks = backstop_ticks(self._budget)
        _ctx_ptr = store._context()
        _set = _wt_ffi.wasmtime_context_set_epoch_deadline
        self._set_deadline = lambda ticks: _set(_ctx_ptr, ticks)
        self._set_deadline(NO_DEADLINE)
        self._instance = rt.instance_pre.instantiate(store)
        self.x = x = Exports(store, context_address(store), self._instance, rt.signatures)
        self._memory: wasmtime.Memory = export_extern(store, self._instance, "memory")
        self._table: wasmtime.Table = export_extern(
            store, self._instance, "__indirect_function_table"
        )
        self._sp_global: wasmtime.Global = export_extern(store, self._instance, "__stack_pointer")
        self._sp0 = self._sp_global.value(store)
        self._host = HostState(self._wasi, modules)
        self._host.x = x
        self._refresh_base()
        # host functions at deterministic table indices (the same on boot and restore)
        self._host_funcs = [
            new_host_func(store, params, results, impl)
            for params, results, impl in make_host_impls(self._host)
        ]
        self._table_base = self._table.size(store)
        for hf in self._host_funcs:
            self._table.grow(store, 1, hf.func)
        # guest pointers, set by _boot_raw / _load_image
        self._rt_ptr = 0
        self._ctx = 0
        self._scratch = 0
        self._io = 0
        self._io_cap = 0
        self._fns: dict[str, int] = {}
        self._memory_limit = 0
        self._js_call = x.JS_Call

    def _refresh_base(self) -> None:
        ptr = self._memory.data_ptr(self._store)
        self._base = ctypes.cast(ptr, ctypes.c_void_p).value or 0
        self._host.base = self._base

    @classmethod
    def boot(
        cls,
        *,
        modules: ModuleLoader | None = None,
        clock_ms: int = 0,
        memory_limit: int = 64 << 20,
        call_budget_s: float = 5.0,
        console: ConsoleFn | None = None,
    ) -> VM:
        """A fresh VM. ``clock_ms`` is the guest clock (``Date.now()``; it also seeds
        ``Math.random``, so equal clocks give equal sequences). ``memory_limit`` in bytes
        (0 = none); ``call_budget_s`` per public call (``None``/0 = unlimited);
        ``console(stream, text)`` receives ``console.*`` output (``stream`` is ``"stdout"``
        for log/info/debug, ``"stderr"`` for warn/error/trace; default: the ``wfctl.vm``
        logger).

        The first boot at a given clock in a process is a real one (``_initialize``,
        ``JS_NewRuntime``, ``JS_NewContext``, handlers, console) and keeps a copy of the
        resulting "pristine" memory; later boots at that clock restore the copy (an LRU of
        a few clocks). Both paths give byte-identical guests.
        """
        clock = int(clock_ms)
        limit = int(memory_limit or 0)
        snap = _pristine_get(clock)
        if snap is not None:
            return cls._from_snapshot(
                snap,
                modules=modules,
                console=console,
                call_budget_s=call_budget_s,
                memory_limit=limit,
                clock_ms=clock,
            )
        vm = cls(
            _token=_TOKEN,
            clock_ms=clock,
            modules=modules,
            console=console,
            call_budget_s=call_budget_s,
            wasm_cap=_wasm_cap(limit),
        )
        try:
            vm._boot_raw()
            _pristine_put(clock, vm.snapshot())
            if limit:  # as _from_snapshot does: the pristine image has no limit
                vm._set_memory_limit(limit)
        except BaseException:
            vm.close()
            raise
        return vm

    @classmethod
    def restore(
        cls,
        snap: Snapshot,
        *,
        modules: ModuleLoader | None = None,
        console: ConsoleFn | None = None,
        call_budget_s: float = 5.0,
        memory_limit: int | None = None,
        clock_ms: int | None = None,
    ) -> VM:
        """Resume a snapshot in a fresh store/instance (this or another process).

        ``memory_limit``/``clock_ms`` default to the snapshot's. Raises
        :class:`SnapshotIncompatible` for a snapshot of another wasm binary or format.
        """
        return cls._from_snapshot(
            snap,
            modules=modules,
            console=console,
            call_budget_s=call_budget_s,
            memory_limit=memory_limit,
            clock_ms=clock_ms,
        )

    @classmethod
    def _from_snapshot(
        cls,
        snap: Snapshot,
        *,
        modules: ModuleLoader | None,
        console: ConsoleFn | None,
        call_budget_s: float | None,
        memory_limit: int | None,
        clock_ms: int | None,
    ) -> VM:
        meta = snap.meta
        rt = _loader.get_runtime()
        if meta.get("format") != FORMAT:
            raise SnapshotIncompatible(
                f"snapshot format {meta.get('format')!r} is not supported (expected {FORMAT})"
            )
        if meta.get("wasm_sha256") != rt.wasm_sha256:
            raise SnapshotIncompatible(
                "snapshot was made by a different QuickJS wasm binary "
                f"(sha256 {meta.get('wasm_sha256')!r}, this host runs {rt.wasm_sha256})"
            )
        if len(snap.memory) % WASM_PAGE:
            raise SnapshotIncompatible("corrupt snapshot: memory size is not a page multiple")
        limit = int(meta.get("memory_limit", 0)) if memory_limit is None else int(memory_limit)
        cap = _wasm_cap(limit)
        if cap is not None and len(snap.memory) > cap:
            cap = len(snap.memory) + (32 << 20)
        vm = cls(
            _token=_TOKEN,
            clock_ms=int(meta.get("clock_ms", 0)) if clock_ms is None else clock_ms,
            modules=modules,
            console=console,
            call_budget_s=call_budget_s,
            wasm_cap=cap,
        )
        try:
            vm._load_image(snap)
            if limit != int(meta.get("memory_limit", 0)):
                vm._set_memory_limit(limit)
        except BaseException:
            vm.close()
            raise
        return vm

    def _load_image(self, snap: Snapshot) -> None:
        meta = snap.meta
        if meta.get("table_base") != self._table_base or meta.get("host_funcs") != list(HOST_FUNCS):
            raise SnapshotIncompatible(
                f"snapshot expects host functions at table index {meta.get('table_base')}, "
                f"this host puts them at {self._table_base}"
            )
        if meta.get("stack_pointer") != self._sp0:
            raise SnapshotIncompatible("snapshot was taken with a different stack layout")
        store = self._store
        pages = len(snap.memory) // WASM_PAGE
        have = self._memory.size(store)
        if pages > have:
            try:
                self._memory.grow(store, pages - have)
            except wasmtime.WasmtimeError as e:
                raise VMError(f"cannot grow guest memory to {len(snap.memory)} bytes: {e}") from e
        elif pages < have:
            raise SnapshotIncompatible("snapshot memory is smaller than a fresh instance's")
        self._refresh_base()
        mem = snap.memory
        if not isinstance(mem, bytes):  # bytearray/memoryview: copy_ranges slices it
            mem = bytes(mem)
        src = ctypes.cast(ctypes.c_char_p(mem), ctypes.c_void_p).value or 0
        for a, b in snap.copy_ranges(self._rt.data_end):
            ctypes.memmove(self._base + a, src + a, b - a)
        self._rt_ptr = int(meta["rt"])
        self._ctx = int(meta["ctx"])
        self._scratch = int(meta["scratch"])
        self._io = int(meta["io_buf"])
        self._io_cap = int(meta["io_cap"])
        self._fns = {str(k): int(v) for k, v in meta.get("functions", {}).items()}
        self._memory_limit = int(meta.get("memory_limit", 0))
        self._host.scratch = self._scratch

    def _boot_raw(self) -> None:
        """A real boot: ``_initialize``, ``JS_NewRuntime``, ``JS_NewContext``, handlers."""
        x = self.x
        try:
            x._initialize()
            rt = x.JS_NewRuntime() & MASK32
            ctx = x.JS_NewContext(rt) & MASK32 if rt else 0
            if not ctx:
                raise VMError("QuickJS failed to create its runtime/context")
            scratch = x.malloc(SCRATCH_SIZE) & MASK32
            io = x.malloc(_IO_INITIAL) & MASK32
        except CallFailed as e:
            raise VMTrap(f"boot failed: {e.message}") from None
        if not scratch or not io:
            raise VMError("out of guest memory during boot")
        self._refresh_base()
        ctypes.memset(self._base + scratch, 0, SCRATCH_SIZE)
        for s, off in STR_OFF.items():
            b = s.encode() + b"\0"
            ctypes.memmove(self._base + scratch + off, b, len(b))
        self._rt_ptr, self._ctx, self._scratch = rt, ctx, scratch
        self._io, self._io_cap = io, _IO_INITIAL
        self._host.scratch = scratch
        base = self._table_base
        x.JS_SetInterruptHandler(rt, base + HOST_FUNCS.index("interrupt_handler"), 0)
        x.JS_SetModuleLoaderFunc2(
            rt,
            base + HOST_FUNCS.index("module_normalize"),
            base + HOST_FUNCS.index("module_loader"),
            0,
            0,
        )
        # console: a C function backed by the host, wrapped by a small JS formatter
        write = x.JS_NewCFunction2(
            ctx,
            base + HOST_FUNCS.index("console_write"),
            scratch + STR_OFF["__wfctl_console"],
            2,
            0,
            0,
        )
        shim = self._eval_raw(CONSOLE_SHIM, "<wfctl:console>", EVAL_GLOBAL)
        self._write_i64(scratch + S_ARGV, write)
        r = x.JS_Call(ctx, shim, UNDEFINED, 1, scratch + S_ARGV)
        x.JS_FreeValue(ctx, shim)
        x.JS_FreeValue(ctx, write)
        if r >> 32 == TAG_EXCEPTION:
            raise self._take_exception()
        x.JS_FreeValue(ctx, r)
        self._write_i64(scratch + S_ARGV, 0)

    # -------------------------------------------------------------------------------------
    # call plumbing
    # -------------------------------------------------------------------------------------

    def _check_usable(self) -> None:
        if self._closed:
            raise VMError("this VM is closed")
        if self._dead is not None:
            raise VMTrap(f"this VM is unusable after a wasm trap: {self._dead}")
        if self._busy:
            raise VMError("re-entrant call into a busy VM (from a console or loader callback?)")

    def _begin(self) -> None:
        if self._busy or self._dead is not None or self._closed:
            self._check_usable()
        self._busy = True
        h = self._host
        h.timed_out = False
        h.deadline = _monotonic() + self._budget if self._budget else float("inf")
        self._set_deadline(self._epoch_ticks)

    def _end(self) -> None:
        self._busy = False
        if self._store is not None:
            self._set_deadline(NO_DEADLINE)
        self._host.sources.clear()
        self._wasi.flush()
        exc = self._host.pending_exc
        if exc is not None:
            self._host.pending_exc = None
            raise exc

    def _trapped(self, e: CallFailed) -> BaseException:
        """Mark the VM dead; the exception to raise (a ``KeyboardInterrupt``/``SystemExit``
        that broke into the guest is re-raised as itself)."""
        full = e.message
        if "Caused by:" in full:
            msg = full.rsplit("Caused by:", 1)[1].strip().splitlines()[0].strip()
        else:
            msg = full.strip().splitlines()[0] if full.strip() else "unknown trap"
        msg = msg.removeprefix("wasm trap: ")
        if msg == "interrupt" or msg.startswith("interrupt"):  # the epoch backstop fired
            self._dead = "stopped by the wall-clock backstop"
            timeout = VMTimeout(self._budget or 0.0)
            timeout.discarded = True
            return timeout
        if "call stack exhausted" in msg:
            msg = "call stack exhausted (too much recursion in workflow code?)"
        self._dead = msg
        err = VMTrap(f"wasm trap: {msg}")
        err.details = full  # type: ignore[attr-defined]
        if e.cause is not None:
            if not isinstance(e.cause, Exception):
                return e.cause
            err.__cause__ = e.cause
        return err

    def _write_i64(self, addr: int, v: int) -> None:
        ctypes.c_int64.from_address(self._base + addr).value = v

    def _io_reserve(self, total: int) -> None:
        """Grow the reusable I/O buffer (guest memory, part of the image) to >= total."""
        cap = self._io_cap
        while cap < total:
            cap *= 2
        p = self.x.realloc(self._io, cap) & MASK32
        if not p:
            raise VMOutOfMemory("InternalError", "out of memory")
        self._io, self._io_cap = p, cap
        self._refresh_base()

    def _io_put(self, *parts: bytes) -> int:
        """Copy NUL-terminated ``parts`` into the reusable I/O buffer; returns its address.
        Only for top-level calls: host callbacks malloc their own buffers."""
        total = sum(len(p) + 1 for p in parts)
        if total > self._io_cap:
            self._io_reserve(total)
        addr = self._base + self._io
        for part in parts:
            n = len(part)
            ctypes.memmove(addr, part, n)
            ctypes.c_char.from_address(addr + n).value = b"\0"
            addr += n + 1
        return self._io

    def _str_of(self, v: int, *, free: bool) -> str | None:
        """``String(v)`` read as UTF-8 by length; frees ``v`` if ``free``."""
        x = self.x
        ctx = self._ctx
        plen = self._scratch + S_PLEN
        p = x.JS_ToCStringLen2(ctx, plen, v, 0) & MASK32
        if free:
            x.JS_FreeValue(ctx, v)
        if not p:
            raise self._take_exception()
        n = ctypes.c_uint32.from_address(self._base + plen).value
        s = ctypes.string_at(self._base + p, n).decode("utf-8", "surrogatepass")
        x.JS_FreeCString(ctx, p)
        return s

    def _prop_str(self, obj: int, name: str) -> str | None:
        x = self.x
        ctx = self._ctx
        v = x.JS_GetPropertyStr(ctx, obj, self._scratch + STR_OFF[name])
        tag = v >> 32
        if tag == TAG_EXCEPTION:
            x.JS_FreeValue(ctx, x.JS_GetException(ctx))
            return None
        if tag in (TAG_UNDEFINED, TAG_NULL):
            return None
        try:
            return self._str_of(v, free=True)
        except JSException:
            return None

    def _exception_from(self, v: int) -> JSException:
        """Build a :class:`JSException` from a thrown value (not freed here)."""
        x = self.x
        if self._host.timed_out:
            raise VMTimeout(self._budget or 0.0)
        try:
            if x.JS_IsError(v):
                name = self._prop_str(v, "name") or "Error"
                message = self._prop_str(v, "message") or ""
                stack = self._prop_str(v, "stack")
            else:
                name = ""
                try:
                    message = self._str_of(v, free=False) or ""
                    if message == "[object Object]":  # a thrown plain object: show its JSON
                        j = x.JS_JSONStringify(self._ctx, v, UNDEFINED, UNDEFINED)
                        if j >> 32 == TAG_STRING:
                            message = self._str_of(j, free=True) or message
                        elif j >> 32 == TAG_EXCEPTION:
                            x.JS_FreeValue(self._ctx, x.JS_GetException(self._ctx))
                except JSException:
                    message = "<unprintable thrown value>"
                stack = None
        except CallFailed as e:
            raise self._trapped(e) from None
        filename, line = _location(stack)
        cls = JSException
        if name == "InternalError" and message == "out of memory":
            cls = VMOutOfMemory
        return cls(name, message, stack, filename, line)

    def _take_exception(self) -> JSException:
        x = self.x
        if self._host.timed_out:
            x.JS_FreeValue(self._ctx, x.JS_GetException(self._ctx))
            raise VMTimeout(self._budget or 0.0)
        exc = x.JS_GetException(self._ctx)
        try:
            return self._exception_from(exc)
        finally:
            x.JS_FreeValue(self._ctx, exc)

    def _eval_raw(self, code: str, filename: str, flags: int) -> int:
        src = code.encode("utf-8", "surrogatepass")
        p = self._io_put(src, filename.encode("utf-8", "surrogatepass"))
        n = len(src)
        r = self.x.JS_Eval(self._ctx, p, n, p + n + 1, flags)  # needs src[n] == 0
        if r >> 32 == TAG_EXCEPTION:
            raise self._take_exception()
        return r

    def _lookup_fn(self, fn: str) -> int:
        x = self.x
        ctx = self._ctx
        g = x.JS_GetGlobalObject(ctx)
        p = self._io_put(fn.encode("utf-8", "surrogatepass"))
        v = x.JS_GetPropertyStr(ctx, g, p)
        x.JS_FreeValue(ctx, g)
        if v >> 32 == TAG_EXCEPTION:
            raise self._take_exception()
        if not x.JS_IsFunction(ctx, v):
            x.JS_FreeValue(ctx, v)
            raise JSException("TypeError", f"globalThis.{fn} is not a function")
        self._fns[fn] = v
        return v

    def _run_jobs(self) -> int:
        x = self.x
        rt = self._rt_ptr
        pctx = self._scratch + S_PCTX
        n = 0
        while True:
            r = x.JS_ExecutePendingJob(rt, pctx)
            if r == 0:
                return n
            if r < 0:
                raise self._take_exception()
            n += 1

    # -------------------------------------------------------------------------------------
    # public API
    # -------------------------------------------------------------------------------------

    def eval_module(self, source: str, filename: str) -> None:
        """Evaluate ``source`` as an ES module named ``filename`` and run the job queue.

        Imports resolve through the VM's :data:`ModuleLoader`. Syntax, link and
        missing-module errors, and a throw at the module's top level, raise
        :class:`JSException` (with ``filename``/``line`` when QuickJS reports them). A module
        whose top-level ``await`` is still pending after the jobs ran raises
        :class:`VMError`.
        """
        self._begin()
        try:
            x = self.x
            ctx = self._ctx
            p = self._eval_raw(source, filename, EVAL_MODULE)
            try:
                self._run_jobs()
                state = x.JS_PromiseState(ctx, p)
                if state == PROMISE_REJECTED:
                    reason = x.JS_PromiseResult(ctx, p)
                    try:
                        raise self._exception_from(reason)
                    finally:
                        x.JS_FreeValue(ctx, reason)
                if state == PROMISE_PENDING:
                    raise VMError(
                        f"module {filename!r} did not finish evaluating: its top-level await "
                        "is still pending after running all jobs"
                    )
            finally:
                x.JS_FreeValue(ctx, p)
        except CallFailed as e:
            raise self._trapped(e) from None
        finally:
            self._end()

    def eval(self, code: str, filename: str = "<eval>") -> Any:
        """Evaluate a global script; returns its completion value through
        ``JSON.stringify`` + ``json.loads`` (``undefined``/functions -> ``None``). Does not
        run jobs."""
        self._begin()
        try:
            x = self.x
            ctx = self._ctx
            r = self._eval_raw(code, filename, EVAL_GLOBAL)
            tag = r >> 32
            if tag in (TAG_UNDEFINED, TAG_NULL):
                return None
            if tag == TAG_INT:
                return to_int32(r)
            if tag == TAG_BOOL:
                return bool(r & 1)
            j = x.JS_JSONStringify(ctx, r, UNDEFINED, UNDEFINED)
            x.JS_FreeValue(ctx, r)
            jt = j >> 32
            if jt == TAG_EXCEPTION:
                raise self._take_exception()
            if jt == TAG_UNDEFINED:
                return None
            text = self._str_of(j, free=True)
            return json.loads(text) if text is not None else None
        except CallFailed as e:
            raise self._trapped(e) from None
        finally:
            self._end()

    def call(self, fn: str, arg: str | None = None) -> str | None:
        """Call ``globalThis[fn](arg)`` (no argument if ``arg`` is None).

        Returns the result as a string (``String(result)``), ``None`` for
        ``undefined``/``null`` **or a Promise** (settle it with :meth:`run_jobs`). A throw
        raises :class:`JSException`.
        """
        self._begin()
        try:
            x = self.x
            ctx = self._ctx
            fv = self._fns.get(fn)
            if fv is None:
                fv = self._lookup_fn(fn)
            if arg is None:
                r = self._js_call(ctx, fv, UNDEFINED, 0, 0)
            else:
                data = arg.encode("utf-8", "surrogatepass")
                n = len(data)
                if n > self._io_cap:
                    self._io_reserve(n)
                base = self._base
                _memmove(base + self._io, data, n)  # JS_NewStringLen takes the length
                s = x.JS_NewStringLen(ctx, self._io, n)
                if s >> 32 == TAG_EXCEPTION:
                    raise self._take_exception()
                argv = self._scratch + S_ARGV
                _i64_at(base + argv).value = s
                r = self._js_call(ctx, fv, UNDEFINED, 1, argv)
                x.JS_FreeValue(ctx, s)
            tag = r >> 32
            if tag == TAG_STRING:  # inline _str_of: the common case
                plen = self._scratch + S_PLEN
                p = x.JS_ToCStringLen2(ctx, plen, r, 0) & MASK32
                x.JS_FreeValue(ctx, r)
                if not p:
                    raise self._take_exception()
                base = self._base
                out = _string_at(base + p, _u32_at(base + plen).value)
                x.JS_FreeCString(ctx, p)
                return out.decode("utf-8", "surrogatepass")
            if tag == TAG_EXCEPTION:
                raise self._take_exception()
            if tag == TAG_UNDEFINED or tag == TAG_NULL:
                return None
            if tag == TAG_OBJECT and x.JS_PromiseState(ctx, r) >= 0:
                x.JS_FreeValue(ctx, r)
                return None
            return self._str_of(r, free=True)
        except CallFailed as e:
            raise self._trapped(e) from None
        finally:
            self._end()

    def call_int(self, fn: str) -> int:
        """Call ``globalThis[fn]()`` and return its result as an int (the hot path: one
        wasm call). The result must be a number (integral) or a boolean; anything else
        raises :class:`VMError`."""
        if self._busy or self._dead is not None or self._closed:
            self._check_usable()
        fv = self._fns.get(fn)
        h = self._host
        self._busy = True
        h.timed_out = False
        h.deadline = _monotonic() + self._budget if self._budget else float("inf")
        self._set_deadline(self._epoch_ticks)
        try:
            if fv is None:
                fv = self._lookup_fn(fn)
            r = self._js_call(self._ctx, fv, UNDEFINED, 0, 0)
            tag = r >> 32
            if tag == TAG_INT:
                return to_int32(r)
            return self._int_result(r, tag, fn)
        except CallFailed as e:
            raise self._trapped(e) from None
        finally:
            self._busy = False
            if self._wasi.dirty or h.pending_exc is not None:
                self._end()

    def _int_result(self, r: int, tag: int, fn: str) -> int:
        if tag == TAG_EXCEPTION:
            raise self._take_exception()
        if tag == TAG_BOOL:
            return r & 1
        if is_float(tag):
            f = to_float(r)
            if f.is_integer():
                return int(f)
            raise VMError(f"call_int({fn!r}): result {f!r} is not an integer")
        if tag not in (TAG_UNDEFINED, TAG_NULL):
            self.x.JS_FreeValue(self._ctx, r)
        raise VMError(f"call_int({fn!r}): result is not a number (tag {tag})")

    def pin(self, names: list[str]) -> None:
        """Capture ``globalThis[name]`` (a function) for each name as this VM's call handle
        and delete the global, so code evaluated later can neither replace nor call it.
        :meth:`call`/:meth:`call_int` then always use the captured function (the handles are
        part of snapshots)."""
        self._begin()
        try:
            x = self.x
            for name in names:
                old = self._fns.pop(name, None)
                if old is not None:
                    x.JS_FreeValue(self._ctx, old)
                self._lookup_fn(name)
            code = ";".join(f"delete globalThis[{json.dumps(n)}]" for n in names)
            x.JS_FreeValue(self._ctx, self._eval_raw(code, "<wfctl:pin>", EVAL_GLOBAL))
        except CallFailed as e:
            raise self._trapped(e) from None
        finally:
            self._end()

    def run_jobs(self) -> int:
        """Run pending jobs until the queue is empty; returns how many ran. A job that
        throws raises :class:`JSException` (later jobs stay queued)."""
        self._begin()
        try:
            return self._run_jobs()
        except CallFailed as e:
            raise self._trapped(e) from None
        finally:
            self._end()

    def set_clock(self, ms: int) -> None:
        """Set the guest clock (``Date.now()``, ``performance.now()`` origin), in ms."""
        self._wasi.clock_ms = int(ms)

    @property
    def clock_ms(self) -> int:
        return self._wasi.clock_ms

    @property
    def memory_size(self) -> int:
        """Current size of the guest's linear memory (= raw snapshot size), in bytes."""
        return self._memory.data_len(self._store)

    def gc(self) -> None:
        """Run QuickJS's cycle collector (linear memory never shrinks, but freed space is
        reused)."""
        self._begin()
        try:
            self.x.JS_RunGC(self._rt_ptr)
        except CallFailed as e:
            raise self._trapped(e) from None
        finally:
            self._end()

    def snapshot(self) -> Snapshot:
        """Copy the guest memory and the host metadata. Refuses (:class:`VMTrap`/
        :class:`VMError`) on a trapped, closed or busy VM, or if the guest stack pointer is
        not at its resting value."""
        self._check_usable()
        sp = self._sp_global.value(self._store)
        if sp != self._sp0:
            self._dead = f"stack pointer is {sp}, expected {self._sp0}"
            raise VMTrap(f"refusing to snapshot an inconsistent instance ({self._dead})")
        size = self._memory.data_len(self._store)
        memory = ctypes.string_at(self._base, size)
        return Snapshot(memory, self._meta())

    def _meta(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "wasm_sha256": self._rt.wasm_sha256,
            "stack_pointer": self._sp0,
            "rt": self._rt_ptr,
            "ctx": self._ctx,
            "scratch": self._scratch,
            "io_buf": self._io,
            "io_cap": self._io_cap,
            "table_base": self._table_base,
            "host_funcs": list(HOST_FUNCS),
            "clock_ms": self._wasi.clock_ms,
            "memory_limit": self._memory_limit,
            "functions": dict(sorted(self._fns.items())),
        }

    def _set_memory_limit(self, limit: int) -> None:
        limit = min(max(0, int(limit)), MASK32)  # size_t on wasm32; 0 = no limit
        self.x.JS_SetMemoryLimit(self._rt_ptr, limit)
        self._memory_limit = limit

    def close(self) -> None:
        """Release the store (and its linear memory). Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._host.x = None
        self.x = None  # type: ignore[assignment]
        self._js_call = None  # type: ignore[assignment]
        self._instance = None  # type: ignore[assignment]
        self._memory = self._table = self._sp_global = None  # type: ignore[assignment]
        self._store = None  # type: ignore[assignment]
        self._host_funcs = []

    def __enter__(self) -> VM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("dead" if self._dead else "ok")
        return f"<VM {state} clock_ms={self._wasi.clock_ms}>"


_TOKEN = object()


def _wasm_cap(memory_limit: int) -> int | None:
    if memory_limit <= 0:
        return None
    return min((4 << 30) - WASM_PAGE, memory_limit + memory_limit // 2 + (32 << 20))


def _pristine_get(clock_ms: int) -> Snapshot | None:
    """The in-memory image of a VM just booted at ``clock_ms``, if this process has one."""
    cache: OrderedDict = _loader.get_runtime().pristine
    with _pristine_lock:
        snap = cache.get(clock_ms)
        if snap is not None:
            cache.move_to_end(clock_ms)
        return snap


def _pristine_put(clock_ms: int, snap: Snapshot) -> None:
    cache: OrderedDict = _loader.get_runtime().pristine
    with _pristine_lock:
        cache[clock_ms] = snap
        while len(cache) > _PRISTINE_MAX:
            cache.popitem(last=False)
