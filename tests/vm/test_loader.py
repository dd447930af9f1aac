"""The wasm export patcher and the compiled-module cache."""

from __future__ import annotations

import json
import os

import pytest
import wasmtime

from wfctl.vm import loader, wasm_patch
from wfctl.vm.wasm_patch import API, PatchError, patch

from ._support import run_worker


@pytest.fixture(scope="module")
def raw_wasm() -> bytes:
    return loader.locate_wasm().read_bytes()


def test_wasm_is_the_pinned_binary(raw_wasm):
    import hashlib

    assert hashlib.sha256(raw_wasm).hexdigest() == loader.WASM_SHA256


def test_patch_exports_the_api(raw_wasm):
    engine = wasmtime.Engine()
    original = {e.name for e in wasmtime.Module(engine, raw_wasm).exports}
    assert "JS_Eval" not in original  # why the patch exists
    patched = patch(raw_wasm)
    mod = wasmtime.Module(engine, patched)
    exports = {e.name: e.type for e in mod.exports}
    assert original <= set(exports)
    for name in API:
        assert isinstance(exports[name], wasmtime.FuncType), name
    assert isinstance(exports["__indirect_function_table"], wasmtime.TableType)
    assert exports["__indirect_function_table"].limits.max is None  # growable
    assert isinstance(exports["__stack_pointer"], wasmtime.GlobalType)
    sig = exports["JS_Call"]
    assert [str(t) for t in sig.params] == ["i32", "i64", "i64", "i32", "i32"]
    assert [str(t) for t in sig.results] == ["i64"]


def test_patch_is_deterministic_and_refuses_twice(raw_wasm):
    patched = patch(raw_wasm)
    assert patch(raw_wasm) == patched
    assert wasm_patch.is_patched(patched) and not wasm_patch.is_patched(raw_wasm)
    with pytest.raises(PatchError, match="already patched"):
        patch(patched)


def test_patch_rejects_unknown_names_and_garbage(raw_wasm):
    with pytest.raises(PatchError, match="JS_NoSuchFunction"):
        patch(raw_wasm, API + ("JS_NoSuchFunction",))
    with pytest.raises(PatchError, match="not a WebAssembly"):
        patch(b"\x7fELF not wasm")


def test_corrupt_cache_entry_is_recompiled(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("WFCTL_CACHE_DIR", str(tmp_path))
    rt = loader.Runtime()
    assert rt.stats.source == "compiled"
    path = rt.cache_path
    assert path.parent == tmp_path and path.exists()
    assert loader.Runtime().stats.source == "disk-cache"

    # flip bytes in the middle of the compiled code
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = bytes(64)
    path.write_bytes(bytes(data))
    with caplog.at_level("INFO", logger="wfctl.vm"):
        rt2 = loader.Runtime()
    assert rt2.stats.source == "compiled"
    assert "corrupt" in caplog.text
    assert loader.Runtime().stats.source == "disk-cache"  # rewritten

    # garbage in place of the module, and a missing checksum file
    path.write_bytes(b"garbage")
    path.with_name(path.name + ".crc").write_text(json.dumps({"size": 7, "crc32": 0}))
    assert loader.Runtime().stats.source == "compiled"
    os.unlink(path.with_name(path.name + ".crc"))
    assert loader.Runtime().stats.source == "compiled"


def test_unwritable_cache_is_not_fatal(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("WFCTL_CACHE_DIR", str(blocker / "sub"))  # cannot mkdir under a file
    rt = loader.Runtime()
    assert rt.stats.source == "compiled"


def test_cache_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("WFCTL_CACHE_DIR", str(tmp_path / "a"))
    assert loader.cache_dir() == tmp_path / "a"
    monkeypatch.delenv("WFCTL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert loader.cache_dir() == tmp_path / "xdg" / "wfctl"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert loader.cache_dir().parts[-2:] == (".cache", "wfctl")


def test_fresh_process_loads_from_cache():
    loader.get_runtime()  # make sure the default cache is populated
    out = json.loads(run_worker("cache-load"))
    assert out["source"] == "disk-cache"


def test_unexpected_wasm_binary_is_refused(tmp_path, raw_wasm):
    bad = tmp_path / "qjs.wasm"
    bad.write_bytes(raw_wasm[:-1] + bytes([raw_wasm[-1] ^ 1]))
    with pytest.raises(loader.VMError, match="unexpected QuickJS wasm .* sha256"):
        loader.Runtime(wasm_path=bad, use_cache=False)
