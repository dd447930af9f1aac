"""Defects 6, 7, 8, 9 of issue 14 through the real CLI: output never crashes on a stored
string; damaged projections are rebuilt from the journal and a cut journal is reported;
a run's encryption is fixed at creation; cancelling a cancelled run writes nothing."""

from __future__ import annotations

import base64
import json
import os

import pytest
from engine_support import assert_unchanged, check_cli, listing
from hostile_support import HOSTILE

APP = ["--app", str(HOSTILE)]
KEY = base64.b64encode(b"k" * 32).decode()


def _base(data_dir):
    return ["--data-dir", str(data_dir)]


def _start(cli, data_dir, *args, env=None, code=0):
    proc = check_cli(cli(*_base(data_dir), "start", *args, "--json", *APP, env=env), code)
    return json.loads(proc.stdout)


# ---------------------------------------------------------------- defect 6


def test_lone_surrogates_never_crash_output(cli, data_dir, hostile):
    run = _start(cli, data_dir, "surrogate", "a")
    assert run["output"] == "a\ud800!"  # valid JSON: the surrogate travels as \\ud800
    hostile.start("surrogate", ["\udc00"])  # and one in the input
    for args in (
        ["inspect", "runs"],
        ["inspect", "runs", "--json"],
        ["inspect", "run", run["runId"]],
        ["inspect", "events", run["runId"], "--json"],
    ):
        proc = check_cli(cli(*_base(data_dir), *args), 0)
        if "--json" in args:
            json.loads(proc.stdout)
    human = check_cli(cli(*_base(data_dir), "start", "surrogate", "b", *APP), 0)
    assert "\\ud800" in human.stdout


# ---------------------------------------------------------------- defect 7


def test_a_damaged_run_file_is_rebuilt_and_the_worker_drives_the_run(cli, data_dir, hostile):
    run = {"runId": hostile.start("healthy", [1], wait=False).run_id}
    (data_dir / "runs" / f"{run['runId']}.json").write_text("{garbage")
    check_cli(cli(*_base(data_dir), "worker", "--until-idle", *APP), 0)
    shown = json.loads(
        check_cli(cli(*_base(data_dir), "inspect", "run", run["runId"], "--json"), 0).stdout
    )
    assert shown["status"] == "completed" and shown["output"] == 2
    proc = check_cli(cli(*_base(data_dir), "replay", "--all", "--json", *APP), 0)
    assert [r["runId"] for r in json.loads(proc.stdout)["runs"]] == [run["runId"]]


def test_a_missing_run_file_is_rebuilt_for_listings(cli, data_dir, hostile):
    run = {"runId": hostile.start("healthy", [1]).run_id}
    (data_dir / "runs" / f"{run['runId']}.json").unlink()
    listed = json.loads(check_cli(cli(*_base(data_dir), "inspect", "runs", "--json"), 0).stdout)
    assert [r["runId"] for r in listed["data"]] == [run["runId"]]


def test_a_damaged_hook_file_is_rebuilt_and_the_hook_resumes(cli, data_dir, hostile):
    assert hostile.start("waitHook", ["tok-d"]).status == "running"
    for f in (data_dir / "hooks").glob("hook_*.json"):
        f.write_text("{bad")
    done = json.loads(
        check_cli(cli(*_base(data_dir), "hook", "resume", "tok-d", '"v"', "--json", *APP), 0).stdout
    )
    assert done["status"] == "completed" and done["output"] == "v"


def test_a_journal_shorter_than_its_projections_is_reported_and_nothing_is_written(cli, data_dir):
    run = _start(cli, data_dir, "waitHook", "tok-j")
    journal = data_dir.with_name(data_dir.name + ".wfctl") / "journal" / f"{run['runId']}.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:2]))  # cut: run_created, run_started only
    # the run file was projected from the (lost) later events: updated after the cut
    doc = json.loads((data_dir / "runs" / f"{run['runId']}.json").read_text())
    doc["updatedAt"] = "2999-01-01T00:00:00.000Z"
    (data_dir / "runs" / f"{run['runId']}.json").write_text(json.dumps(doc))
    before = listing(data_dir)
    proc = check_cli(cli(*_base(data_dir), "replay", "--all", *APP), 1)
    assert "shorter than its projections" in proc.stdout
    proc = cli(*_base(data_dir), "hook", "resume", "tok-j", '"v"', *APP)
    assert proc.returncode == 1 and "shorter than its projections" in proc.stderr, proc.stderr
    assert_unchanged(before, data_dir)


# ---------------------------------------------------------------- defect 8


@pytest.mark.parametrize(
    "created_with_key", [False, True], ids=["plain-then-key", "key-then-plain"]
)
def test_a_runs_encryption_is_fixed_at_creation(created_with_key, cli, data_dir):
    first = {"WFCTL_ENCRYPTION_KEY": KEY} if created_with_key else {}
    run = _start(cli, data_dir, "waitHook", "tok-e", env=first)
    assert run["status"] == "running"
    before = listing(data_dir)
    second = {} if created_with_key else {"WFCTL_ENCRYPTION_KEY": KEY}
    env = {k: v for k, v in os.environ.items() if k != "WFCTL_ENCRYPTION_KEY"} | second
    proc = check_cli(cli(*_base(data_dir), "hook", "resume", "tok-e", '"x"', *APP, env=env), 2)
    assert "created with" in proc.stderr and "encryption" in proc.stderr, proc.stderr
    proc = check_cli(cli(*_base(data_dir), "worker", "--until-idle", *APP, env=env), 1)
    assert "created with" in proc.stderr, proc.stderr  # the worker reports it, writes nothing
    assert_unchanged(before, data_dir)


def test_an_empty_key_is_a_usage_error(cli, data_dir):
    proc = check_cli(cli(*_base(data_dir), "inspect", "runs", env={"WFCTL_ENCRYPTION_KEY": ""}), 2)
    assert "WFCTL_ENCRYPTION_KEY" in proc.stderr
    assert not data_dir.exists()


# ---------------------------------------------------------------- defect 9


def test_cancelling_a_cancelled_run_writes_nothing(cli, data_dir, hostile):
    run = {"runId": hostile.start("waitHook", ["tok-c"]).run_id}
    check_cli(cli(*_base(data_dir), "cancel", run["runId"]), 0)
    before = listing(data_dir)
    proc = check_cli(cli(*_base(data_dir), "cancel", run["runId"], "--json"), 0)
    doc = json.loads(proc.stdout)
    assert doc["status"] == "cancelled" and "already cancelled" in doc["notes"][0]
    assert_unchanged(before, data_dir)
    events = json.loads(
        check_cli(cli(*_base(data_dir), "inspect", "events", run["runId"], "--json"), 0).stdout
    )
    assert [e["eventType"] for e in events["data"]].count("run_cancelled") == 1
