"""A run's logs: workflow ``console.*`` calls and its Python steps' ``print``/``logging``.

Kept with the run as world blobs ``runlog_<runId>_<n>`` (JSON lines, one blob per flush,
numbered from 0; AES-GCM under the run's key when encryption is on), so any process and any
world can read them back (``wfctl inspect logs``, the web UI). A line is one dict::

    {"at": ISO, "source": "workflow"|"step", "level": "log"|"info"|"warn"|"error"|...,
     "stream": "stdout"|"stderr", "text": str, "runId", "workflowName",
     "seq": N (workflow lines: the call's number in the logical execution),
     "stepId", "stepName", "attempt" (step lines)}

Each blob ends with ``{"lastSeq": N}``, the highest console call number stored so far, so a new
invocation learns where the run's log stands from the last blob alone.

:class:`RunWatch` is what the engine holds while it drives a run: it is the console sink of
the driving thread (dropping calls a replay repeats), collects step output, stores both, and
forwards everything to the engine's :class:`~wfctl.engine.observer.RunObserver`.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from wfctl.engine.observer import NULL_OBSERVER, RunObserver
from wfctl.engine.registry import StepMetadata, _current
from wfctl.engine.timeline import Tracker, iso, short
from wfctl.serde import crypto
from worlds import World

log = logging.getLogger("wfctl.engine")

_watches: dict[str, RunWatch] = {}  # runId -> the watch of the invocation driving it here
_watches_lock = threading.Lock()


def blob_key(run_id: str, n: int) -> str:
    return f"runlog_{run_id}_{n:06d}"


def _chunks(
    world: World, run_id: str, key: bytes | None, start: int = 0
) -> Iterator[tuple[int, list[dict[str, Any]] | None]]:
    n = start
    while True:
        data = world.get_blob(blob_key(run_id, n))
        if data is None:
            return
        if crypto.is_encrypted(data):
            if key is None:
                yield n, None
                n += 1
                continue
            data = crypto.decrypt(data, key)
        yield n, _parse(data)
        n += 1


def _parse(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line]


def _chunk_count(world: World, run_id: str) -> int:
    """How many chunks the run has, in O(log n) probes (chunks are numbered without gaps)."""
    if world.get_blob(blob_key(run_id, 0)) is None:
        return 0
    lo, hi = 0, 1  # chunk lo exists; find a missing hi
    while world.get_blob(blob_key(run_id, hi)) is not None:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if world.get_blob(blob_key(run_id, mid)) is None:
            hi = mid
        else:
            lo = mid
    return hi


def stored_position(world: World, run_id: str, key: bytes | None) -> tuple[int, int]:
    """(number of chunks, highest console call number stored) — read from the last chunk,
    whose closing ``{"lastSeq": N}`` line carries the high-water mark."""
    count = _chunk_count(world, run_id)
    if count == 0:
        return 0, 0
    data = world.get_blob(blob_key(run_id, count - 1)) or b""
    if crypto.is_encrypted(data):
        data = crypto.decrypt(data, key) if key is not None else b""
    last = 0
    for e in _parse(data):
        last = max(last, int(e.get("lastSeq") or e.get("seq") or 0))
    return count, last


def read_logs(
    world: World, run_id: str, key: bytes | None, *, start: int = 0
) -> tuple[list[dict[str, Any]], int, bool]:
    """(lines, next chunk number, some chunks were encrypted and not readable)."""
    lines: list[dict[str, Any]] = []
    locked = False
    n = start
    for n_, chunk in _chunks(world, run_id, key, start):
        n = n_ + 1
        if chunk is None:
            locked = True
        else:
            lines.extend(e for e in chunk if "lastSeq" not in e)
    return lines, n, locked


class RunWatch:
    """One invocation's observer dispatch, console sink and log store."""

    FLUSH_EVERY = 0.5  # seconds: lines reach the store this soon for other processes to see

    def __init__(self, world: World, run_id: str, key: bytes | None, observer: RunObserver) -> None:
        self.world = world
        self.run_id = run_id
        self.key = key
        self.observer = observer
        # Nobody watching (library use, servers): output also goes where it went before —
        # step prints to the real stream, step logging to the other handlers, console lines
        # to the wfctl.workflow logger.
        self.passthrough = observer is NULL_OBSERVER
        self.workflow_name = ""
        self.tracker = Tracker()
        self._lock = threading.Lock()
        self._buffer: list[dict[str, Any]] = []
        self._last_flush = time.monotonic()
        self._position: tuple[int, int] | None = (
            None  # read on the first line (most drives log nothing)
        )

    @property
    def last_seq(self) -> int:
        return self._where()[1]

    @last_seq.setter
    def last_seq(self, value: int) -> None:
        self._position = (self._where()[0], value)

    @property
    def next_chunk(self) -> int:
        return self._where()[0]

    @next_chunk.setter
    def next_chunk(self, value: int) -> None:
        self._position = (value, self._where()[1])

    def _where(self) -> tuple[int, int]:
        if self._position is None:
            try:
                self._position = stored_position(self.world, self.run_id, self.key)
            except Exception:  # logs are a convenience: never stop a run over them
                log.warning("run %s: cannot read its stored logs", self.run_id, exc_info=True)
                self._position = (0, 0)
        return self._position

    # -- lifecycle ------------------------------------------------------------------------

    def begin(self, run: dict[str, Any]) -> None:
        self.workflow_name = run.get("workflowName", "")
        install_step_capture()
        with _watches_lock:
            _watches[self.run_id] = self

    def end(self) -> None:
        with _watches_lock:
            if _watches.get(self.run_id) is self:
                del _watches[self.run_id]
        self.flush(force=True)
        if self.passthrough:
            return  # nobody to tell: spare the reads
        try:
            page = self.world.list_events(self.run_id, cursor=self.tracker.last_cursor)
            self.tracker.feed(page.data)  # events written after the last look (e.g. hooks)
            run = self.world.get_run(self.run_id)
            self.observer.run_left(run, self.tracker.waiting_on())
        except Exception:
            log.warning("run %s: observer failed", self.run_id, exc_info=True)

    # -- engine callbacks -------------------------------------------------------------------

    def events(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        self.tracker.feed(events)
        self._safe(self.observer.run_events, self.run_id, events)
        self.flush()

    def step_submitted(self, step_id: str, step_name: str) -> None:
        self._safe(self.observer.step_submitted, self.run_id, step_id, step_name)

    def sleeping(self, until_ms: int) -> None:
        self.flush(force=True)
        self._safe(self.observer.sleeping, self.run_id, until_ms)

    # -- log lines ----------------------------------------------------------------------

    def workflow_line(self, seq: int, level: str, stream: str, text: str) -> None:
        with self._lock:
            if seq <= self.last_seq:
                return  # a replay repeating a call that was already logged
            self.last_seq = seq
        self._add(
            {"source": "workflow", "seq": seq, "level": level, "stream": stream, "text": text}
        )
        if self.passthrough:
            for line in text.rstrip("\n").splitlines():
                logging.getLogger("wfctl.workflow").info("[workflow %s] %s", stream, line)

    def step_line(self, md: StepMetadata, level: str, stream: str, text: str) -> None:
        self._add(
            {
                "source": "step",
                "level": level,
                "stream": stream,
                "text": text,
                "stepId": md.step_id,
                "stepName": short(md.step_name),
                "attempt": md.attempt,
            }
        )

    def _add(self, entry: dict[str, Any]) -> None:
        entry = {
            "at": iso(int(time.time() * 1000)),
            "runId": self.run_id,
            "workflowName": self.workflow_name,
            **entry,
        }
        with self._lock:
            self._buffer.append(entry)
        self._safe(self.observer.log, entry)
        self.flush()

    def flush(self, force: bool = False) -> None:
        with self._lock:
            if not self._buffer:
                return
            if not force and time.monotonic() - self._last_flush < self.FLUSH_EVERY:
                return
            lines, self._buffer = self._buffer, []
            n = self.next_chunk
            self.next_chunk += 1
            self._last_flush = time.monotonic()
            data = "".join(
                json.dumps(e, ensure_ascii=False) + "\n"
                for e in [*lines, {"lastSeq": self.last_seq}]
            ).encode()
            if self.key is not None:
                data = crypto.encrypt(data, self.key)
            try:
                self.world.put_blob(blob_key(self.run_id, n), data)
            except Exception:
                log.warning("run %s: cannot store %d log line(s)", self.run_id, len(lines))

    def _safe(self, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # an observer must never break a run
            log.warning("run %s: observer failed", self.run_id, exc_info=True)


# ---------------------------------------------------------------------------- step output


def _watch_for_step() -> tuple[RunWatch, StepMetadata] | None:
    md = _current.get()
    if md is None:
        return None
    watch = _watches.get(md.run_id)
    return (watch, md) if watch is not None else None


class _StepStream(io.TextIOBase):
    """sys.stdout/sys.stderr stand-in: inside a step, lines go to the run's log; elsewhere it
    writes straight through to the stream it replaced."""

    def __init__(self, inner: Any, name: str) -> None:
        self.inner = inner
        self.name_ = name
        self._partial = threading.local()

    def write(self, s: str) -> int:
        found = _watch_for_step()
        if found is None:
            return int(self.inner.write(s))
        watch, md = found
        if watch.passthrough:
            self.inner.write(s)
        text = getattr(self._partial, "text", "") + s
        *lines, rest = text.split("\n")
        self._partial.text = rest
        for line in lines:
            watch.step_line(md, "print", self.name_, line)
        return len(s)

    def flush(self) -> None:
        self.inner.flush()

    def isatty(self) -> bool:
        return bool(self.inner.isatty())

    def fileno(self) -> int:
        return int(self.inner.fileno())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "encoding", "utf-8")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _StepLogHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("wfctl."):
            return  # the engine's own records about the step are not the step's output
        found = _watch_for_step()
        if found is None:
            return
        watch, md = found
        try:
            text = f"{record.levelname} {record.name}: {record.getMessage()}"
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
        except Exception:
            text = str(record.msg)
        level = {"WARNING": "warn", "CRITICAL": "error"}.get(record.levelname, "")
        watch.step_line(md, level or record.levelname.lower(), "log", text)


class InStepFilter(logging.Filter):
    """For the other handlers: records made inside a step are the step's log, shown by it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("wfctl."):
            return True
        found = _watch_for_step()
        return found is None or found[0].passthrough


_install_lock = threading.Lock()
_handler = _StepLogHandler(level=logging.DEBUG)


def install_step_capture() -> None:
    """Route step output to run logs (idempotent; re-wraps a stream someone replaced)."""
    with _install_lock:
        if not isinstance(sys.stdout, _StepStream) and sys.stdout is not None:
            sys.stdout = _StepStream(sys.stdout, "stdout")
        if not isinstance(sys.stderr, _StepStream) and sys.stderr is not None:
            sys.stderr = _StepStream(sys.stderr, "stderr")
        root = logging.getLogger()
        if _handler not in root.handlers:
            root.addHandler(_handler)
        for h in root.handlers:
            if h is not _handler and not any(isinstance(f, InStepFilter) for f in h.filters):
                h.addFilter(InStepFilter())


def real_stream(name: str) -> Any:
    """The terminal stream behind a step-capturing proxy (for printing from a step thread
    without the output being taken for the step's own)."""
    stream = getattr(sys, name)
    while isinstance(stream, _StepStream):
        stream = stream.inner
    return stream
