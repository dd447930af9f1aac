"""The shared tree and wfctl's own state: adopt, check, rebuild, convert, report.

The data directory is shared with the DevKit's tools, which may rearrange it (run-scoped
conversion), rewrite its ``version.txt`` or delete it whole (Vercel's Python SDK deletes a
flat-layout directory). wfctl's commit point is elsewhere (``layout.py``), so every one of
these is recoverable; this module notices them, says so in one line, and rebuilds:

* :func:`adopt_legacy` moves a pre-issue-16 ``<data-dir>/.wfctl/`` (and ``snapshots/``) to the
  state directory, once (a rename; a half-done merge is finished by the next process);
* :func:`check_on_open` compares the shared tree with what wfctl recorded last time
  (``<state>/projection.json``): a missing or replaced directory is rebuilt from the journals
  (automatic, on the first command that opens the store), a new ``version.txt`` or a
  conversion to the run-scoped layout is reported;
* :func:`rebuild_all` (``wfctl repair``), :func:`migrate_layout`
  (``wfctl migrate-layout``) and :func:`doctor` (``wfctl doctor``).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from .files import dumps_pretty, fsync_dir, loads, read_json, utf8, write_atomic
from .ids import ms_from_iso
from .layout import VERSION_TEXT, Layout
from .runlayout import FLAT, SCOPED, describe, has_subdir

log = logging.getLogger("worlds.local")
_SAID: set[str] = set()


def say_once(key: str, message: str) -> None:
    """One warning line per process and subject (the message names the directory, so two
    stores in one process each get theirs)."""
    key = f"{key}\0{message.split(';')[0]}"
    if key not in _SAID:
        _SAID.add(key)
        log.warning("%s", message)


# ---------------------------------------------------------------------------- legacy state


def adopt_legacy(layout: Layout) -> None:
    """Move ``<data-dir>/.wfctl`` and ``<data-dir>/snapshots`` into the state directory."""
    legacy, old_snaps = layout.legacy, layout.root / "snapshots"
    has_legacy, has_snaps = legacy.is_dir(), old_snaps.is_dir()
    if not (has_legacy or has_snaps) or layout.wfctl == legacy:
        return
    state = layout.wfctl
    try:
        state.parent.mkdir(parents=True, exist_ok=True)
        if has_legacy:
            _move_tree(legacy, state)
        if has_snaps:
            _move_tree(old_snaps, state / "snapshots")
        fsync_dir(state.parent)
        fsync_dir(layout.root)
    except OSError as exc:
        say_once(
            "legacy",
            f"cannot move its state out of {layout.root} to {state} ({exc}); using it where it is",
        )
        layout.set_state(legacy, old_snaps)
        return
    say_once(
        "adopted",
        f"moved its own state (journal, blobs, snapshots) out of {layout.root} to "
        f"{state}, where the DevKit's tools cannot rearrange or delete it",
    )


def _move_tree(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``; if ``dst`` exists, move file by file (rerun-safe)."""
    try:
        os.rename(src, dst)
        return
    except FileNotFoundError:
        if not src.exists():
            return  # another process moved it first
        raise
    except OSError:
        if not dst.is_dir():
            raise
    for dirpath, _dirs, files in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            a, b = Path(dirpath) / name, dst / rel / name
            if not b.exists():
                os.rename(a, b)
            elif _same(a, b) or rel.parts[:1] in (("locks",), ("leases",)):
                a.unlink()
            else:
                say_once(f"conflict:{a}", f"kept {b}; {a} differs and was left in place")
    for dirpath, _dirs, _files in sorted(os.walk(src), key=lambda t: -len(t[0])):
        try:
            os.rmdir(dirpath)
        except OSError:
            pass


def _same(a: Path, b: Path) -> bool:
    try:
        return a.read_bytes() == b.read_bytes()
    except OSError:
        return False


# ---------------------------------------------------------------------------- check on open


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def journal_ids(layout: Layout) -> list[str]:
    try:
        names = os.listdir(layout.journals)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(n[: -len(".jsonl")] for n in names if n.endswith(".jsonl"))


def read_record(layout: Layout) -> dict[str, Any]:
    try:
        value = read_json(layout.record)
    except (ValueError, OSError):
        return {}
    return value if isinstance(value, dict) else {}


def check_on_open(world: Any) -> None:
    """Called when a LocalWorld is created: notice what happened to the shared tree."""
    layout: Layout = world.layout
    if not layout.journals.is_dir():
        return  # nothing of wfctl's yet
    record = read_record(layout)
    try:
        st = os.stat(layout.root)
    except FileNotFoundError:
        st = None
    version = _read_text(layout.version)
    if record.get("layout") in (FLAT, SCOPED):
        layout.mode.fallback = record["layout"]  # an emptied directory keeps its layout
    replaced = bool(record.get("inode")) and (
        st is None or (record["inode"], record.get("device")) != (st.st_ino, st.st_dev)
    )
    # A new version.txt may mean a new directory (a freed inode is often reused at once).
    rewritten = version is not None and version != (record.get("versionTxt") or VERSION_TEXT)
    if st is None or version is None or replaced or rewritten:
        ids = journal_ids(layout)  # (listed only when something is wrong)
        if ids and rewritten and not replaced and st is not None:
            replaced = any(not layout.run(run_id).exists() for run_id in ids)
            if not replaced:
                ids = []  # same runs: only version.txt changed (said by update_record)
        if ids:
            what = (
                "was replaced or moved since wfctl last used it"
                if st is not None and version is not None
                else "is missing or emptied (deleted by another tool?)"
            )
            say_once(
                "missing",
                f"the data directory {layout.root} {what}; rebuilding {len(ids)} runs "
                f"from wfctl's state in {layout.wfctl}",
            )
            try:
                world.rebuilt_on_open = rebuild_all(world, ids)
            except OSError as exc:  # e.g. read-only: reads heal run by run where they can
                say_once("rebuild-failed", f"cannot rebuild {layout.root} ({exc})")
    update_record(world, record)


def update_record(world: Any, record: dict[str, Any] | None = None) -> None:
    layout: Layout = world.layout
    record = dict(record if record is not None else read_record(layout))
    try:
        st = os.stat(layout.root)
    except FileNotFoundError:
        return
    version = _read_text(layout.version)
    seen = list(record.get("versionsSeen") or [])
    if version is not None and version not in seen:
        seen.append(version)
    known = record.get("versionTxt") or VERSION_TEXT
    if version is not None and version != known:
        say_once(
            "version",
            f"{layout.version} now says {version!r} (it said {known!r}): another "
            "world-local version wrote this directory; wfctl reads both layouts and leaves it",
        )
    found = [has_subdir(layout.events), has_subdir(layout.steps)]  # O(1), not a scan
    current: str | None
    if True in found:
        current = SCOPED
    elif False in found:
        current = FLAT
    else:
        current = str(record.get("layout") or "") or None
    if record.get("layout") == FLAT and current == SCOPED:
        say_once(
            "converted",
            f"{layout.root} was converted to the run-scoped layout (events/<runId>/) by "
            "another tool; wfctl reads it and now writes that layout",
        )
    new = {
        **record,
        "dataDir": os.path.abspath(layout.root),
        "inode": st.st_ino,
        "device": st.st_dev,
        "versionTxt": version if version is not None else record.get("versionTxt"),
        "versionsSeen": seen,
        "layout": current,
    }
    if new != record:
        try:
            write_atomic(layout.record, utf8(dumps_pretty(new)), durable=False)
        except OSError:
            pass  # read-only state: we only lose the next comparison


def rebuild_all(world: Any, ids: list[str] | None = None) -> int:
    """Re-project every run wfctl has a journal for (``wfctl repair``)."""
    layout: Layout = world.layout
    ids = journal_ids(layout) if ids is None else ids
    if not ids:
        return 0  # nothing of wfctl's: create nothing
    world._store_ready = False
    world._ensure_store()
    layout.mode.forget()

    def one(run_id: str) -> None:
        with world._write_lock(run_id):
            journal = world._journals.get(run_id).refresh()
            if not journal.torn:  # (no roll-forward: every line is projected once, here)
                world._projector.reproject(journal.lines, journal.state)
                return
        world.reproject_run(run_id)  # a torn tail: the write path's repair first

    for run_id in ids:  # (4 threads measured no faster here: file creation dominates)
        one(run_id)
    update_record(world)
    return len(ids)


# ---------------------------------------------------------------------------- migrate-layout


def _run_of(directory: Path, name: str, known: set[str]) -> str | None:
    """The run of a flat ``<runId>-<id>.json`` file (its JSON ``runId``, else a known prefix)."""
    try:
        value = loads((directory / name).read_bytes())
        if isinstance(value, dict) and isinstance(value.get("runId"), str):
            run_id = str(value["runId"])
            if name.startswith(f"{run_id}-"):
                return run_id
    except (OSError, ValueError):
        pass
    for i, ch in enumerate(name):
        if ch == "-" and name[:i] in known:
            return name[:i]
    return None


def _place(src: Path, dst: Path) -> None:
    """Move one file; when both copies exist keep the one updated last (steps)."""
    if dst.exists():
        try:
            a, b = loads(src.read_bytes()), loads(dst.read_bytes())
            older = (
                isinstance(a, dict)
                and isinstance(b, dict)
                and (
                    (ms_from_iso(a.get("updatedAt")) or 0) < (ms_from_iso(b.get("updatedAt")) or 0)
                )
            )
        except (OSError, ValueError):
            older = False
        if older:
            src.unlink()
            return
    os.replace(src, dst)


def migrate_layout(world: Any, to: str) -> dict[str, Any]:
    """Convert every event/step file to ``to`` (flat or run-scoped). Each move is one rename
    under the run's write lock, so an interrupted conversion is a mixture (which reads
    correctly) and running it again finishes it."""
    layout: Layout = world.layout
    known = set(journal_ids(layout))
    try:
        known |= {n[:-5] for n in os.listdir(layout.runs) if n.endswith(".json")}
    except FileNotFoundError:
        pass
    moved = 0
    for _ in range(3):  # files a concurrent writer put in the old layout meanwhile
        batch = 0
        for directory in (layout.events, layout.steps):
            groups: dict[str, list[tuple[Path, Path]]] = {}
            try:
                entries = list(os.scandir(directory))
            except FileNotFoundError:
                continue
            for entry in entries:
                if to == SCOPED and entry.is_file() and entry.name.endswith(".json"):
                    run_id = _run_of(directory, entry.name, known)
                    if run_id is not None:
                        groups.setdefault(run_id, []).append(
                            (Path(entry.path), directory / run_id / entry.name)
                        )
                elif to == FLAT and entry.is_dir(follow_symlinks=False):
                    sub = Path(entry.path)
                    for name in os.listdir(sub):
                        if name.endswith(".json"):
                            groups.setdefault(entry.name, []).append((sub / name, directory / name))
                        elif ".json.tmp." in name and _stale(sub / name):
                            (sub / name).unlink(missing_ok=True)
                    groups.setdefault(entry.name, [])
            for run_id, moves in groups.items():
                with world._write_lock(run_id):
                    if moves and to == SCOPED:
                        (directory / run_id).mkdir(exist_ok=True)
                    for src, dst in moves:
                        try:
                            _place(src, dst)
                        except FileNotFoundError:
                            continue
                        batch += 1
                    if to == SCOPED:
                        fsync_dir(directory / run_id)
                    else:
                        try:
                            os.rmdir(directory / run_id)
                        except OSError:
                            pass
            fsync_dir(directory)
        moved += batch
        if batch == 0:
            break
        time.sleep(0.05)
    layout.mode.forget()
    layout.mode.fallback = to
    record = read_record(layout)
    record["layout"] = to
    if layout.journals.is_dir():
        write_atomic(layout.record, utf8(dumps_pretty(record)), durable=False)
    after = describe(layout.events, layout.steps)
    return {"to": to, "moved": moved, **after}


def _stale(path: Path) -> bool:
    try:
        return time.time() - path.stat().st_mtime > 60
    except FileNotFoundError:
        return False


# ---------------------------------------------------------------------------- doctor


def doctor(world: Any) -> dict[str, Any]:
    """Layout, versions and every run whose projection and journal disagree."""
    layout: Layout = world.layout
    record = read_record(layout)
    shape = describe(layout.events, layout.steps)
    ids = journal_ids(layout)
    try:
        projected = {n[:-5] for n in os.listdir(layout.runs) if n.endswith(".json")}
    except FileNotFoundError:
        projected = set()
    counts = _event_file_counts(layout, set(ids) | projected)
    problems = []
    for run_id in ids:
        journal = world._journals.get(run_id).refresh()
        lines = len(journal.lines)
        run = None
        try:
            run = read_json(layout.run(run_id))
        except (ValueError, OSError):
            pass
        status = journal.state.run.get("status") if journal.state.run else None
        if not isinstance(run, dict):
            problems.append({"runId": run_id, "problem": "run file missing or unreadable"})
        elif run.get("status") != status:
            problems.append(
                {
                    "runId": run_id,
                    "problem": f"run file says {run.get('status')!r}, journal says {status!r}",
                }
            )
        have = counts.get(run_id, 0)
        if have != lines:
            problems.append(
                {"runId": run_id, "problem": f"{have} event files for {lines} journal events"}
            )
        short = world.journal_problem(run_id)
        if short:
            problems.append({"runId": run_id, "problem": short})
    foreign = sorted(projected - set(ids))
    for run_id in foreign:
        problems.append(
            {"runId": run_id, "problem": "no journal in wfctl's state (another tool's run?)"}
        )
    return {
        "dataDir": os.path.abspath(layout.root),
        "stateDir": os.path.abspath(layout.wfctl),
        "layout": shape["layout"],
        "flatFiles": shape["flatFiles"],
        "runDirectories": shape["runDirectories"],
        "writes": SCOPED if layout.mode.directory_scoped() else FLAT,
        "versionTxt": _read_text(layout.version),
        "wfctlWrites": VERSION_TEXT,
        "versionsSeen": record.get("versionsSeen") or [],
        "journals": len(ids),
        "runFiles": len(projected),
        "problems": problems,
    }


def _event_file_counts(layout: Layout, known: set[str]) -> dict[str, int]:
    """Event files per run, both layouts, each event id once."""
    seen: dict[str, set[str]] = {}
    try:
        entries = list(os.scandir(layout.events))
    except FileNotFoundError:
        return {}
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            run_id = entry.name
            try:
                names = os.listdir(entry.path)
            except OSError:
                continue
            for name in names:
                if name.endswith(".json") and name.startswith(f"{run_id}-"):
                    seen.setdefault(run_id, set()).add(name)
        elif entry.name.endswith(".json"):
            name = entry.name
            for i, ch in enumerate(name):
                if ch == "-" and name[:i] in known:
                    seen.setdefault(name[:i], set()).add(name)
                    break
    return {run_id: len(names) for run_id, names in seen.items()}
