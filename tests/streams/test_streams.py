"""Streams: getWritable() handed to Python steps, durable ordered chunks in the world-local
layout, `wfctl inspect stream(s)` and the Python reader. Real VM, real world, real CLI."""

from __future__ import annotations

import base64
import struct
import threading
from pathlib import Path

import pytest
from flows_support import cli, json_lines, spawn

from wfctl.streams import read_stream, stream_name
from worlds import open_world

KEY = base64.b64encode(b"K" * 32).decode()


def _chunks(data_dir: Path, run_id: str, *extra: str) -> list[dict]:
    res = cli(data_dir, "inspect", "stream", run_id, "--json", *extra)
    assert res.returncode == 0, res.stderr
    return json_lines(res.stdout)


def test_output_stream_in_order_cli_and_reader(engine, data_dir: Path, runtime: str) -> None:
    """Catalogue 27-32: bytes + object on the default stream, text + object on a named one."""
    res = engine().start("outputStream", [], runtime=runtime)
    assert res.status == "completed"
    rid = res.run_id
    if runtime == "snapshot":  # the CLI output does not depend on the runtime: check it once
        assert _chunks(data_dir, rid) == [
            {"index": 0, "data": base64.b64encode(b"Hello, world!").decode()},
            {"index": 1, "data": {"foo": "test"}},
        ]
        assert _chunks(data_dir, rid, "--namespace", "test", "--start-index", "-1") == [
            {"index": 1, "data": {"foo": "bar"}},
        ]
    # the Python reader decodes to Python values
    with open_world(data_dir) as w:
        got = [(c.index, c.data) for c in read_stream(rid, world=w)]
        assert got == [(0, b"Hello, world!"), (1, {"foo": "test"})]
        assert [c.data for c in read_stream(rid, world=w, start_index=-1)] == [{"foo": "test"}]
        assert [c.data for c in read_stream(rid, world=w, start_index=1)] == [{"foo": "test"}]
        assert [c.data for c in read_stream(rid, world=w, namespace="test")] == [
            "Hello, named stream!",
            {"foo": "bar"},
        ]
        assert list(read_stream(rid, world=w, namespace="nothing")) == []
        assert [c.data for c in read_stream(rid, world=w, start_index=-5)] == [
            b"Hello, world!",
            {"foo": "test"},
        ]
        # getTailIndex / getChunks equivalents (rows 30-32)
        info = w.read_stream_chunks(rid, stream_name(rid), start=1 << 62)
        assert (info.tail_index, info.done) == (1, True)
        empty = w.read_stream_chunks(rid, stream_name(rid, "none"))
        assert (empty.tail_index, empty.done, empty.chunks) == (-1, False, [])
        page = w.read_stream_chunks(rid, stream_name(rid), start=0, limit=1)
        assert len(page.chunks) == 1
    if runtime != "snapshot":
        return
    listed = cli(data_dir, "inspect", "streams", rid, "--json")
    assert listed.returncode == 0, listed.stderr
    import json

    data = json.loads(listed.stdout)["data"]
    assert [(d["namespace"], d["tailIndex"], d["done"]) for d in data] == [
        (None, 1, True),
        ("test", 1, True),
    ]


def test_world_local_layout(engine, data_dir: Path) -> None:
    """streams/runs/<runId>.json and streams/chunks/<name>-chnk_<ULID>.bin with an EOF file."""
    rid = engine().start("outputStream", []).run_id
    import json

    doc = json.loads((data_dir / "streams" / "runs" / f"{rid}.json").read_text())
    assert doc == {"streams": [stream_name(rid), stream_name(rid, "test")]}
    files = sorted((data_dir / "streams" / "chunks").glob(f"{stream_name(rid)}-chnk_*.bin"))
    assert len(files) == 3
    raws = [f.read_bytes() for f in files]
    assert [r[:1] for r in raws] == [b"\x00", b"\x00", b"\x01"]
    assert raws[2] == b"\x01"
    # each data chunk: one frame [u32 BE length]["devl" + devalue text] (reference §7.6)
    (n,) = struct.unpack(">I", raws[1][1:5])
    assert raws[1][5:] == b'devl[{"foo":1},"test"]' and n == len(raws[1]) - 5


def test_reader_started_before_writer_follows_to_eof(engine, data_dir: Path) -> None:
    eng = engine()
    rid = eng.start("slowStream", [4, 150], wait=False).run_id
    got: list = []

    def read() -> None:
        with open_world(data_dir) as w:
            got.extend(c.data for c in read_stream(rid, world=w, follow=True, timeout=60))

    t = threading.Thread(target=read)
    t.start()
    follower = spawn(data_dir, "inspect", "stream", rid, "--json", "--follow")
    assert eng.drive(rid).status == "completed"
    t.join(30)
    assert not t.is_alive()
    assert got == ["0\n", "1\n", "2\n", "3\n"]
    out, err = follower.communicate(timeout=30)  # --follow ends at EOF by itself
    assert follower.returncode == 0, err
    assert [c["data"] for c in json_lines(out)] == ["0\n", "1\n", "2\n", "3\n"]


def test_retried_step_writes_are_appended_not_rewritten(engine, data_dir: Path) -> None:
    """As the reference: a failed attempt's chunks stay; readers see every attempt in order."""
    rid = engine().start("retriedStream", []).run_id
    assert [c["data"] for c in _chunks(data_dir, rid)] == ["a1-1", "a1-2", "a2-1", "a2-2"]


def test_async_step_and_get_writable_inside_step(engine, data_dir: Path, runtime: str) -> None:
    eng = engine()
    rid = eng.start("asyncStream", [], runtime=runtime).run_id
    assert [c["data"] for c in _chunks(data_dir, rid)] == [
        "a",
        {"b": 2},
        base64.b64encode(b"c").decode(),
    ]
    with open_world(data_dir) as w:
        assert w.read_stream_chunks(rid, stream_name(rid)).done  # `async with` closed it
    rid = eng.start("insideStep", [], runtime=runtime).run_id  # catalogue row 33
    with open_world(data_dir) as w:
        assert [c.data for c in read_stream(rid, world=w, follow=True, timeout=5)] == [
            b"Hello from step!",
            b"Second message",
        ]
        named = read_stream(rid, world=w, namespace="step-ns", follow=True, timeout=5)
        assert [c.data for c in named] == [{"message": "hi"}, {"counter": 42}]


def test_utf8_bytes_chunks_round_trip(engine, data_dir: Path) -> None:
    """Catalogue row 34: multi-byte UTF-8 in byte chunks decodes exactly."""
    texts = ["Héllo wörld", "日本語 🎉", "مرحبا"]
    rid = engine().start("outputStream", []).run_id  # opens the store
    with open_world(data_dir) as w:
        from wfctl.streams import StreamWriter

        writer = StreamWriter(w, rid, stream_name(rid, "utf8"), None)
        for t in texts:
            writer.write(t.encode("utf-8"))
        writer.write({"done": True})
        writer.close()
        got = [c.data for c in read_stream(rid, world=w, namespace="utf8")]
    assert [g.decode("utf-8", errors="strict") for g in got[:3]] == texts
    assert got[3] == {"done": True}


def test_encrypted_stream_is_not_plaintext(engine, data_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("WFCTL_ENCRYPTION_KEY", KEY)
    rid = engine().start("outputStream", []).run_id
    blobs = b"".join(p.read_bytes() for p in (data_dir / "streams" / "chunks").iterdir())
    assert b"Hello" not in blobs and b"foo" not in blobs and b"devl" not in blobs
    assert b"encr" in blobs
    got = _chunks(data_dir, rid, "--namespace", "test")
    assert got[0]["data"] == "Hello, named stream!"  # the CLI decrypts with the key
    res = cli(data_dir, "inspect", "stream", rid, env={"WFCTL_ENCRYPTION_KEY": ""})
    assert res.returncode != 0 and "encrypt" in res.stderr.lower()


def test_bad_input(engine, data_dir: Path) -> None:
    eng = engine()
    out = eng.start("closedTwice", [])
    from wfctl.serde import payload

    # fatal: a retry could not reopen the stream, so the step fails at once
    assert payload.decode(out.run["output"]).startswith("FatalError: stream strm_")
    assert "is closed; it cannot be written again" in payload.decode(out.run["output"])
    bad = payload.decode(eng.start("badChunk", []).run["output"])
    assert "cannot write this value to a stream" in bad
    res = eng.start("badNamespace", [])
    assert res.status == "failed"
    assert "namespace must be a string" in res.run["error"]["message"]
    missing = cli(data_dir, "inspect", "stream", "wrun_01M8VJB0ZM1TR0MKFZ300GRVAX")
    assert missing.returncode == 3 and "not found" in missing.stderr
    missing = cli(data_dir, "inspect", "streams", "wrun_01M8VJB0ZM1TR0MKFZ300GRVAX")
    assert missing.returncode == 3


@pytest.mark.parametrize("fsync", ["1"])
def test_chunk_size_on_disk(engine, data_dir: Path, fsync: str) -> None:
    """Bytes per chunk: 1 flag byte + 4 length bytes + 'devl' + devalue text."""
    rid = engine().start("slowStream", [3, 0]).run_id
    files = sorted((data_dir / "streams" / "chunks").glob(f"{stream_name(rid)}-chnk_*.bin"))
    sizes = [f.stat().st_size for f in files]
    assert sizes[:3] == [1 + 4 + len(b'devl["0\\n"]')] * 3


def test_follow_ends_when_the_run_ends_without_close(engine, data_dir: Path) -> None:
    rid = engine().start("unclosed", []).run_id
    res = cli(data_dir, "inspect", "stream", rid, "--json", "--follow", timeout=60)
    assert res.returncode == 0, res.stderr
    assert [c["data"] for c in json_lines(res.stdout)] == ["only"]
