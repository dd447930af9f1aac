"""Host functions QuickJS calls through the wasm function table, and the lazy export table.

They are installed at fixed table indices (right after the module's own 588 entries) in the
order of :data:`HOST_FUNCS`, both at boot and at restore, because the guest keeps their
indices as C function pointers inside the snapshot:

* ``interrupt_handler(rt, opaque) -> int``: QuickJS polls it every ~10k bytecodes; returns
  1 after the call's deadline (uncatchable ``InternalError: interrupted`` in the guest).
* ``module_normalize(ctx, base, name, opaque) -> char*``: calls the VM's
  :data:`~wfctl.vm.modules.ModuleLoader`, remembers the source, returns the resolved name.
* ``module_loader(ctx, name, opaque, attrs) -> JSModuleDef*``: compiles the remembered
  source (``JS_Eval`` MODULE|COMPILE_ONLY, re-entering the guest).
* ``console_write(ctx, this, argc, argv) -> JSValue``: a ``JSCFunction`` behind the guest's
  ``console`` object (see :data:`CONSOLE_SHIM`).

The callbacks never let a Python exception unwind through C: loader errors become JS
exceptions, a ``KeyboardInterrupt`` is parked in :attr:`HostState.pending_exc` (and re-raised
by the VM after the guest unwound), and a trap inside a nested guest call is propagated as a
trap.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable
from typing import Any

import wasmtime

from .abi import (
    EVAL_COMPILE_ONLY,
    EVAL_MODULE,
    MASK32,
    S_CB_PLEN,
    STR_OFF,
    TAG_EXCEPTION,
    TAG_MODULE,
    UNDEFINED,
)
from .fastcall import CallFailed, Trap, export_func
from .modules import ModuleLoader
from .wasi import WasiState

__all__ = ["HOST_FUNCS", "CONSOLE_SHIM", "Exports", "HostState", "make_host_impls"]

HOST_FUNCS = ("interrupt_handler", "module_normalize", "module_loader", "console_write")

_monotonic = time.monotonic


class Exports:
    """Lazy export table: an export is looked up and wrapped on first attribute access."""

    def __init__(
        self,
        store: wasmtime.Store,
        ctx_addr: int,
        instance: wasmtime.Instance,
        sigs: dict[str, tuple[tuple[str, ...], tuple[str, ...]]],
    ):
        self._store = store
        self._ctx = ctx_addr
        self._instance = instance
        self._sigs = sigs

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("__"):
            raise AttributeError(name)
        fn = export_func(self._store, self._ctx, self._instance, name, self._sigs)
        setattr(self, name, fn)
        return fn


class HostState:
    """State shared between a VM and its host functions. Kept apart from the VM so the
    callbacks do not keep the VM alive (no reference cycles through ctypes thunks)."""

    __slots__ = (
        "deadline",
        "timed_out",
        "pending_exc",
        "modules",
        "sources",
        "x",
        "base",
        "wasi",
        "scratch",
    )

    def __init__(self, wasi: WasiState, modules: ModuleLoader | None):
        self.deadline = float("inf")
        self.timed_out = False
        self.pending_exc: BaseException | None = None
        self.modules = modules
        self.sources: dict[str, str] = {}  # resolved name -> source, between the 2 callbacks
        self.x: Exports | None = None
        self.base = 0  # linear memory base address
        self.wasi = wasi
        self.scratch = 0

    def cstr(self, ptr: int) -> str:
        return ctypes.string_at(self.base + (ptr & MASK32)).decode("utf-8", "replace")

    def value_str(self, ctx: int, v: int) -> str | None:
        """``String(v)`` (``None`` if the conversion threw; the exception is dropped)."""
        x = self.x
        assert x is not None
        plen = self.scratch + S_CB_PLEN
        p = x.JS_ToCStringLen2(ctx, plen, v, 0) & MASK32
        if not p:
            x.JS_FreeValue(ctx, x.JS_GetException(ctx))
            return None
        n = ctypes.c_uint32.from_address(self.base + plen).value
        s = ctypes.string_at(self.base + p, n).decode("utf-8", "surrogatepass")
        x.JS_FreeCString(ctx, p)
        return s

    def throw(self, ctx: int, kind: str, message: str) -> None:
        """Throw a ``kind`` error (ReferenceError, InternalError, TypeError...) in the guest.
        QuickJS formats the message into a 256-byte buffer: long messages are cut."""
        x = self.x
        assert x is not None
        msg = message.encode("utf-8", "replace")
        if len(msg) > 250:
            msg = msg[:247].decode("utf-8", "ignore").encode() + b"..."
        block = x.malloc(8 + len(msg) + 1) & MASK32
        if not block:
            return  # no memory left: QuickJS cannot allocate an error either
        ctypes.c_uint32.from_address(self.base + block).value = block + 8  # va_list: [char*]
        ctypes.memmove(self.base + block + 8, msg + b"\0", len(msg) + 1)
        getattr(x, f"JS_Throw{kind}")(ctx, self.scratch + STR_OFF["%s"], block)
        x.free(block)


def make_host_impls(
    host: HostState,
) -> list[tuple[tuple[str, ...], tuple[str, ...], Callable[..., Any]]]:
    """``(params, results, impl)`` for each of :data:`HOST_FUNCS`, in table order."""

    def interrupt_handler(_rt: int, _opaque: int) -> int:
        if host.pending_exc is not None:
            return 1
        try:
            if _monotonic() > host.deadline:
                host.timed_out = True
                return 1
        except BaseException as e:  # a KeyboardInterrupt delivered here: stop the guest
            host.pending_exc = e
            return 1
        return 0

    def module_normalize(ctx: int, base_p: int, name_p: int, _opaque: int) -> int:
        x = host.x
        assert x is not None
        try:
            base = host.cstr(base_p)
            name = host.cstr(name_p)
            loader = host.modules
            try:
                if loader is None:
                    raise LookupError("this VM has no module loader")
                resolved, source = loader(base, name)
                if not isinstance(resolved, str) or not isinstance(source, str):
                    raise TypeError("the module loader must return (name, source) strings")
            except Exception as e:
                why = e.args[0] if isinstance(e, KeyError) and len(e.args) == 1 else e
                host.throw(
                    ctx,
                    "ReferenceError",
                    f"could not load module '{name}' imported from '{base}': {why}",
                )
                return 0
            host.sources[resolved] = source
            b = resolved.encode("utf-8", "surrogatepass") + b"\0"
            p: int = x.js_malloc(ctx, len(b)) & MASK32  # QuickJS frees it with js_free
            if p:
                ctypes.memmove(host.base + p, b, len(b))
            return p
        except CallFailed as e:
            raise Trap(e.message) from None
        except Exception as e:  # a host bug: report it in the guest rather than trap
            host.throw(ctx, "InternalError", f"module resolution failed: {e!r}")
            return 0
        except BaseException as e:
            host.pending_exc = e
            host.throw(ctx, "InternalError", "interrupted")
            return 0

    def module_loader(ctx: int, name_p: int, _opaque: int, _attrs: int) -> int:
        x = host.x
        assert x is not None
        try:
            name = host.cstr(name_p)
            source = host.sources.pop(name, None)
            if source is None:
                host.throw(ctx, "ReferenceError", f"could not load module '{name}'")
                return 0
            src = source.encode("utf-8", "surrogatepass")
            fname = name.encode("utf-8", "surrogatepass")
            n = len(src) + len(fname) + 2
            p = x.malloc(n) & MASK32  # not the VM's I/O buffer: the outer call may use it
            if not p:
                host.throw(ctx, "InternalError", "out of memory")
                return 0
            ctypes.memmove(host.base + p, src + b"\0" + fname + b"\0", n)
            r: int = x.JS_Eval(ctx, p, len(src), p + len(src) + 1, EVAL_MODULE | EVAL_COMPILE_ONLY)
            x.free(p)
            tag = r >> 32
            if tag == TAG_EXCEPTION:
                return 0  # the exception stays pending: QuickJS reports it
            if tag != TAG_MODULE:
                x.JS_FreeValue(ctx, r)
                host.throw(ctx, "InternalError", f"'{name}' did not compile to a module")
                return 0
            x.JS_FreeValue(ctx, r)  # the module stays referenced by the runtime
            return r & MASK32
        except CallFailed as e:
            raise Trap(e.message) from None
        except Exception as e:
            host.throw(ctx, "InternalError", f"module loading failed: {e!r}")
            return 0
        except BaseException as e:
            host.pending_exc = e
            host.throw(ctx, "InternalError", "interrupted")
            return 0

    def console_write(ctx: int, _this: int, argc: int, argv: int) -> int:
        try:
            if argc >= 2:
                a = host.base + (argv & MASK32)
                stream = ctypes.c_int64.from_address(a).value & MASK32
                text = host.value_str(ctx, ctypes.c_int64.from_address(a + 8).value)
                host.wasi.emit(
                    2 if stream == 2 else 1, (text or "").encode("utf-8", "surrogatepass")
                )
            return UNDEFINED
        except CallFailed as e:
            raise Trap(e.message) from None
        except Exception:
            return UNDEFINED
        except BaseException as e:
            host.pending_exc = e
            return UNDEFINED

    i32, i64 = "i32", "i64"
    return [
        ((i32, i32), (i32,), interrupt_handler),
        ((i32, i32, i32, i32), (i32,), module_normalize),
        ((i32, i32, i32, i64), (i32,), module_loader),
        ((i32, i64, i32, i32), (i64,), console_write),
    ]


#: Evaluated once at boot with the ``console_write`` C function; defines ``console``
#: (log/info/debug -> stdout, warn/error/trace -> stderr) with a small util.inspect-like
#: formatter. Nothing else is added to the global object.
CONSOLE_SHIM = r"""
(function (write) {
  "use strict";
  const fmt = (v, top, seen, depth) => {
    switch (typeof v) {
      case "string": return top ? v : JSON.stringify(v);
      case "bigint": return v + "n";
      case "symbol": return v.toString();
      case "undefined": return "undefined";
      case "function": return "[Function " + (v.name || "(anonymous)") + "]";
      case "object": break;
      default: return String(v);
    }
    if (v === null) return "null";
    if (v instanceof Error) {
      const head = v.name + ": " + v.message;
      return v.stack ? head + "\n" + String(v.stack).replace(/\n$/, "") : head;
    }
    if (v instanceof Date) return isNaN(v) ? "Invalid Date" : v.toISOString();
    if (seen.includes(v)) return "[Circular]";
    if (depth > 5) return Array.isArray(v) ? "[Array]" : "[Object]";
    seen.push(v);
    try {
      const f = (x) => fmt(x, false, seen, depth + 1);
      if (Array.isArray(v)) return "[ " + v.map(f).join(", ") + " ]";
      if (v instanceof Map)
        return "Map(" + v.size + ") { " + [...v].map(([k, x]) => f(k) + " => " + f(x)).join(", ") + " }";
      if (v instanceof Set) return "Set(" + v.size + ") { " + [...v].map(f).join(", ") + " }";
      const keys = Object.keys(v);
      if (!keys.length) return "{}";
      return "{ " + keys.map((k) => k + ": " + f(v[k])).join(", ") + " }";
    } catch (e) {
      return "[object]";
    } finally {
      seen.pop();
    }
  };
  const line = (args) => args.map((a) => fmt(a, true, [], 0)).join(" ");
  const out = (stream) => function (...args) { write(stream, line(args)); };
  const console = {
    log: out(1), info: out(1), debug: out(1), warn: out(2), error: out(2), trace: out(2),
  };
  Object.defineProperty(globalThis, "console", {
    value: console, writable: true, configurable: true, enumerable: false,
  });
})
"""
