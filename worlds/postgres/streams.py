"""Streams in the PostgreSQL world (the equivalent of world-local's ``streams/`` files).

``streams`` has one row per stream (run, next index, done); ``stream_chunks`` one row per
chunk. A write locks its stream row (``FOR UPDATE``), so indexes are dense and ordered and a
write after close is refused in the same transaction that would have stored it.
"""

from __future__ import annotations

from typing import Any

from ..streams import StreamChunks, StreamClosedError
from . import migrations

VERSION = 3  # world = 1, fleet = 2

migrations.register(
    VERSION,
    """
CREATE TABLE {s}.streams (
    name     text PRIMARY KEY,
    run_id   text NOT NULL,
    ord      bigserial,
    next_idx bigint NOT NULL DEFAULT 0,
    done     boolean NOT NULL DEFAULT false
);
CREATE INDEX streams_by_run ON {s}.streams (run_id, ord);
CREATE TABLE {s}.stream_chunks (
    name text NOT NULL,
    idx  bigint NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (name, idx)
);
""",
)


class PostgresStreams:
    """Mixin for ``PostgresWorld`` (uses its ``_tx``, ``_read`` and ``_sql.s``)."""

    _sql: Any

    def _stream_row(self, conn: Any, run_id: str, name: str) -> tuple[int, bool]:
        s = self._sql.s
        conn.execute(
            f"INSERT INTO {s}.streams (name, run_id) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
            (name, run_id),
        )
        row = conn.execute(
            f"SELECT next_idx, done FROM {s}.streams WHERE name = %s FOR UPDATE", (name,)
        ).fetchone()
        return int(row[0]), bool(row[1])

    def write_stream_chunk(self, run_id: str, name: str, data: bytes) -> int:
        s = self._sql.s
        with self._tx() as conn:  # type: ignore[attr-defined]
            idx, done = self._stream_row(conn, run_id, name)
            if done:
                raise StreamClosedError(f"stream {name} is closed; it cannot be written again")
            conn.execute(
                f"INSERT INTO {s}.stream_chunks (name, idx, data) VALUES (%s, %s, %s)",
                (name, idx, bytes(data)),
            )
            conn.execute(f"UPDATE {s}.streams SET next_idx = %s WHERE name = %s", (idx + 1, name))
        return idx

    def close_stream(self, run_id: str, name: str) -> None:
        s = self._sql.s
        with self._tx() as conn:  # type: ignore[attr-defined]
            self._stream_row(conn, run_id, name)
            conn.execute(f"UPDATE {s}.streams SET done = true WHERE name = %s", (name,))

    def list_streams(self, run_id: str) -> list[str]:
        s = self._sql.s
        rows = self._read(  # type: ignore[attr-defined]
            f"SELECT name FROM {s}.streams WHERE run_id = %s ORDER BY ord", (run_id,)
        )
        return [r[0] for r in rows]

    def read_stream_chunks(
        self, run_id: str, name: str, *, start: int = 0, limit: int | None = None
    ) -> StreamChunks:
        s = self._sql.s
        head = self._read(  # type: ignore[attr-defined]
            f"SELECT next_idx, done FROM {s}.streams WHERE name = %s", (name,)
        )
        if not head:
            return StreamChunks(chunks=[], done=False, tail_index=-1)
        next_idx, done = int(head[0][0]), bool(head[0][1])
        sql = f"SELECT idx, data FROM {s}.stream_chunks WHERE name = %s AND idx >= %s ORDER BY idx"
        params: tuple[Any, ...] = (name, max(0, start))
        if limit is not None:
            sql += " LIMIT %s"
            params = (*params, limit)
        rows = self._read(sql, params)  # type: ignore[attr-defined]
        return StreamChunks(
            chunks=[(int(i), bytes(d)) for i, d in rows], done=done, tail_index=next_idx - 1
        )
