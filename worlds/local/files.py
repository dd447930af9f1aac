"""File IO for the local world: JSON in the DevKit's format and crash-safe writes.

JSON matches ``JSON.stringify(value, replacer, 2)`` of world-local: 2-space indent, no trailing
newline, non-ASCII kept, ``bytes`` as ``{"__type":"Uint8Array","data":"<base64>"}`` (revived to
``bytes`` on read). Token claims and journal lines are compact.

Every file is written to ``<name>.tmp.<ULID>`` and renamed over the target, so a reader (or a
crash) sees either the old or the new content, and the temp name never ends in ``.json`` (the
DevKit CLI would otherwise try to parse half-written files).
"""

from __future__ import annotations

import base64
import errno
import json
import os
from pathlib import Path
from typing import Any

from .ids import ULIDS


def _default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"__type": "Uint8Array", "data": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"cannot store {type(value).__name__} in the world")


def _revive(obj: dict) -> Any:
    if len(obj) == 2 and obj.get("__type") == "Uint8Array" and isinstance(obj.get("data"), str):
        return base64.b64decode(obj["data"])
    return obj


def dumps_pretty(value: Any) -> str:
    """2-space JSON as world-local writes entity and event files."""
    return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False, default=_default)


def dumps_compact(value: Any) -> str:
    """Compact JSON (token claims, journal lines)."""
    return json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_default
    )


def utf8(text: str) -> bytes:
    """UTF-8 bytes of JSON text; a lone surrogate becomes a ``\\udxxx`` escape like JS writes."""
    return text.encode("utf-8", "backslashreplace")


def loads(text: str | bytes) -> Any:
    """Parse JSON, reviving Uint8Array tags to ``bytes``."""
    return json.loads(text, object_hook=_revive)


def read_json(path: Path) -> Any | None:
    """Parsed content, or None when the file does not exist. Raises ValueError when malformed."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return loads(data)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    """fsync an existing file (covers every earlier write to it, through any descriptor)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dir(path: Path, durable: bool) -> None:
    """mkdir -p; when durable, each newly created directory's entry is fsynced into its parent."""
    if path.is_dir():
        return
    ensure_dir(path.parent, durable)
    try:
        path.mkdir()
    except FileExistsError:
        return
    if durable:
        fsync_dir(path.parent)


def _write_temp(path: Path, data: bytes, durable: bool) -> Path:
    """A complete (and, when durable, fsynced) sibling temp file of ``path``."""
    tmp = path.with_name(f"{path.name}.tmp.{ULIDS.new()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileNotFoundError:
        ensure_dir(path.parent, durable)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            _write_all(fd, data)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def write_atomic(path: Path, data: bytes, *, durable: bool) -> None:
    """Replace ``path`` with ``data`` via temp file + rename (fsync file and dir when durable)."""
    tmp = _write_temp(path, data, durable)
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise
    if durable:
        fsync_dir(path.parent)


def create_exclusive(path: Path, data: bytes = b"", *, durable: bool = False) -> bool:
    """Create ``path`` only if absent (lock files, first token claims). False when it exists.

    With content, the file is written under a temp name and hard-linked into place: ``link``
    fails if the target exists, so this is an exclusive create that never exposes a
    half-written file (a plain O_EXCL open would show an empty claim after a crash).
    """
    if data:
        return _link_exclusive(path, data, durable)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        return False
    except FileNotFoundError:
        ensure_dir(path.parent, durable)
        try:
            fd = os.open(path, flags, 0o644)
        except FileExistsError:
            return False
    try:
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    if durable:
        fsync_dir(path.parent)
    return True


def _link_exclusive(path: Path, data: bytes, durable: bool) -> bool:
    tmp = _write_temp(path, data, durable)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        _unlink(tmp)
    if durable:
        fsync_dir(path.parent)
    return True


def append_durable(path: Path, data: bytes, *, durable: bool) -> None:
    """Append ``data`` with one O_APPEND write; fsync the file (and its dir when new)."""
    flags = os.O_WRONLY | os.O_APPEND
    try:
        fd = os.open(path, flags)
        created = False
    except FileNotFoundError:
        ensure_dir(path.parent, durable)
        fd = os.open(path, flags | os.O_CREAT, 0o644)
        created = True
    try:
        _write_all(fd, data)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    if created and durable:
        fsync_dir(path.parent)


def truncate(path: Path, size: int, *, durable: bool) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, size)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def unlink(path: Path) -> bool:
    """Remove a file; False when it was already gone."""
    return _unlink(path)


def _unlink(path: Path) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
    except OSError as exc:  # a directory where a file was expected: leave it alone
        if exc.errno in (errno.EISDIR, errno.EPERM):
            return False
        raise


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
