"""Streams in the local world, in the reference world-local layout (§4.2, §4.8)::

    streams/runs/<runId>.json                     {"streams": [name, ...]}
    streams/chunks/<name>-chnk_<ULID>.bin         [1 byte: 0 data | 1 EOF][chunk bytes]

Chunk files sort in write order (ULIDs are generated under the stream's lock, each after the
last existing one), so the DevKit's own reader sees the same order. Writes and the close of one
stream are serialized by a flock in ``<state>/locks/streams/`` (threads and processes); the
tail of each stream is cached in ``<state>/streams/<name>.json`` (``<state>``: wfctl's state
directory, ``layout.wfctl``; rebuilt by a scan if absent).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..streams import StreamChunks, StreamClosedError
from .files import dumps_pretty, read_json, utf8, write_atomic
from .ids import ULIDS, require_safe
from .locks import flocked

_DATA = b"\x00"
_EOF = b"\x01"


class LocalStreams:
    """Mixin for ``LocalWorld`` (uses ``self.root`` and ``self.durable``)."""

    root: Path
    durable: bool
    layout: Any

    # -- paths
    def _streams_dir(self) -> Path:
        return self.root / "streams"

    def _stream_lock(self, key: str) -> Path:
        return self.layout.write_locks / "streams" / f"{key}.lock"  # wfctl's state dir

    def _chunk_names(self, name: str) -> list[str]:
        prefix = f"{name}-chnk_"
        try:
            entries = os.listdir(self._streams_dir() / "chunks")
        except FileNotFoundError:
            return []
        # temp files are "<file>.tmp.<ulid>": they never end in ".bin"
        return sorted(e for e in entries if e.startswith(prefix) and e.endswith(".bin"))

    def _register(self, run_id: str, name: str) -> None:
        seen = self.__dict__.setdefault("_stream_names_seen", set())
        if (run_id, name) in seen:
            return
        path = self._streams_dir() / "runs" / f"{run_id}.json"
        with flocked(self._stream_lock(f"run-{run_id}")):
            doc = read_json(path) or {}
            names = list(doc.get("streams") or [])
            if name not in names:
                names.append(name)
                write_atomic(path, utf8(dumps_pretty({"streams": names})), durable=self.durable)
        seen.add((run_id, name))

    def _tail_path(self, name: str) -> Path:
        return self.layout.wfctl / "streams" / f"{name}.json"  # wfctl's state dir

    def _scan_tail(self, name: str) -> dict[str, Any]:
        """The stream's tail from its chunk files (a directory scan)."""
        chunks = self._streams_dir() / "chunks"
        last, count, done = None, 0, False
        for f in self._chunk_names(name):
            last = f[len(name) + 6 : -4]
            with open(chunks / f, "rb") as fh:
                if fh.read(1) == _EOF:
                    done = True
                    break
            count += 1
        return {"last": last, "count": count, "done": done}

    def _stream_append(self, name: str, flag: bytes, data: bytes) -> int:
        """Under the stream lock: refuse after EOF, write the next chunk file; its index.

        The tail (last chunk id, count, done) is cached in ``<state>/streams/<name>.json`` so a
        write does not scan ``streams/chunks`` (which holds every stream of the store); without
        that file (older store, other writer) it is rebuilt by a scan.
        """
        tail_path = self._tail_path(name)
        try:
            tail = read_json(tail_path)
        except ValueError:
            tail = None
        if not isinstance(tail, dict) or not {"last", "count", "done"} <= set(tail):
            tail = self._scan_tail(name)
        if tail["done"]:
            if flag == _EOF:
                return int(tail["count"]) - 1  # already closed: idempotent
            raise StreamClosedError(f"stream {name} is closed; it cannot be written again")
        ulid = ULIDS.new(after=tail["last"])
        new_tail = {
            "last": ulid,
            "count": int(tail["count"]) + (flag == _DATA),
            "done": flag == _EOF,
        }
        # Closing records "done" before the EOF file: a crash in between then refuses further
        # writes, instead of accepting chunks after an EOF marker that readers never see.
        if flag == _EOF:
            write_atomic(tail_path, utf8(dumps_pretty(new_tail)), durable=self.durable)
        path = self._streams_dir() / "chunks" / f"{name}-chnk_{ulid}.bin"
        write_atomic(path, flag + data, durable=self.durable)
        if flag == _DATA:
            write_atomic(tail_path, utf8(dumps_pretty(new_tail)), durable=False)
        return int(tail["count"]) if flag == _DATA else int(tail["count"]) - 1

    # -- StreamStore
    def write_stream_chunk(self, run_id: str, name: str, data: bytes) -> int:
        require_safe(run_id, "run id")
        require_safe(name, "stream name")
        self._register(run_id, name)
        with flocked(self._stream_lock(name)):
            return self._stream_append(name, _DATA, bytes(data))

    def close_stream(self, run_id: str, name: str) -> None:
        require_safe(run_id, "run id")
        require_safe(name, "stream name")
        self._register(run_id, name)
        with flocked(self._stream_lock(name)):
            self._stream_append(name, _EOF, b"")

    def list_streams(self, run_id: str) -> list[str]:
        require_safe(run_id, "run id")
        doc = read_json(self._streams_dir() / "runs" / f"{run_id}.json") or {}
        return [n for n in doc.get("streams") or [] if isinstance(n, str)]

    def read_stream_chunks(
        self, run_id: str, name: str, *, start: int = 0, limit: int | None = None
    ) -> StreamChunks:
        require_safe(name, "stream name")
        chunks_dir = self._streams_dir() / "chunks"
        files = self._chunk_names(name)
        done = False
        # The EOF marker is always the last file (nothing is written after it), so only the
        # last file needs a look and only the requested ones are read.
        if files:
            try:
                with open(chunks_dir / files[-1], "rb") as fh:
                    done = fh.read(1) == _EOF
            except FileNotFoundError:
                pass
        data_files = files[:-1] if done else files
        end = len(data_files) if limit is None else min(len(data_files), max(0, start) + limit)
        out: list[tuple[int, bytes]] = []
        for index in range(max(0, start), end):
            try:
                raw = (chunks_dir / data_files[index]).read_bytes()
            except FileNotFoundError:
                continue
            out.append((index, raw[1:]))
        return StreamChunks(chunks=out, done=done, tail_index=len(data_files) - 1)
