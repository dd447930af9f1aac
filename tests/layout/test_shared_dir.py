"""Issue 16: the data directory shared with the DevKit's tools (real CLI processes, real VM).

A foreign process converts the directory to the run-scoped layout, cuts a conversion short,
or deletes the whole tree; wfctl keeps reading, writes the layout it finds, and rebuilds the
tree from its own state (``<data-dir>.wfctl/``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from engine_support import T_APP, check_cli, listing, one_json

from wfctl.engine.app import App
from wfctl.engine.engine import Engine
from worlds import open_world

HERE = Path(__file__).resolve().parent
CONVERT = HERE / "convert.py"
GOLDEN = HERE.parent / "world" / "golden"


def wf(cli, data_dir: Path, *args: str, env: dict[str, str] | None = None):
    return cli("--data-dir", str(data_dir), *args, env=env)


def foreign_convert(data_dir: Path, *, half: bool = False) -> int:
    """Run the upstream-style conversion in another process."""
    args = [sys.executable, str(CONVERT), str(data_dir), *(["--half"] if half else [])]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=60)
    return int(out.stdout)


def flat_files(data_dir: Path) -> list[str]:
    return sorted(
        p.name for d in ("events", "steps") for p in (data_dir / d).glob("*.json") if p.is_file()
    )


def everything(data_dir: Path) -> dict:
    """Every run with its events, steps and hooks as the world reads them."""
    world = open_world(data_dir)
    try:
        out = {}
        for run in world.list_runs(limit=1000).data:
            rid = run["runId"]
            out[rid] = {
                "run": run,
                "events": world.list_events(rid).data,
                "steps": world.list_steps(rid, limit=1000).data,
                "hooks": world.list_hooks(run_id=rid).data,
            }
        return out
    finally:
        world.close()


def test_waiting_run_completes_after_foreign_conversion(cli, data_dir, runtime):
    app = ["--app", str(T_APP)]
    doc = one_json(
        check_cli(
            wf(
                cli,
                data_dir,
                "start",
                "waitHook",
                "tok-c",
                "5",
                "--runtime",
                runtime,
                *app,
                "--json",
            ),
            0,
        )
    )
    assert doc["status"] == "running"
    before = everything(data_dir)
    assert foreign_convert(data_dir) > 0
    assert flat_files(data_dir) == []
    assert everything(data_dir) == before  # read from events/<runId>/, steps/<runId>/

    done = one_json(
        check_cli(wf(cli, data_dir, "hook", "resume", "tok-c", '{"n": 4}', *app, "--json"), 0)
    )
    assert done["status"] == "completed", done
    run = one_json(check_cli(wf(cli, data_dir, "inspect", "run", doc["runId"], "--json"), 0))
    assert run["output"] == {"a": 6, "b": 10, "got": {"n": 4}}
    # the new files went where the converting tool put the others
    assert flat_files(data_dir) == []
    assert len(list((data_dir / "events" / doc["runId"]).glob("*.json"))) == len(
        everything(data_dir)[doc["runId"]]["events"]
    )
    check_cli(wf(cli, data_dir, "doctor"), 0)


def test_golden_samples_read_the_same_in_both_layouts_and_half_converted(tmp_path):
    flat = tmp_path / "flat"
    shutil.copytree(GOLDEN, flat)
    expected = everything(flat)
    assert len(expected) == 12
    for half in (True, False):
        store = tmp_path / ("half" if half else "scoped")
        shutil.copytree(GOLDEN, store)
        moved = foreign_convert(store, half=half)
        assert moved and (bool(flat_files(store)) is half)
        assert everything(store) == expected, f"half={half}"
        world = open_world(store)
        try:
            hook = world.get_hook_by_token("pending:o2")
            assert world.get_run(hook["runId"])["status"] == "running"
            step = world.list_steps(hook["runId"]).data
            for s in step:
                assert world.get_step(hook["runId"], s["stepId"]) == s
        finally:
            world.close()


def _populate(data_dir: Path) -> dict[str, str]:
    world = open_world(data_dir)
    try:
        engine = Engine(world, App.load(T_APP))
        done = engine.start("addTen", [5])
        waiting = engine.start("waitHook", ["tok-rm", 5])
        failed = engine.start("catchFail", [2, 1])
        return {"done": done.run_id, "waiting": waiting.run_id, "other": failed.run_id}
    finally:
        world.close()


@pytest.mark.parametrize("layout", ["flat", "run-scoped"])
def test_rm_rf_of_the_data_directory_is_rebuilt_and_a_waiting_run_completes(cli, data_dir, layout):
    env = {"WFCTL_LOCAL_LAYOUT": layout}
    os.environ["WFCTL_LOCAL_LAYOUT"] = layout
    try:
        ids = _populate(data_dir)
    finally:
        del os.environ["WFCTL_LOCAL_LAYOUT"]
    assert bool(flat_files(data_dir)) is (layout == "flat")
    files = {k: v for k, v in listing(data_dir).items() if not k.startswith(".wfctl/")}
    reads = everything(data_dir)
    shutil.rmtree(data_dir)  # what vercel-workflow does to a flat-layout directory

    # documented: the next command notices and rebuilds, saying so in one line
    proc = check_cli(wf(cli, data_dir, "inspect", "runs", "--json", env=env), 0)
    assert proc.stderr.count("rebuilding 3 runs") == 1, proc.stderr
    again = {k: v for k, v in listing(data_dir).items() if not k.startswith(".wfctl/")}
    assert again == files  # every run, event, step, hook, wait, lock file: byte for byte
    assert everything(data_dir) == reads

    done = one_json(
        check_cli(
            wf(
                cli, data_dir, "hook", "resume", "tok-rm", '{"n": 1}', "--app", str(T_APP), "--json"
            ),
            0,
        )
    )
    assert done["status"] == "completed"
    run = one_json(check_cli(wf(cli, data_dir, "inspect", "run", ids["waiting"], "--json"), 0))
    assert run["output"]["b"] == 7
    check_cli(wf(cli, data_dir, "doctor"), 0)

    # `wfctl repair` does the same on demand
    shutil.rmtree(data_dir / "runs")
    doc = one_json(check_cli(wf(cli, data_dir, "repair", "--json"), 0))
    assert doc["rebuiltRuns"] == 3
    assert len(list((data_dir / "runs").glob("*.json"))) == 3


def _many_runs(data_dir: Path, n: int) -> None:
    os.environ["WFCTL_FSYNC"] = "0"
    try:
        world = open_world(data_dir)
        for _ in range(n):
            rid = world.create_event(
                None,
                "run_created",
                event_data={"deploymentId": "d", "workflowName": "w", "input": b"devl[]"},
            ).run["runId"]
            world.create_event(rid, "run_started")
            world.create_event(
                rid,
                "step_created",
                correlation_id="step_1",
                event_data={"stepName": "s", "input": b"devl[]"},
            )
        world.close()
    finally:
        del os.environ["WFCTL_FSYNC"]


@pytest.mark.parametrize("to", ["run-scoped", "flat"])
def test_migrate_layout_killed_and_rerun_converges(cli, data_dir, to):
    _many_runs(data_dir, 150)
    if to == "flat":
        check_cli(wf(cli, data_dir, "migrate-layout", "--to", "run-scoped"), 0)
    before = everything(data_dir)
    args = [
        sys.executable,
        "-m",
        "wfctl.cli",
        "--data-dir",
        str(data_dir),
        "migrate-layout",
        "--to",
        to,
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill it mid-way: some files moved, some not
        scoped = sum(1 for p in (data_dir / "events").iterdir() if p.is_dir())
        if (to == "run-scoped" and scoped > 5) or (to == "flat" and scoped < 140):
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    mixed = one_json(check_cli(wf(cli, data_dir, "doctor", "--json"), 0))
    assert mixed["layout"] == "mixed", mixed  # it was cut short
    assert everything(data_dir) == before  # a half-way directory reads the same
    doc = one_json(check_cli(wf(cli, data_dir, "migrate-layout", "--to", to, "--json"), 0))
    assert doc["layout"] == to, doc
    assert everything(data_dir) == before
    report = one_json(check_cli(wf(cli, data_dir, "doctor", "--json"), 0))
    assert report["layout"] == to and report["writes"] == to and not report["problems"]


def test_legacy_state_inside_the_data_directory_is_moved_once(data_dir):
    ids = _populate(data_dir)
    state = data_dir.with_name(data_dir.name + ".wfctl")
    before = everything(data_dir)
    os.rename(state / "snapshots", data_dir / "snapshots")
    os.rename(state, data_dir / ".wfctl")  # how wfctl laid out a store before issue 16
    assert everything(data_dir) == before
    assert not (data_dir / ".wfctl").exists() and not (data_dir / "snapshots").exists()
    assert (state / "journal" / f"{ids['waiting']}.jsonl").exists()
    assert (state / "snapshots").is_dir()


def test_bad_layout_setting_is_a_usage_error(cli, data_dir):
    proc = check_cli(wf(cli, data_dir, "inspect", "runs", env={"WFCTL_LOCAL_LAYOUT": "nested"}), 2)
    assert "WFCTL_LOCAL_LAYOUT" in proc.stderr
    check_cli(wf(cli, data_dir, "migrate-layout", "--to", "sideways"), 2)


def test_doctor_reports_versions_and_disagreements(cli, data_dir):
    ids = _populate(data_dir)
    (data_dir / "version.txt").write_text("@workflow/world-local@9.9.9")
    events = sorted((data_dir / "events").glob(f"{ids['done']}-*.json"))
    events[-1].unlink()
    report = one_json(check_cli(wf(cli, data_dir, "doctor", "--json"), 1))
    assert report["versionTxt"] == "@workflow/world-local@9.9.9"
    assert "@workflow/world-local@9.9.9" in report["versionsSeen"]
    assert [p["runId"] for p in report["problems"]] == [ids["done"]]
    proc = check_cli(wf(cli, data_dir, "inspect", "runs"), 0)
    assert "9.9.9" not in proc.stderr  # said once, when it was first seen


def test_run_being_driven_while_another_process_converts(data_dir, runtime):
    """The upstream conversion runs (twice) while wfctl drives a run: it completes, and the
    files written meanwhile are read wherever they landed."""
    args = [sys.executable, "-m", "wfctl.cli", "--data-dir", str(data_dir), "start", "slowSeq"]
    args += ["8", "150", "--runtime", runtime, "--app", str(T_APP), "--json"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list((data_dir / "steps").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert foreign_convert(data_dir) > 0
    time.sleep(0.5)
    foreign_convert(data_dir)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    doc = json.loads(out)
    assert (doc["status"], doc["output"]) == ("completed", 8)
    got = everything(data_dir)[doc["runId"]]
    assert [e["eventType"] for e in got["events"]][-1] == "run_completed"
    assert len(got["steps"]) == 8 and {s["status"] for s in got["steps"]} == {"completed"}
    world = open_world(data_dir)
    try:
        from worlds.local.shared import doctor

        assert doctor(world)["problems"] == []
    finally:
        world.close()


def test_tree_deleted_under_a_running_process_is_rebuilt_on_use(data_dir):
    """A long-lived process (serve, worker) that already opened the store: listing runs and
    resuming a hook by token rebuild what was deleted."""
    ids = _populate(data_dir)
    world = open_world(data_dir)
    try:
        assert len(world.list_runs().data) == 3
        shutil.rmtree(data_dir)
        hook = world.get_hook_by_token("tok-rm")
        assert hook["runId"] == ids["waiting"]
        assert {r["runId"] for r in world.list_runs().data} == set(ids.values())
        engine = Engine(world, App.load(T_APP))
        engine.resume_hook("tok-rm", {"n": 2})
        assert world.get_run(ids["waiting"])["status"] == "completed"
    finally:
        world.close()


def test_directory_replaced_by_another_tool_is_rebuilt_and_said(cli, data_dir):
    """What a foreign SDK does: delete the directory and create its own (another
    version.txt, empty run-scoped directories). wfctl notices the new directory."""
    _populate(data_dir)
    reads = everything(data_dir)
    shutil.rmtree(data_dir)
    (data_dir / "events").mkdir(parents=True)
    (data_dir / "version.txt").write_text("@workflow/world-local@9.9.9")
    proc = check_cli(wf(cli, data_dir, "inspect", "runs"), 0)
    assert proc.stderr.count("was replaced or moved") == 1, proc.stderr
    assert proc.stderr.count("9.9.9") == 1, proc.stderr
    assert everything(data_dir) == reads
    assert (data_dir / "version.txt").read_text() == "@workflow/world-local@9.9.9"  # left as is
