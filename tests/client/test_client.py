"""wfctl.Client and AsyncClient through their public names, on the real VM and world."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime

import pytest

from wfctl import AsyncClient, BigInt, Client, HookPayloadError, JSMap, RunCancelled, RunFailed
from wfctl.errors import NotFoundError
from worlds import open_world
from worlds.errors import HookNotFoundError

from .conftest import APP


def test_start_result_embedded(client):
    run = client.start("sumTo", 10)
    assert run.id.startswith("wrun_")
    assert run.result(timeout=30) == 55
    assert run.status() == "completed"
    info = client.get_run(run.id)
    assert info.status == "completed" and info.input == [10] and info.output == 55
    assert info.workflow == "sumTo"
    assert [s.name for s in info.steps] == ["add"] * 10
    assert info.steps[-1].input == [45, 10] and info.steps[-1].output == 55
    assert info.started_at <= info.completed_at


def test_values_come_back_decoded(client):
    out = client.start("richResult").result(timeout=30)
    assert out["when"] == datetime(1970, 1, 1, tzinfo=UTC)
    assert out["tags"] == {"a"}
    assert isinstance(out["big"], BigInt) and out["big"] == 2**70
    assert isinstance(out["map"], JSMap) and out["map"] == {1: "one"}


def test_run_failed_names_the_step_and_error(client):
    with pytest.raises(RunFailed) as exc:
        client.start("failInStep", 250).result(timeout=30)
    e = exc.value
    assert e.error_name == "FatalError"
    assert e.message == "card declined for 250 cents"
    assert e.step == "charge"
    assert e.error_code == "USER_ERROR"

    with pytest.raises(RunFailed) as exc:
        client.start("failInWorkflow").result(timeout=30)
    assert exc.value.step is None and exc.value.message == "workflow gave up"
    failed = client.get_run(exc.value.run_id)
    assert failed.status == "failed" and failed.error.name == "FatalError"


def test_result_timeout_then_hook_resume(client):
    run = client.start("approval", "o-1")
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        run.result(timeout=0.5)
    assert 0.45 < time.monotonic() - t0 < 5
    assert run.status() == "running"
    with pytest.raises(NotFoundError):
        client.resume_hook("approve:nobody", True)
    assert client.resume_hook("approve:o-1", {"ok": True}).id == run.id
    assert run.result(timeout=30) == {"id": "o-1", "decision": {"ok": True}}


def test_typed_hook_refuses_a_bad_payload_without_writing(client, cli, data_dir):
    run = client.start("typedPayment", "t-1")
    deadline = time.monotonic() + 30
    while run.status() != "running" or not _has(data_dir, run.id, "hook_created"):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    # The hook_created event is committed before its token claim is projected: wait for the
    # token itself, or the refusal below could be "no such token" instead of the schema.
    with open_world(data_dir) as world:
        while True:
            try:
                world.get_hook_by_token("pay:t-1")
                break
            except HookNotFoundError:
                assert time.monotonic() < deadline
                time.sleep(0.02)
    before = _events(data_dir, run.id)
    with pytest.raises(HookPayloadError) as exc:
        client.resume_hook("pay:t-1", {"amount": 0})
    assert isinstance(exc.value, ValueError)
    assert [e["path"] for e in exc.value.errors] == ["$", "$.amount"]
    res = cli(
        "--data-dir",
        str(data_dir),
        "hook",
        "resume",
        "pay:t-1",
        '{"amount": "x"}',
        "--app",
        str(APP),
    )
    assert res.returncode == 2 and "$.amount" in res.stderr
    assert _events(data_dir, run.id) == before
    client.resume_hook("pay:t-1", {"amount": 3, "currency": "USD"})
    assert run.result(timeout=30) == {"id": "t-1", "amount": 3, "currency": "USD"}


def test_cancel_and_list(client):
    run = client.start("sleepy", 60_000)
    deadline = time.monotonic() + 30
    while run.status() != "running":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert client.cancel(run.id) == "cancelled"
    with pytest.raises(RunCancelled):
        run.result(timeout=5)
    done = client.start("sumTo", 2)
    done.result(timeout=30)
    assert [r.run_id for r in client.list_runs(status="completed")] == [done.id]
    assert [r.run_id for r in client.list_runs(workflow="sleepy")] == [run.id]
    with pytest.raises(ValueError):
        client.list_runs(status="bogus")


def test_drive_false_with_a_worker_subprocess(make_client, data_dir):
    client = make_client(drive=False)
    run = client.start("sumTo", 5)
    time.sleep(0.3)
    assert run.status() == "pending"  # nobody drives it here
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wfctl.cli",
            "--data-dir",
            str(data_dir),
            "worker",
            "--app",
            str(APP),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert run.result(timeout=60) == 15
    finally:
        worker.terminate()
        worker.wait(30)
        worker.stderr.close()


def test_async_client_inside_a_running_loop(data_dir):
    async def main() -> tuple[object, int, str]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        async with AsyncClient(APP, data_dir) as aclient:
            t = asyncio.create_task(ticker())
            run = await aclient.start("slowSteps", 2, 0.3)
            result = await run.result(timeout=30)
            status = await run.status()
            t.cancel()
            runs = await aclient.list_runs()
            assert [r.run_id for r in runs] == [run.id]
        return result, ticks, status

    result, ticks, status = asyncio.run(main())
    assert result == [0, 1] and status == "completed"
    assert ticks > 20  # the loop kept running while the run was waited for


def test_steps_imported_once_per_process(tmp_path):
    log = tmp_path / "imports.log"
    script = textwrap.dedent(
        f"""
        import asyncio
        from wfctl import AsyncClient, Client
        a = Client({str(APP)!r}, {str(tmp_path / "d")!r})
        b = Client({str(APP)!r}, {str(tmp_path / "d")!r})
        assert a.start("sumTo", 3).result(30) == 6
        assert b.start("sumTo", 4).result(30) == 10
        async def main():
            async with AsyncClient({str(APP)!r}, {str(tmp_path / "d")!r}) as c:
                return await (await c.start("sumTo", 2)).result(30)
        assert asyncio.run(main()) == 3
        a.close(); b.close()
        """
    )
    env = {**os.environ, "WFCTL_TEST_IMPORT_LOG": str(log)}
    res = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    assert len(log.read_text().splitlines()) == 1


def test_world_defaults_like_the_cli(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKFLOW_LOCAL_DATA_DIR", str(tmp_path / "envdata"))
    monkeypatch.delenv("WFCTL_WORLD", raising=False)
    monkeypatch.setenv("WFCTL_APP", str(APP))
    with Client() as c:
        assert c.start("sumTo", 1).result(timeout=30) == 1
    assert (tmp_path / "envdata" / "runs").is_dir()


def _events(data_dir, run_id):
    w = open_world(data_dir)
    try:
        return [e["eventId"] for e in w.list_events(run_id).data]
    finally:
        w.close()


def _has(data_dir, run_id, event_type):
    w = open_world(data_dir)
    try:
        return any(e["eventType"] == event_type for e in w.list_events(run_id).data)
    finally:
        w.close()


def test_webhook_urls_from_the_clients_public_url(make_client, monkeypatch):
    monkeypatch.delenv("WFCTL_PUBLIC_URL", raising=False)
    for public, prefix in (("https://shop.test/wf/", "https://shop.test/wf"), (None, "")):
        client = make_client(public_url=public)
        run = client.start("webhookFlow")
        deadline = time.monotonic() + 30
        while not (steps := client.get_run(run.id).steps) or steps[0].status != "completed":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        made = steps[0].output
        assert made["urls"] == [
            f"{prefix}/.well-known/workflow/v1/webhook/{t}" for t in made["tokens"]
        ]
        client.cancel(run.id)


def test_a_long_sleep_holds_no_thread(client):
    # Drives wait in-process only for timers due within `grace`; a later timer is handed to a
    # threading.Timer that submits the run again when due (here grace is shortened).
    client.driver.grace = 0.1
    run = client.start("sleepy", 1500)
    time.sleep(0.8)
    assert run.status() == "running"
    assert not client.driver.active and run.id in client.driver.timers
    assert run.result(timeout=30) == "woke"


def test_drive_false_result_reads_only_its_run_with_backoff(make_client):
    client = make_client(drive=False)
    run = client.start("sumTo", 1)
    calls = []
    real_get_run = client.engine.get_run

    def counting(run_id):
        calls.append(run_id)
        return real_get_run(run_id)

    client.engine.get_run = counting
    with pytest.raises(TimeoutError):
        run.result(timeout=1.5)
    assert set(calls) == {run.id}
    assert len(calls) < 20  # 10 ms growing to 0.5 s, not a busy loop
