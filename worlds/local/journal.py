"""The per-run journal ``<data-dir>.wfctl/journal/<runId>.jsonl``: wfctl's commit point and run index.

One compact JSON event per line, in commit order. A line exists only once it ends in ``\\n``:
a last line without one is a write torn by a crash and is ignored (the next writer truncates
it). Journal lines may carry a private ``_wfctl`` key (data needed to rebuild the entities,
e.g. an error's message) that is never part of the event handed out or written to ``events/``.

:class:`Journal` is an in-process cache of one journal file: it remembers how far it has read
and folds new lines into a :class:`RunState`, so repeated reads and writes only parse what was
appended since. It is safe to refresh from any thread; the file is only appended to under the
run's write lock.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

from ..rules import PRIVATE_KEY, public_event  # noqa: F401 (re-exported)
from .files import dumps_compact, loads, utf8
from .ids import ms_from_iso
from .state import RunState

log = logging.getLogger("worlds.local")


def encode_line(line: dict) -> bytes:
    return utf8(dumps_compact(line) + "\n")


class Journal:
    def __init__(self, path: Path, run_id: str) -> None:
        self.path = path
        self.run_id = run_id
        self.lock = threading.Lock()  # guards the fields below (refresh from any thread)
        self._reset(None)

    def _reset(self, inode: int | None) -> None:
        self.inode = inode  # None: no journal file
        self.offset = 0  # bytes consumed (end of the last complete line)
        self.size = 0  # file size at the last refresh; > offset means a torn tail
        self.lines: list[dict] = []
        self.keys: list[tuple[int, str]] = []  # (createdAt ms, eventId) per line, for paging
        self.state = RunState(self.run_id)

    @property
    def exists(self) -> bool:
        return self.inode is not None

    @property
    def torn(self) -> bool:
        return self.size > self.offset

    def refresh(self) -> Journal:
        """Fold whatever complete lines were appended since the last refresh."""
        with self.lock:
            try:
                fd = os.open(self.path, os.O_RDONLY)
            except (FileNotFoundError, NotADirectoryError):
                if self.inode is not None:
                    self._reset(None)
                return self
            try:
                st = os.fstat(fd)
                if st.st_ino != self.inode or st.st_size < self.offset:
                    self._reset(st.st_ino)  # replaced (rebuilt) or truncated below us
                self.size = st.st_size
                if st.st_size == self.offset:
                    return self
                os.lseek(fd, self.offset, os.SEEK_SET)
                chunks = []
                while chunk := os.read(fd, 1 << 20):
                    chunks.append(chunk)
            finally:
                os.close(fd)
            data = b"".join(chunks)
            self.size = self.offset + len(data)
            end = data.rfind(b"\n")
            if end < 0:
                return self
            for raw in data[:end].split(b"\n"):
                self._fold(raw)
            self.offset += end + 1
            return self

    def read(self) -> tuple[list[dict], list[tuple[int, str]]]:
        """Refresh, then a consistent copy of (lines, keys)."""
        self.refresh()
        with self.lock:
            return list(self.lines), list(self.keys)

    def _fold(self, raw: bytes) -> None:
        try:
            line = loads(raw)
        except ValueError:
            line = None
        if not isinstance(line, dict) or not isinstance(line.get("eventType"), str):
            # Only a crash can leave a bad line, and only at the end (which we truncate), so
            # this is outside damage: keep the rest of the run readable.
            log.warning("Skipping malformed line in %s", self.path)
            return
        self.lines.append(line)
        self.keys.append((ms_from_iso(line.get("createdAt")) or 0, str(line.get("eventId"))))
        self.state.apply(line)


class JournalCache:
    """Bounded LRU of :class:`Journal` objects, one per run."""

    def __init__(self, journal_path, capacity: int = 128) -> None:
        self._path_of = journal_path
        self._capacity = capacity
        self._lock = threading.Lock()
        self._items: OrderedDict[str, Journal] = OrderedDict()

    def get(self, run_id: str) -> Journal:
        with self._lock:
            journal = self._items.get(run_id)
            if journal is None:
                journal = self._items[run_id] = Journal(self._path_of(run_id), run_id)
                while len(self._items) > self._capacity:
                    self._items.popitem(last=False)
            else:
                self._items.move_to_end(run_id)
            return journal

    def drop(self, run_id: str) -> None:
        with self._lock:
            self._items.pop(run_id, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
