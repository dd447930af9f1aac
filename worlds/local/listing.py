"""Listing: directory scans, sorting and ``"<createdAt ISO>|<id>"`` cursors (reference §4.6)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from ..rules import cursor_of, parse_cursor  # noqa: F401 (re-exported)
from ..world import Page
from .files import loads
from .ids import ms_from_iso

log = logging.getLogger("worlds.local")

Key = tuple[int, str]


def scan_json(directory: Path, prefix: str = "") -> Iterable[tuple[Path, object]]:
    """(path, parsed) of every ``<prefix>*.json`` file; malformed ones are skipped with a warning.

    A missing directory yields nothing. Temp files (``*.json.tmp.<ulid>``) and subdirectories
    are not ``*.json`` files and are skipped.
    """
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in names:
        if not name.endswith(".json") or not name.startswith(prefix):
            continue
        path = directory / name
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            continue  # deleted between listdir and read, or a directory named *.json
        try:
            yield path, loads(data)
        except ValueError:
            log.warning("Skipping malformed JSON file %s", path)


def scan_run_files(directory: Path, run_id: str) -> Iterable[tuple[Path, object]]:
    """A run's ``<runId>-*.json`` files in both layouts: flat in ``directory`` and run-scoped
    in ``directory/<runId>/`` (a half-converted directory holds some of each)."""
    prefix = f"{run_id}-"
    yield from scan_json(directory / run_id, prefix=prefix)
    yield from scan_json(directory, prefix=prefix)


def newest(a: dict | None, b: dict | None) -> dict | None:
    """Of two copies of one entity (one per layout), the one updated last."""
    if a is None or b is None:
        return a if b is None else b
    return (
        b if (ms_from_iso(b.get("updatedAt")) or 0) > (ms_from_iso(a.get("updatedAt")) or 0) else a
    )


def entity_key(item: dict, id_field: str) -> Key | None:
    created = ms_from_iso(item.get("createdAt"))
    ident = item.get(id_field)
    if created is None or not isinstance(ident, str):
        return None
    return created, ident


def paginate(
    items: list[tuple[Key, dict]],
    *,
    id_field: str,
    cursor: str | None,
    limit: int | None,
    sort: str,
    presorted: bool = False,
    copy: Callable[[dict], dict] = dict,
) -> Page:
    """Sort by (createdAt, id), keep what lies strictly after ``cursor``, cut at ``limit``."""
    if sort not in ("asc", "desc"):
        raise ValueError(f"sort must be 'asc' or 'desc', not {sort!r}")
    if not presorted:
        items = sorted(items, key=lambda pair: pair[0])
    if sort == "desc":
        items = items[::-1]
    if cursor:
        c_ms, c_id = parse_cursor(cursor)

        def after(key: Key) -> bool:
            ms, ident = key
            if sort == "asc":
                return ms > c_ms or (c_id is not None and ms == c_ms and ident > c_id)
            return ms < c_ms or (c_id is not None and ms == c_ms and ident < c_id)

        items = _drop_until(items, after)
    has_more = limit is not None and len(items) > limit
    page = items if limit is None else items[:limit]
    data = [copy(item) for _, item in page]
    return Page(
        data=data, cursor=cursor_of(data[-1], id_field) if data else None, has_more=has_more
    )


def _drop_until(items, after):
    # Items are sorted in the walk direction, so everything after the first match matches.
    for index, (key, _) in enumerate(items):
        if after(key):
            return items[index:]
    return []
