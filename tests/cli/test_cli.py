"""The `wfctl` command line and bad input (SPEC §6, §8), through real subprocesses.

Exit codes: 0 ok, 1 the run failed / the check found a problem, 2 usage error, 3 not found.
Errors are one line on stderr, never a traceback; `--json` prints exactly one JSON document on
stdout; bad input leaves the data directory as it was.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from engine_support import (
    KEY_A,
    T_APP,
    assert_one_line,
    assert_unchanged,
    check_cli,
    json_lines,
    key_env,
    listing,
    one_json,
    snapshot_path,
)

from wfctl.engine.app import App
from wfctl.engine.engine import Engine
from worlds import open_world

RUN_ID_RE = re.compile(r"^wrun_[0-9A-HJKMNP-TV-Z]{26}$")
GHOST_RUN = "wrun_01M80ZV6XRY086CQJBQGHFJWHA"
EXPORTS = [
    "addTen",
    "waitHook",
    "seqSteps",
    "catchFail",
    "unknownStep",
    "badResult",
    "sleeper",
    "retried",
]


def wf(cli, data_dir: Path, *args: str, env: dict[str, str] | None = None):
    return cli("--data-dir", str(data_dir), *args, env=env)


@pytest.fixture
def store(data_dir: Path) -> dict[str, str]:
    """A data directory with a completed run, a run waiting on hook `tok-live` and a pending run."""
    world = open_world(data_dir)
    try:
        engine = Engine(world, App.load(T_APP))
        done = engine.start("addTen", [5])
        waiting = engine.start("waitHook", ["tok-live", 5])
        pending = engine.start("seqSteps", [2], wait=False)
        assert (done.status, waiting.status, pending.status) == ("completed", "running", "pending")
        return {"done": done.run_id, "waiting": waiting.run_id, "pending": pending.run_id}
    finally:
        world.close()


# ------------------------------------------------------------------ start --json


def test_start_json_shape(cli, data_dir):
    doc = one_json(
        check_cli(wf(cli, data_dir, "start", "addTen", "5", "--app", str(T_APP), "--json"), 0)
    )
    assert set(doc) == {"runId", "workflowName", "runtime", "status", "output"}, doc
    assert RUN_ID_RE.match(doc["runId"]), doc["runId"]
    assert doc["workflowName"] == "addTen"
    assert doc["runtime"] == "snapshot"
    assert doc["status"] == "completed"
    assert doc["output"] == 15

    doc = one_json(
        check_cli(
            wf(
                cli,
                data_dir,
                "--json",
                "start",
                "addTen",
                "--input",
                "[7]",
                "--runtime",
                "replay",
                "--app",
                str(T_APP),
            ),
            0,
        )
    )
    assert (doc["runtime"], doc["output"]) == ("replay", 17)

    # a run waiting on a hook: status running, no output yet
    doc = one_json(
        check_cli(
            wf(cli, data_dir, "start", "waitHook", "tok-shape", "1", "--app", str(T_APP), "--json"),
            0,
        )
    )
    assert (
        set(doc) == {"runId", "workflowName", "runtime", "status"} and doc["status"] == "running"
    ), doc


def test_start_json_shape_of_a_failed_run(cli, data_dir):
    proc = check_cli(wf(cli, data_dir, "start", "unknownStep", "--app", str(T_APP), "--json"), 1)
    doc = one_json(proc)
    assert set(doc) == {"runId", "workflowName", "runtime", "status", "error"}, doc
    assert doc["status"] == "failed"
    err = doc["error"]
    assert set(err) <= {"name", "message", "stack", "cause", "errorCode"}, err
    assert "not registered" in err["message"] and "nope" in err["message"], err
    assert err.get("errorCode"), err

    doc = one_json(
        check_cli(wf(cli, data_dir, "start", "secretFail", "xyz", "--app", str(T_APP), "--json"), 1)
    )
    assert doc["error"]["name"] == "Error"
    assert doc["error"]["message"] == "workflow failure mentions xyz"
    assert doc["error"]["errorCode"] == "USER_ERROR"

    # human output of a failed run: exit 1, no traceback
    proc = check_cli(wf(cli, data_dir, "start", "unknownStep", "--app", str(T_APP)), 1)
    assert "failed" in proc.stdout and "not registered" in proc.stdout


# ------------------------------------------------------------------ bad input


def test_unknown_workflow(cli, data_dir, store):
    before = listing(data_dir)
    proc = check_cli(
        wf(cli, data_dir, "start", "nosuch", "1", "--app", str(T_APP), "--json"),
        2,
        one_line_error=False,
    )
    assert proc.stdout == ""
    assert_unchanged(before, data_dir)
    assert "nosuch" in proc.stderr
    for name in EXPORTS:
        assert name in proc.stderr, f"{name} not named in: {proc.stderr}"
    assert_one_line(proc)


@pytest.mark.parametrize(
    "args",
    [
        ["start", "addTen", '{"a":'],
        ["start", "addTen", "[1, 2"],
        ["start", "addTen", "--input", "[1,"],
        ["start", "addTen", "--input", '{"a": 1}'],
        ["start", "addTen", "1", "--input", "[1]"],
        ["hook", "resume", "tok-live", '{"n":'],
        # valid JSON syntax, but beyond what Python reads (int digit limit): was AttributeError
        ["start", "addTen", "--input", "[" + "9" * 5000 + "]"],
    ],
    ids=[
        "object",
        "array",
        "input",
        "input-not-array",
        "args-and-input",
        "hook-payload",
        "input-5000-digits",
    ],
)
def test_malformed_json_arguments(args, cli, data_dir, store):
    before = listing(data_dir)
    proc = check_cli(
        wf(cli, data_dir, *args, "--app", str(T_APP), "--json"), 2, one_line_error=False
    )
    assert proc.stdout == ""
    assert_unchanged(before, data_dir)
    assert_one_line(proc)


def test_syntax_error_in_workflows_js(cli, data_dir, store, copy_app):
    app = copy_app("t_engine")
    src = app / "workflows.js"
    lines = src.read_text().splitlines()
    line_no = next(i for i, ln in enumerate(lines, 1) if "const b = await add(a, 3);" in ln)
    lines[line_no - 1] = "  const b = await add(a, 3;"
    src.write_text("\n".join(lines) + "\n")
    before = listing(data_dir)
    for args in (
        ["start", "addTen", "5"],
        ["worker", "--until-idle"],
        ["hook", "resume", "tok-live", "{}"],
        ["replay", "--all"],
    ):
        proc = check_cli(
            wf(cli, data_dir, *args, "--app", str(app), "--json"), 2, one_line_error=False
        )
        assert_unchanged(before, data_dir)
        assert "workflows.js" in proc.stderr and f"{line_no}" in proc.stderr, proc.stderr
        assert_one_line(proc)


def test_step_returning_an_unencodable_value(cli, data_dir):
    proc = check_cli(wf(cli, data_dir, "start", "badResult", "--app", str(T_APP), "--json"), 1)
    doc = one_json(proc)
    msg = doc["error"]["message"]
    assert "unencodable" in msg and "object" in msg, msg
    steps = one_json(check_cli(wf(cli, data_dir, "inspect", "steps", doc["runId"], "--json"), 0))[
        "data"
    ]
    assert [s["status"] for s in steps] == ["failed"]
    step_err = steps[0]["error"]
    text = step_err.get("message", "") if isinstance(step_err, dict) else str(step_err)
    assert "unencodable" in text and "object" in text, step_err


@pytest.mark.parametrize(
    "args",
    [
        ["inspect", "run", GHOST_RUN],
        ["inspect", "steps", GHOST_RUN],
        ["inspect", "events", GHOST_RUN],
        ["inspect", "sleeps", GHOST_RUN],
        ["inspect", "hooks", "--run", GHOST_RUN],
        ["cancel", GHOST_RUN],
        ["snapshot", "show", GHOST_RUN],
        ["snapshot", "rm", GHOST_RUN],
        ["snapshot", GHOST_RUN, "--app", str(T_APP)],
        ["replay", GHOST_RUN, "--app", str(T_APP)],
        ["inspect", "run", "not-a-run-id"],
    ],
    ids=lambda a: "-".join(x for x in a if not x.startswith(("/", "wrun_", "--app"))),
)
def test_unknown_run_id_is_not_found(args, cli, data_dir, store):
    before = listing(data_dir)
    proc = check_cli(wf(cli, data_dir, *args, "--json"), 3, one_line_error=False)
    assert proc.stdout == ""
    assert_unchanged(before, data_dir)
    assert_one_line(proc)


def test_unknown_hook_token_is_not_found(cli, data_dir, store):
    before = listing(data_dir)
    proc = check_cli(
        wf(
            cli,
            data_dir,
            "hook",
            "resume",
            "no-such-token",
            '{"n": 1}',
            "--app",
            str(T_APP),
            "--json",
        ),
        3,
        one_line_error=False,
    )
    assert_unchanged(before, data_dir)
    assert "no-such-token" in proc.stderr
    assert_one_line(proc)


@pytest.mark.parametrize(
    "args,env",
    [
        (["start", "addTen", "5"], {"WORKFLOW_RUNTIME": "bogus"}),
        (["start", "addTen", "5", "--runtime", "bogus"], None),
        (["start", "addTen", "5", "--runtime", "Snapshot"], None),
        (["hook", "resume", "tok-live", '{"n": 1}'], {"WORKFLOW_RUNTIME": "bogus"}),
        (["worker", "--until-idle"], {"WORKFLOW_RUNTIME": "snapshots"}),
    ],
    ids=["env-start", "flag-start", "flag-case", "env-hook-resume", "env-worker"],
)
def test_runtime_typo_is_a_usage_error(args, env, cli, data_dir, store):
    before = listing(data_dir)
    proc = check_cli(
        wf(cli, data_dir, *args, "--app", str(T_APP), "--json", env=env), 2, one_line_error=False
    )
    assert_unchanged(before, data_dir)
    assert "runtime" in proc.stderr.lower() or "WORKFLOW_RUNTIME" in proc.stderr
    assert_one_line(proc)


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_listing_a_missing_or_empty_data_dir(kind, cli, tmp_path):
    data_dir = tmp_path / "nothing-here"
    if kind == "empty":
        data_dir.mkdir()
    doc = one_json(check_cli(wf(cli, data_dir, "inspect", "runs", "--json"), 0))
    assert doc == {"data": [], "cursor": None, "hasMore": False}
    doc = one_json(check_cli(wf(cli, data_dir, "inspect", "hooks", "--json"), 0))
    assert doc["data"] == []
    check_cli(wf(cli, data_dir, "inspect", "runs"), 0)
    if kind == "missing":
        assert not data_dir.exists(), "listing created the data directory"
    else:
        assert list(data_dir.iterdir()) == [], "listing wrote into the empty data directory"


def test_usage_errors_exit_2(cli, data_dir):
    assert wf(cli, data_dir, "start").returncode == 2  # missing WORKFLOW
    assert wf(cli, data_dir, "inspect", "runs", "--status", "weird").returncode == 2
    assert wf(cli, data_dir, "snapshot", "frobnicate", "x", "y").returncode == 2
    assert wf(cli, data_dir, "nosuchcommand").returncode == 2
    assert wf(cli, data_dir, "start", "addTen", "--app", str(data_dir / "no-app")).returncode == 2
    assert not data_dir.exists()


# ------------------------------------------------------------------ --json everywhere


def test_every_command_prints_one_json_document(cli, data_dir, store):
    app = ["--app", str(T_APP)]
    done, waiting = store["done"], store["waiting"]
    docs = {}
    commands = {
        "start": ["start", "addTen", "1", *app],
        "start-no-wait": ["start", "addTen", "2", "--no-wait", *app],
        "inspect-runs": ["inspect", "runs"],
        "inspect-runs-filtered": [
            "inspect",
            "runs",
            "--status",
            "completed",
            "--workflow",
            "addTen",
            "--limit",
            "1",
        ],
        "inspect-run": ["inspect", "run", done],
        "inspect-steps": ["inspect", "steps", done],
        "inspect-events": ["inspect", "events", done],
        "inspect-hooks": ["inspect", "hooks"],
        "inspect-hooks-run": ["inspect", "hooks", "--run", waiting],
        "inspect-sleeps": ["inspect", "sleeps", done],
        "replay": ["replay", "--all", *app],
        "snapshot-build": ["snapshot", waiting, *app],
        "snapshot-show": ["snapshot", "show", waiting],
        "snapshot-rm": ["snapshot", "rm", waiting],
        "hook-resume": ["hook", "resume", "tok-live", '{"n": 2}', *app],
        "cancel": ["cancel", store["pending"]],
    }
    for name, args in commands.items():
        proc = check_cli(wf(cli, data_dir, *args, "--json"), 0)
        docs[name] = one_json(proc)
        # the global flag works the same
    docs["global"] = one_json(check_cli(wf(cli, data_dir, "--json", "inspect", "runs"), 0))

    for name in (
        "inspect-runs",
        "inspect-steps",
        "inspect-events",
        "inspect-hooks",
        "inspect-sleeps",
        "global",
    ):
        assert set(docs[name]) == {"data", "cursor", "hasMore"}, (name, docs[name])
    assert len(docs["inspect-runs-filtered"]["data"]) == 1
    assert docs["inspect-runs-filtered"]["hasMore"] is True
    run = docs["inspect-run"]
    for k in (
        "runId",
        "status",
        "workflowName",
        "input",
        "output",
        "createdAt",
        "startedAt",
        "completedAt",
        "steps",
    ):
        assert k in run, (k, run)
    assert run["output"] == 15 and len(run["steps"]) == 3
    assert [h["token"] for h in docs["inspect-hooks-run"]["data"]] == ["tok-live"]
    assert set(docs["replay"]) == {"ok", "runs"}
    assert docs["hook-resume"]["status"] == "completed"
    assert docs["cancel"] == {"runId": store["pending"], "status": "cancelled"}

    # a stream: one JSON document per line
    proc = check_cli(wf(cli, data_dir, "worker", "--until-idle", *app, "--json"), 0)
    assert all(set(d) == {"driven", "events", "finished"} for d in json_lines(proc)), proc.stdout


# ------------------------------------------------------------------ cancel, worker


def test_cancel_a_waiting_run(cli, data_dir):
    doc = one_json(
        check_cli(
            wf(
                cli, data_dir, "start", "waitHook", "tok-cancel", "1", "--app", str(T_APP), "--json"
            ),
            0,
        )
    )
    run_id = doc["runId"]
    assert snapshot_path(data_dir, run_id).is_file()

    proc = check_cli(wf(cli, data_dir, "cancel", run_id, "--json"), 0)
    assert one_json(proc) == {"runId": run_id, "status": "cancelled"}
    run = one_json(check_cli(wf(cli, data_dir, "inspect", "run", run_id, "--json"), 0))
    assert run["status"] == "cancelled" and run.get("completedAt")
    assert not snapshot_path(data_dir, run_id).exists()
    hooks = one_json(check_cli(wf(cli, data_dir, "inspect", "hooks", "--json"), 0))
    assert hooks["data"] == [], "a cancelled run's hooks are deleted"

    before = listing(data_dir)
    check_cli(
        wf(cli, data_dir, "hook", "resume", "tok-cancel", "{}", "--app", str(T_APP)),
        3,
        one_line_error=False,
    )
    assert_unchanged(before, data_dir)
    # again: idempotent (the reference world even appends a second run_cancelled) or refused
    proc = wf(cli, data_dir, "cancel", run_id)
    assert proc.returncode in (0, 2) and "Traceback" not in proc.stderr, proc.stderr
    run = one_json(check_cli(wf(cli, data_dir, "inspect", "run", run_id, "--json"), 0))
    assert run["status"] == "cancelled"

    # a finished run cannot be cancelled
    done = one_json(
        check_cli(wf(cli, data_dir, "start", "addTen", "1", "--app", str(T_APP), "--json"), 0)
    )["runId"]
    before = listing(data_dir)
    proc = check_cli(wf(cli, data_dir, "cancel", done, "--json"), 2, one_line_error=False)
    assert proc.stdout == ""
    assert_unchanged(before, data_dir)


def test_worker_until_idle_finishes_no_wait_runs(cli, data_dir):
    app = ["--app", str(T_APP)]
    started = {
        "addTen": (["addTen", "5"], 15),
        "sleeper": (["sleeper", "300"], {"x": 2, "slept": True}),
        "retried": (["retried"], {"attempt": 2}),
        "catchFail": (["catchFail", "3", "2"], {"v": 3, "caught": ["boom 0", "boom 2"]}),
    }
    ids = {}
    for name, (args, _) in started.items():
        doc = one_json(check_cli(wf(cli, data_dir, "start", *args, "--no-wait", *app, "--json"), 0))
        assert doc["status"] == "pending" and "output" not in doc, doc
        ids[name] = doc["runId"]

    proc = check_cli(wf(cli, data_dir, "worker", "--until-idle", *app, "--json"), 0)
    passes = json_lines(proc)
    assert sum(p["finished"] for p in passes) >= len(ids), passes

    for name, run_id in ids.items():
        run = one_json(check_cli(wf(cli, data_dir, "inspect", "run", run_id, "--json"), 0))
        assert run["status"] == "completed", (name, run)
        assert run["output"] == started[name][1], (name, run["output"])
    retried = one_json(
        check_cli(wf(cli, data_dir, "inspect", "steps", ids["retried"], "--json"), 0)
    )["data"]
    assert [s["attempt"] for s in retried] == [2]
    sleeps = one_json(
        check_cli(wf(cli, data_dir, "inspect", "sleeps", ids["sleeper"], "--json"), 0)
    )["data"]
    assert len(sleeps) == 1 and sleeps[0].get("completedAt"), sleeps

    # idle now: a second worker pass has nothing to do and writes nothing
    before = listing(data_dir)
    proc = check_cli(wf(cli, data_dir, "worker", "--until-idle", *app, "--json"), 0)
    assert all(p["events"] == 0 for p in json_lines(proc))
    assert_unchanged(before, data_dir)


def test_worker_drives_other_runs_past_one_it_cannot_open(cli, data_dir):
    """A run encrypted with a key the worker lacks is reported; the other runs still finish."""
    locked = one_json(
        check_cli(
            wf(
                cli,
                data_dir,
                "start",
                "addTen",
                "1",
                "--no-wait",
                "--app",
                str(T_APP),
                "--json",
                env=key_env(KEY_A),
            ),
            0,
        )
    )
    plain = one_json(
        check_cli(
            wf(
                cli,
                data_dir,
                "start",
                "addTen",
                "2",
                "--no-wait",
                "--app",
                str(T_APP),
                "--json",
                env=key_env(None),
            ),
            0,
        )
    )
    proc = wf(
        cli, data_dir, "worker", "--until-idle", "--app", str(T_APP), "--json", env=key_env(None)
    )
    check_cli(proc, 1)
    assert locked["runId"] in proc.stderr and "key" in proc.stderr, proc.stderr
    done = one_json(check_cli(wf(cli, data_dir, "inspect", "run", plain["runId"], "--json"), 0))
    assert done["status"] == "completed" and done["output"] == 12
    still = one_json(check_cli(wf(cli, data_dir, "inspect", "run", locked["runId"], "--json"), 0))
    assert still["status"] == "pending"
