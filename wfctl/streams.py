"""Run streams: what a step writes with ``getWritable()`` and what readers get back.

Writing (inside a Python step)::

    @step
    def narrate(out: StreamWriter) -> None:      # `out` is getWritable() passed by the workflow
        with out:                                # closes the stream when the block ends normally
            out.write("hello")                   # str, bytes, or any JSON-able / devalue value
            out.write({"progress": 0.5})

Reading (any process)::

    from wfctl.streams import read_stream
    for chunk in read_stream(run_id, namespace=None, start_index=-1, follow=True):
        print(chunk.index, chunk.data)

Each chunk is stored as one frame of the reference stream framing (workflow-devkit.md §7.6):
``[uint32 big-endian length][payload]`` where the payload is ``devl`` + devalue text of the
value written (``encr`` + AES-GCM of that when ``WFCTL_ENCRYPTION_KEY`` is set), so the
DevKit's own reader decodes the same values. A step that is retried after writing keeps what
it wrote: streams are append-only, readers see the chunks of every attempt in write order
(the reference behaves the same way). A writer used as a context manager is closed only when
the block ends without an exception, so a failed attempt leaves the stream open for the retry.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import struct
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from wfctl.serde import crypto, payload
from wfctl.serde.values import Tagged
from worlds.streams import StreamClosedError

__all__ = [
    "StreamWriter",
    "AsyncStreamWriter",
    "StreamChunkError",
    "StreamClosedError",
    "Chunk",
    "get_writable",
    "read_stream",
    "stream_name",
    "chunk_json",
]

STREAM_TAG = "WritableStream"
_MAX_FRAME = 100 * 1024 * 1024  # the reference reader's framing heuristic bound


class StreamChunkError(TypeError):
    """A chunk that cannot be serialized. Fatal: retrying the step writes the same value."""

    fatal = True


def stream_name(run_id: str, namespace: str | None = None) -> str:
    """The reference name: ``strm_<runULID>_user`` or ``…_user_<base64url(namespace)>``."""
    if namespace is not None and not isinstance(namespace, str):
        raise TypeError(f"stream namespace must be a string, got {type(namespace).__name__}")
    base = f"strm_{run_id.removeprefix('wrun_')}_user"
    if not namespace:
        return base
    enc = base64.urlsafe_b64encode(namespace.encode("utf-8")).rstrip(b"=").decode("ascii")
    return f"{base}_{enc}"


# ---------------------------------------------------------------- framing


def frame(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def unframe(chunk: bytes) -> list[bytes]:
    """The frame payloads of one stored chunk (wfctl writes one frame per chunk)."""
    out: list[bytes] = []
    pos = 0
    while pos + 4 <= len(chunk):
        (n,) = struct.unpack_from(">I", chunk, pos)
        if n == 0 or n > _MAX_FRAME or pos + 4 + n > len(chunk):
            break
        out.append(chunk[pos + 4 : pos + 4 + n])
        pos += 4 + n
    if pos != len(chunk):  # not framed: raw bytes (a byte stream written by another tool)
        return [chunk] if not out else [*out, chunk[pos:]]
    return out


def _encode_chunk(value: Any, key: bytes | None) -> bytes:
    if isinstance(value, bytearray | memoryview):
        value = bytes(value)
    try:
        return frame(payload.encode(value, key=key, context="stream chunk"))
    except TypeError as exc:
        raise StreamChunkError(f"cannot write this value to a stream: {exc}") from None


def decode_chunk(data: bytes, key: bytes | None) -> list[Any]:
    values: list[Any] = []
    for part in unframe(data):
        if payload.format_of(part) in ("devl", "encr"):
            values.append(payload.decode(part, key=key))
        else:
            values.append(part)
    return values


def run_key(run_id: str) -> bytes | None:
    master = crypto.master_key_from_env()
    return crypto.derive_run_key(master, run_id) if master else None


# ---------------------------------------------------------------- writers


class StreamWriter:
    """Writes chunks to one run stream. ``write`` returns once the chunk is durable."""

    def __init__(self, world: Any, run_id: str, name: str, key: bytes | None) -> None:
        self._world = world
        self.run_id = run_id
        self.name = name
        self._key = key
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def write(self, chunk: Any) -> None:
        """Append ``chunk`` (bytes, str, or a serializable value)."""
        if self._closed:
            raise StreamClosedError(f"stream {self.name} is closed; it cannot be written again")
        self._world.write_stream_chunk(self.run_id, self.name, _encode_chunk(chunk, self._key))

    def close(self) -> None:
        """Write the EOF marker; readers that follow the stream end. Idempotent."""
        if not self._closed:
            self._world.close_stream(self.run_id, self.name)
            self._closed = True

    def __enter__(self) -> StreamWriter:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            self.close()

    def __repr__(self) -> str:
        return f"StreamWriter({self.name!r})"


class AsyncStreamWriter:
    """The awaitable variant handed to ``async def`` steps."""

    def __init__(self, writer: StreamWriter) -> None:
        self._w = writer
        self.run_id = writer.run_id
        self.name = writer.name

    @property
    def closed(self) -> bool:
        return self._w.closed

    async def write(self, chunk: Any) -> None:
        await asyncio.to_thread(self._w.write, chunk)

    async def close(self) -> None:
        await asyncio.to_thread(self._w.close)

    async def __aenter__(self) -> AsyncStreamWriter:
        return self

    async def __aexit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            await self.close()

    def __repr__(self) -> str:
        return f"AsyncStreamWriter({self.name!r})"


# ---------------------------------------------------------------- inside a step


@dataclass(frozen=True)
class _StepEnv:
    world: Any
    run_id: str
    key: bytes | None
    is_async: bool


_env: contextvars.ContextVar[_StepEnv | None] = contextvars.ContextVar(
    "wfctl_stream_env", default=None
)


@contextmanager
def step_streams(world: Any, run_id: str, key: bytes | None, is_async: bool) -> Iterator[None]:
    """Make ``get_writable()`` work inside the step that runs in this block."""
    token = _env.set(_StepEnv(world, run_id, key, is_async))
    try:
        yield
    finally:
        _env.reset(token)


def _writer(env: _StepEnv, name: str) -> StreamWriter | AsyncStreamWriter:
    w = StreamWriter(env.world, env.run_id, name, env.key)
    return AsyncStreamWriter(w) if env.is_async else w


def get_writable(namespace: str | None = None) -> StreamWriter | AsyncStreamWriter:
    """The current run's stream (``namespace`` selects a named one), from inside a step."""
    env = _env.get()
    if env is None:
        raise RuntimeError("get_writable() called outside of a running step")
    return _writer(env, stream_name(env.run_id, namespace))


def bind_args(value: Any) -> Any:
    """Step arguments with every ``getWritable()`` handle replaced by a writer (and every
    child ``Run`` by a :class:`wfctl.engine.children.ChildRun`)."""
    env = _env.get()
    if env is None:
        return value
    return _bind(value, env)


def _bind(value: Any, env: _StepEnv) -> Any:
    if isinstance(value, Tagged):
        if value.tag == STREAM_TAG and isinstance(value.value, dict):
            name = value.value.get("name")
            if isinstance(name, str):
                return _writer(env, name)
        if value.tag == "Run":  # a child's Run handle (catalogue row 69)
            from wfctl.engine.children import bind_run  # noqa: PLC0415

            return bind_run(value, env.world)
        return value
    if type(value) is list:
        return [_bind(v, env) for v in value]
    if type(value) is dict:
        return {k: _bind(v, env) for k, v in value.items()}
    return value


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class Chunk:
    index: int
    data: Any  # str, bytes, or the decoded value


def chunk_json(chunk: Chunk) -> dict[str, Any]:
    """``{"index", "data"}`` for JSON output: text as is, bytes as base64, values decoded."""
    from wfctl.cli.jsonout import to_json  # noqa: PLC0415 - only the CLI path needs it

    data = chunk.data
    if isinstance(data, bytes):
        return {"index": chunk.index, "data": base64.b64encode(data).decode("ascii")}
    return {"index": chunk.index, "data": to_json(data)}


def default_world() -> Any:
    """The world named by the environment (``WFCTL_WORLD`` / ``WORKFLOW_LOCAL_DATA_DIR``)."""
    import os  # noqa: PLC0415

    from worlds import open_world  # noqa: PLC0415

    try:
        return open_world()  # type: ignore[call-arg]
    except TypeError:  # a worlds package whose open_world needs the target
        return open_world(os.environ.get("WORKFLOW_LOCAL_DATA_DIR") or ".workflow-data")


def read_stream(
    run_id: str,
    *,
    namespace: str | None = None,
    start_index: int = 0,
    follow: bool = False,
    world: Any = None,
    key: bytes | None = None,
    key_from_env: bool = True,
    poll: float = 0.1,
    timeout: float | None = None,
) -> Generator[Chunk, None, None]:
    """Yield the chunks of a run stream in write order, decoded.

    ``start_index`` < 0 counts back from the end (as read when reading starts; clamped at 0).
    With ``follow`` the iterator waits for new chunks (polling every ``poll`` s) until the
    stream is closed or the run has ended (then whatever was written is yielded first), or
    ``timeout`` s pass. ``world`` defaults to ``worlds.open_world()``; ``key`` to the run's key
    derived from ``WFCTL_ENCRYPTION_KEY`` (unless ``key_from_env=False``). Raises ``worlds.errors.RunNotFoundError`` for an
    unknown run and ``TypeError`` for a non-string namespace.
    """
    name = stream_name(run_id, namespace)
    own = world is None
    if own:
        world = default_world()
    try:
        world.get_run(run_id)  # RunNotFoundError for an unknown run
        if key is None and key_from_env:
            key = run_key(run_id)
        yield from _follow(world, run_id, name, start_index, follow, key, poll, timeout)
    finally:
        if own:
            world.close()


def _follow(
    world: Any,
    run_id: str,
    name: str,
    start: int,
    follow: bool,
    key: bytes | None,
    poll: float,
    timeout: float | None,
) -> Iterator[Chunk]:
    deadline = None if timeout is None else time.monotonic() + timeout
    if start < 0:
        tail = world.read_stream_chunks(run_id, name, start=1 << 62).tail_index
        start = max(0, tail + 1 + start)
    nxt = start
    while True:
        page = world.read_stream_chunks(run_id, name, start=nxt)
        for index, data in page.chunks:
            for value in decode_chunk(data, key):
                yield Chunk(index, value)
            nxt = index + 1
        if page.done or not follow:
            return
        if world.get_run(run_id)["status"] in ("completed", "failed", "cancelled"):
            # The run ended: nothing can write anymore; flush what arrived meanwhile.
            last = world.read_stream_chunks(run_id, name, start=nxt)
            for index, data in last.chunks:
                for value in decode_chunk(data, key):
                    yield Chunk(index, value)
            return
        if deadline is not None and time.monotonic() >= deadline:
            return
        time.sleep(poll)
