"""The stream methods of every world (local; PostgreSQL once the Postgres world is present):
order, indexes, EOF, refusing writes after close, listing, paging, concurrent writers."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from worlds import open_world
from worlds.streams import StreamClosedError


@pytest.fixture(params=["local", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "local":
        target = str(tmp_path / "store")
    else:
        try:
            server = request.getfixturevalue("pg_server")
            url = request.getfixturevalue("pg_module_url")
        except pytest.FixtureLookupError:
            pytest.skip("no PostgreSQL test server in this checkout")
        target = server.new_schema(url, "s")
    w = open_world(target)
    yield w
    w.close()


def _run(world) -> str:
    data = {"deploymentId": "t", "workflowName": "workflow//./workflows//w", "input": b"devl[[]]"}
    return world.create_event(None, "run_created", event_data=data).run["runId"]


def test_write_read_close(world) -> None:
    rid = _run(world)
    name = f"strm_{rid[5:]}_user"
    assert world.read_stream_chunks(rid, name).tail_index == -1
    assert [world.write_stream_chunk(rid, name, bytes([i]) * 3) for i in range(3)] == [0, 1, 2]
    got = world.read_stream_chunks(rid, name)
    assert got.chunks == [(0, b"\0\0\0"), (1, b"\1\1\1"), (2, b"\2\2\2")]
    assert (got.done, got.tail_index) == (False, 2)
    assert world.read_stream_chunks(rid, name, start=1, limit=1).chunks == [(1, b"\1\1\1")]
    world.close_stream(rid, name)
    world.close_stream(rid, name)  # idempotent
    with pytest.raises(StreamClosedError):
        world.write_stream_chunk(rid, name, b"late")
    got = world.read_stream_chunks(rid, name, start=5)
    assert (got.chunks, got.done, got.tail_index) == ([], True, 2)
    world.write_stream_chunk(rid, name + "_bmFtZWQ", b"x")
    assert world.list_streams(rid) == [name, name + "_bmFtZWQ"]
    assert world.list_streams(_run(world)) == []


def test_concurrent_writers_keep_dense_order(world) -> None:
    rid = _run(world)
    name = f"strm_{rid[5:]}_user"

    def writer(tag: int) -> None:
        for i in range(10):
            world.write_stream_chunk(rid, name, f"{tag}:{i}".encode())

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = world.read_stream_chunks(rid, name)
    assert [i for i, _ in got.chunks] == list(range(30))
    for tag in range(3):  # each writer's chunks keep their own order
        mine = [d for _, d in got.chunks if d.startswith(f"{tag}:".encode())]
        assert mine == [f"{tag}:{i}".encode() for i in range(10)]
