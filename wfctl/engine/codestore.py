"""Runs pinned to their workflow code: the app's JS modules stored once per version in the world.

At ``run_created`` the engine stores the app's workflow code — ``workflows.js`` and every JS
module it imports (not ``steps.py``, not wfctl's own in-VM runtime) — as one content-addressed
blob (``code-<sha256>``) and records the hash in ``executionContext.codeHash``. Every later
invocation of that run builds its VM bundle from that blob, whatever the files on disk say
now. ``wfctl upgrade`` moves a run onto other code by writing a per-run pointer blob
(``codepin-<runId>``) that takes precedence over the hash in ``run_created``: the event log
stays in the reference vocabulary, and a lost pointer falls back to the original code, which
reproduced the log by construction.

Blob: zstd of the canonical JSON ``{"format": "wfctl-code/1", "modules": {name: source}}``;
the hash is the SHA-256 of that JSON, and it is checked on every load: a corrupt or missing
blob is an error naming the run and the hash, never a silent fallback to other code.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import threading
import weakref
from pathlib import Path
from typing import Any

from wfctl.errors import WfctlError
from wfctl.runtime.bundle import ENTRY_NAME, ENTRY_SOURCE, RUNTIME_MODULES, Bundle, _runtime_source
from wfctl.serde.compress import compress, decompress
from worlds import World

CODE_FORMAT = "wfctl-code/1"
CODE_PREFIX = "code-"
PIN_PREFIX = "codepin-"
ENTRY_MODULE = "/workflows.js"

_STATIC = re.compile(r"""\b(?:import|export)\b[^'";]*?\bfrom\s*["']([^"']+)["']""")
_BARE = re.compile(r"""\bimport\s*["']([^"']+)["']""")
_DYNAMIC = re.compile(r"""\bimport\s*\(\s*["']([^"']+)["']\s*\)""")
_COMPUTED = re.compile(r"""\bimport\s*\(\s*(?!["'])""")


class CodeStoreError(WfctlError):
    """A run's pinned code cannot be loaded (missing or corrupt blob). Exit code 1."""


# -- which modules are "the workflow code" ---------------------------------------------------


def _resolve(base: str, spec: str, names: set[str]) -> str | None:
    if not spec.startswith(("./", "../", "/")):
        return None  # "workflow" and wfctl: modules belong to the runtime, not the app
    name = posixpath.normpath(posixpath.join(posixpath.dirname(base), spec))
    if name not in names and name + ".js" in names:
        name += ".js"
    return name if name in names else None


def app_modules(bundle: Bundle) -> dict[str, str]:
    """workflows.js and the app modules it imports, transitively (a static scan of import
    specifiers; a computed ``import(expr)`` anywhere makes every app module count)."""
    app = {
        n: s
        for n, s in bundle.sources.items()
        if n.startswith("/") and n != ENTRY_NAME and n not in RUNTIME_MODULES
    }
    if ENTRY_MODULE not in app:
        return app
    names = set(app)
    seen: set[str] = set()
    todo = [ENTRY_MODULE]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        src = app[name]
        if _COMPUTED.search(src):
            return app  # cannot know statically what it imports: keep everything
        for rx in (_STATIC, _BARE, _DYNAMIC):
            for spec in rx.findall(src):
                target = _resolve(name, spec, names)
                if target is not None and target not in seen:
                    todo.append(target)
    return {n: app[n] for n in sorted(seen)}


def encode_code(modules: dict[str, str]) -> tuple[str, bytes]:
    """(code hash, canonical JSON bytes) of a set of app modules."""
    doc = {"format": CODE_FORMAT, "modules": dict(sorted(modules.items()))}
    raw = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest(), raw


def bundle_from_modules(bundle: Bundle, modules: dict[str, str]) -> Bundle:
    """A VM bundle of the installed runtime plus exactly ``modules`` (the pinned app code)."""
    out = Bundle(app_dir=bundle.app_dir)
    for name, filename in RUNTIME_MODULES.items():
        out.sources[name] = bundle.sources.get(name) or _runtime_source(filename)
    out.sources[ENTRY_NAME] = ENTRY_SOURCE
    out.sources.update(modules)
    return out


def narrow(bundle: Bundle) -> Bundle:
    """The app's bundle restricted to its workflow code, so that the VM bundle (and with it
    the snapshot code hash) is a function of the pinned code only, whether it comes from disk
    or from the store."""
    return bundle_from_modules(bundle, app_modules(bundle))


# -- per-process caches ----------------------------------------------------------------------

_lock = threading.Lock()
_hash_of_bundle: dict[str, tuple[str, bytes]] = {}  # bundle.code_hash -> (code hash, raw)
_bundles: dict[tuple[str, str], Bundle] = {}  # (code hash, app dir) -> bundle


def code_of(bundle: Bundle) -> tuple[str, bytes]:
    with _lock:
        hit = _hash_of_bundle.get(bundle.code_hash)
    if hit is None:
        hit = encode_code(app_modules(bundle))
        with _lock:
            _hash_of_bundle[bundle.code_hash] = hit
    return hit


def code_hash(bundle: Bundle) -> str:
    return code_of(bundle)[0]


# -- the store --------------------------------------------------------------------------------


def blob_key(h: str) -> str:
    return CODE_PREFIX + h


# world -> hashes known to be stored there (by this process); weak, so that a new world
# object never inherits what an old one at the same address knew
_pinned: weakref.WeakKeyDictionary[World, set[str]] = weakref.WeakKeyDictionary()


def _known(world: World, h: str) -> bool:
    with _lock:
        return h in _pinned.get(world, ())


def _remember(world: World, h: str) -> None:
    with _lock:
        _pinned.setdefault(world, set()).add(h)


def delete_version(world: World, h: str) -> None:
    """Remove a stored code version (``wfctl gc``)."""
    world.delete_blob(blob_key(h))
    with _lock:
        _pinned.get(world, set()).discard(h)


def pin(world: World, bundle: Bundle) -> str:
    """Store the bundle's workflow code (once per version); returns its hash."""
    h, raw = code_of(bundle)
    if _known(world, h):
        return h  # (a blob gc removed meanwhile is restored by bundle_for_run: same code)
    if world.get_blob(blob_key(h)) is None:
        world.put_blob(blob_key(h), compress(raw))
    _remember(world, h)
    return h


def original_hash(run: dict[str, Any]) -> str | None:
    return (run.get("executionContext") or {}).get("codeHash")


def effective_hash(world: World, run: dict[str, Any]) -> str | None:
    """The code a run executes: the upgrade pointer if any, else what run_created recorded
    (``None``: a run created before pinning existed; it runs the code on disk)."""
    pointer = world.get_blob(PIN_PREFIX + run["runId"])
    if pointer:
        text = pointer.decode("ascii", "replace").strip()
        if re.fullmatch(r"[0-9a-f]{64}", text):
            return text
    return original_hash(run)


def set_pointer(world: World, run_id: str, h: str) -> None:
    """Point a run at other code (``wfctl upgrade``). Blobs are write-once, so replace =
    delete + put; a crash in between leaves the run on its original code, which is safe."""
    key = PIN_PREFIX + run_id
    world.delete_blob(key)
    world.put_blob(key, h.encode("ascii"))


def load_modules(world: World, run_id: str, h: str) -> dict[str, str]:
    """The verified modules of code version ``h``; CodeStoreError if missing or corrupt."""
    data = world.get_blob(blob_key(h))
    if data is None:
        raise CodeStoreError(
            f"run {run_id}: its workflow code {h} is missing from the store; "
            "nothing was run (restore the code blob, or `wfctl upgrade` the run onto the current code)"
        )
    try:
        raw = decompress(data)
    except Exception as exc:
        raise CodeStoreError(
            f"run {run_id}: its workflow code {h} is corrupt in the store ({exc}); nothing was run"
        ) from None
    if hashlib.sha256(raw).hexdigest() != h:
        raise CodeStoreError(
            f"run {run_id}: its workflow code {h} is corrupt in the store (hash mismatch); nothing was run"
        )
    doc = json.loads(raw)
    if doc.get("format") != CODE_FORMAT or not isinstance(doc.get("modules"), dict):
        raise CodeStoreError(
            f"run {run_id}: its workflow code {h} has an unknown format; nothing was run"
        )
    modules: dict[str, str] = doc["modules"]
    return modules


def bundle_for_run(world: World, run: dict[str, Any], current: Bundle | None) -> Bundle:
    """The VM bundle a run must execute. ``current`` is the app loaded from disk (None when
    the command has no app: then only the stored code is checked and used)."""
    h = effective_hash(world, run)
    if h is None:
        if current is None:
            raise CodeStoreError(f"run {run['runId']} has no pinned code and no app was given")
        return current
    if current is not None and code_hash(current) == h:
        if not _known(world, h):
            if world.get_blob(blob_key(h)) is None:
                # the same code is on disk: restore the blob (a gc raced this run's start)
                world.put_blob(blob_key(h), compress(code_of(current)[1]))
            _remember(world, h)
        return current
    key = (h, str(current.app_dir) if current is not None else "")
    with _lock:
        hit = _bundles.get(key)
    if hit is not None:
        return hit
    modules = load_modules(world, run["runId"], h)
    base = current if current is not None else Bundle(app_dir=Path("."))
    bundle = bundle_from_modules(base, modules)
    with _lock:
        _bundles[key] = bundle
    return bundle


def check_run_code(world: World, run: dict[str, Any], current: Bundle | None) -> None:
    """Fail (CodeStoreError) before anything is written when the run's code cannot be loaded."""
    h = effective_hash(world, run)
    if h is None or (current is not None and code_hash(current) == h):
        return
    load_modules(world, run["runId"], h)


def stored_versions(world: World) -> list[str]:
    return [k[len(CODE_PREFIX) :] for k in world.list_blobs(CODE_PREFIX)]
