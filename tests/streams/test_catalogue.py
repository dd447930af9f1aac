"""DevKit e2e catalogue rows made applicable by streams and child workflows (both runtimes).

Row numbers refer to docs/CONFORMANCE.md. Where the reference reads a stream through
`run.getReadable()` these tests use `wfctl.streams.read_stream`; where it returns a
ReadableStream from a step (row 8) the Python step writes to `getWritable()` instead.
"""

from __future__ import annotations

from pathlib import Path

from wfctl.serde import payload
from wfctl.streams import read_stream, stream_name
from worlds import open_world


def _stream(data_dir: Path, run_id: str, **kw) -> list:
    with open_world(data_dir) as w:
        return [c.data for c in read_stream(run_id, world=w, **kw)]


def test_row8_stream_of_lines(engine, data_dir: Path, runtime: str) -> None:
    res = engine().start("slowStream", [10, 0], runtime=runtime)
    assert res.status == "completed"
    assert "".join(_stream(data_dir, res.run_id)) == "".join(f"{i}\n" for i in range(10))


def test_row24_manual_abort_signal(engine, data_dir: Path, runtime: str) -> None:
    eng = engine()
    rid = eng.start("distributedAbort", ["r24", 3_600_000], runtime=runtime, timeout=1).run_id
    assert eng.get_run(rid)["status"] == "running"
    done = eng.resume_hook("distributed-abort:r24", {"reason": "User cancelled"})
    assert done.status == "completed"
    assert _stream(data_dir, rid) == [
        {"type": "abort", "reason": "User cancelled", "expired": False}
    ]


def test_row25_ttl_abort_signal(engine, data_dir: Path, runtime: str) -> None:
    res = engine().start("distributedAbort", ["r25", 300], runtime=runtime)
    assert res.status == "completed"
    assert _stream(data_dir, res.run_id, follow=True, timeout=5) == [
        {"type": "abort", "reason": "Controller expired", "expired": True}
    ]


def test_row26_reconnect_by_token(engine, runtime: str) -> None:
    eng = engine()
    rid = eng.start("distributedAbort", ["r26", 3_600_000], runtime=runtime, timeout=1).run_id
    hook = eng.world.get_hook_by_token("distributed-abort:r26")  # find the run by its token
    assert hook["runId"] == rid
    res = eng.resume_hook("distributed-abort:r26", {"reason": "Test complete"})
    assert payload.decode(res.run["output"]) == {"aborted": True, "reason": "Test complete"}


def test_rows27_to_32_tail_and_chunks(engine, data_dir: Path, runtime: str) -> None:
    rid = engine().start("outputStream", [], runtime=runtime).run_id
    assert _stream(data_dir, rid) == [b"Hello, world!", {"foo": "test"}]  # 27
    assert _stream(data_dir, rid, start_index=1) == [{"foo": "test"}]  # 28
    assert _stream(data_dir, rid, start_index=-1) == [{"foo": "test"}]  # 29
    with open_world(data_dir) as w:
        assert w.read_stream_chunks(rid, stream_name(rid), start=1 << 62).tail_index == 1  # 30
        assert w.read_stream_chunks(rid, stream_name(rid, "nonexistent")).tail_index == -1  # 31
        pages, start = [], 0  # 32: page by page, limit 1, same content as reading
        while True:
            page = w.read_stream_chunks(rid, stream_name(rid), start=start, limit=1)
            if not page.chunks:
                break
            pages.extend(page.chunks)
            start = page.chunks[-1][0] + 1
        assert len(pages) == 2 and page.done


def test_row33_get_writable_inside_steps(engine, data_dir: Path, runtime: str) -> None:
    rid = engine().start("insideStep", [], runtime=runtime).run_id
    assert _stream(data_dir, rid) == [b"Hello from step!", b"Second message"]
    assert _stream(data_dir, rid, namespace="step-ns") == [{"message": "hi"}, {"counter": 42}]


def test_row34_utf8_chunks(engine, data_dir: Path, runtime: str) -> None:
    rid = engine().start("utf8Stream", [], runtime=runtime).run_id
    got = _stream(data_dir, rid, follow=True, timeout=5)
    texts = [b.decode("utf-8", errors="strict") for b in got[:3]]
    assert texts == ["Héllo wörld àçèñ", "日本語テキスト 🎉🚀", "مرحبا بالعالم"]
    assert got[3] == {"ok": True, "note": "ünïcödé"}


def test_row71_fibonacci_6(engine, runtime: str) -> None:
    res = engine().start("fibonacci", [6], runtime=runtime)
    assert payload.decode(res.run["output"]) == 8


def test_row70_start_from_workflow_with_hook_signal(engine, data_dir, runtime, monkeypatch) -> None:
    monkeypatch.setenv("WORKFLOW_LOCAL_DATA_DIR", str(data_dir))  # for the signalling step
    res = engine().start("startFromWorkflow", [7], runtime=runtime)
    out = payload.decode(res.run["output"])
    assert out["payload"] == {"processed": 21}
    assert out["childResult"] == "signalled"


def test_unawaited_child_is_driven_by_start(engine, data_dir, runtime) -> None:
    """`wfctl start` runs children nobody awaits while the parent waits on something else."""
    res = engine().start("manyChildren", [2], runtime=runtime)
    assert payload.decode(res.run["output"]) == 2
    from wfctl.engine.children import children_of

    with open_world(data_dir) as w:
        kids = children_of(w, res.run_id)
        assert len(kids) == 2


def test_row69_run_handles_cross_boundaries(engine, runtime) -> None:
    res = engine().start("runHandles", [4], runtime=runtime)
    out = payload.decode(res.run["output"])
    assert out["seen"]["status"] == "completed"
    assert out["seen"]["value"] == {"childResult": 8, "originalValue": 4}
    assert out["isRun"] is True and out["same"] is True
    assert out["again"] == {"childResult": 8, "originalValue": 4}


def test_two_handles_awaited_at_once(engine, runtime) -> None:
    res = engine().start("twoHandles", [], runtime=runtime)
    assert payload.decode(res.run["output"]) == 12


def test_row68_spawn_from_step(engine, data_dir, runtime, monkeypatch) -> None:
    monkeypatch.setenv("WORKFLOW_LOCAL_DATA_DIR", str(data_dir))  # for the steps' Client
    res = engine().start("spawnFromStep", [42], runtime=runtime)
    assert payload.decode(res.run["output"]) == {"childResult": 84, "originalValue": 42}
