"""Logs (issue 11 §4), the run timeline and tracebacks (§3), and the terminal citizen (§5)."""

from __future__ import annotations

import json
import re

import pytest
from observe_support import OBS_APP, env_for, pty_run, run, shell, start_id

RUN_ID = re.compile(r"wrun_[0-9A-HJKMNP-TV-Z]{26}")


# ------------------------------------------------------------------ logs


@pytest.mark.parametrize("runtime", ["snapshot", "replay"])
def test_console_once_per_logical_call(data_dir, runtime):
    """The workflow is re-executed (replay: on every step; both: across processes), yet each
    console call shows and is stored once; step output is attributed to its step."""
    env = env_for(data_dir)
    proc = run(["start", "chatty", "5", "--runtime", runtime, "--json"], env)
    assert proc.returncode == 0, proc.stderr
    run_id = json.loads(proc.stdout)["runId"]
    err = proc.stderr.splitlines()
    assert err.count(f"[{run_id} chatty] begin 5") == 1, proc.stderr
    assert err.count(f"[{run_id} chatty] after add 6") == 1, proc.stderr
    assert err.count(f"[{run_id} chatty] end 7") == 1, proc.stderr
    assert err.count(f"[{run_id} chatty › add#1] adding 5 + 1") == 1, proc.stderr
    assert f"[{run_id} chatty › add#1] INFO observe.steps: add called" in err, proc.stderr

    # across processes: started here, resumed by another process (which replays it)
    proc = run(["start", "approval", "3", "--runtime", runtime, "--json"], env)
    rid = json.loads(proc.stdout)["runId"]
    assert proc.stderr.count("waiting for approval of 3") == 1, proc.stderr
    proc = run(["hook", "resume", "approve:3", "true", "--json"], env)
    assert proc.returncode == 0, proc.stderr
    assert "waiting for approval" not in proc.stderr, proc.stderr

    logs = json.loads(run(["inspect", "logs", rid, "--json"], env).stdout)["data"]
    texts = [(e["source"], e["text"]) for e in logs]
    assert texts.count(("workflow", "waiting for approval of 3")) == 1, texts
    assert texts.count(("step", "adding 3 + 1")) == 1 and ("step", "adding 4 + 1") in texts
    logs = json.loads(run(["inspect", "logs", run_id, "--json"], env).stdout)["data"]
    wf = [e for e in logs if e["source"] == "workflow"]
    assert [(e["seq"], e["level"], e["text"]) for e in wf] == [
        (1, "log", "begin 5"),
        (2, "warn", "after add 6"),
        (3, "log", "end 7"),
    ]
    step = next(e for e in logs if e["source"] == "step")
    assert step["stepName"] == "add" and step["attempt"] == 1 and step["runId"] == run_id


def test_quiet_silences_logs_but_keeps_them(data_dir):
    env = env_for(data_dir)
    proc = run(["--quiet", "start", "chatty", "1"], env)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    proc = run(["start", "chatty", "1", "-q", "--json"], env)
    assert proc.stderr == ""
    rid = json.loads(proc.stdout)["runId"]
    lines = run(["inspect", "logs", rid], env).stdout.splitlines()
    assert [ln.split("\t")[1:] for ln in lines][:2] == [
        ["workflow", "log", "begin 1"],
        ["step add#1", "print", "adding 1 + 1"],
    ], lines


# ------------------------------------------------------------------ failures and the timeline


def test_failed_step_traceback_in_inspect_run_and_steps(data_dir):
    env = env_for(data_dir)
    run_id = start_id(env, "failing", "b")
    out, code = pty_run(["inspect", "run", run_id], env)
    assert code == 0, out
    assert "failed at step lookup (attempt 2, 1 retry)" in out, out
    assert "KeyError: 'b'" in out
    assert "Traceback (most recent call last):" in out
    assert f'File "{OBS_APP / "steps.py"}", line' in out and "in _dig" in out, out
    assert "executor.py" not in out and "wfctl/engine" not in out, out  # engine frames trimmed
    assert re.search(r"✗ lookup ×2 +\S+ +[▒·]+ 1 retry", out), out
    assert all(len(line) <= 80 for line in out.splitlines()), out

    steps = run(["inspect", "steps", run_id], env).stdout.splitlines()
    assert len(steps) == 1 and steps[0].split("\t")[-1] == "KeyError: 'b'", steps
    doc = json.loads(run(["inspect", "run", run_id, "--json"], env).stdout)
    assert "in _dig" in doc["steps"][0]["error"]["stack"]


def test_timeline_of_a_waiting_run(data_dir):
    env = env_for(data_dir)
    run_id = start_id(env, "approval", "8")
    out, code = pty_run(["inspect", "run", run_id], env)
    assert code == 0, out
    assert re.search(r"✓ add +\d+ms +.*█", out), out
    assert re.search(r"⧗ hook approve:8 ", out), out
    assert "waiting on hook approve:8" in out
    assert "continue: wfctl hook resume approve:8" in out


# ------------------------------------------------------------------ terminal citizen


def test_plain_rows_when_piped(data_dir):
    env = env_for(data_dir)
    waiting = start_id(env, "approval", "21")
    done = start_id(env, "chatty", "2")
    # the issue's own pipeline: ids come out whole
    proc = shell("wfctl inspect runs | grep running | awk '{print $1}'", env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [waiting]
    proc = shell("wfctl inspect runs | cut -f1,3", env)
    assert proc.stdout.splitlines() == [f"{done}\tcompleted", f"{waiting}\trunning"]
    proc = shell(f"wfctl inspect events {done} | awk -F'\\t' '{{print $2}}' | sort | uniq -c", env)
    assert re.search(r"\b2 step_completed\b", proc.stdout), proc.stdout
    raw = run(["inspect", "runs"], env).stdout
    assert "\x1b[" not in raw and "│" not in raw and "─" not in raw


def test_tables_fit_80_columns_without_breaking_ids(data_dir):
    env = env_for(data_dir)
    ids = [start_id(env, "approval", str(i)) for i in (31, 32)]
    for args in (["inspect", "runs"], ["inspect", "hooks"]):
        out, code = pty_run(args, env)
        assert code == 0, out
        assert all(len(line) <= 80 for line in out.splitlines()), out
        assert set(ids) <= set(RUN_ID.findall(out)), out
    out, _ = pty_run(["inspect", "events", ids[0]], env)
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert len(re.findall(r"\bevnt_[0-9A-Z]{26}\b", out)) >= 5, out
    wide, _ = pty_run(["inspect", "runs", "--wide"], env)
    assert "completed" in wide.splitlines()[0] or "completed" in wide  # the extra column


def test_global_options_anywhere_version_and_completion(data_dir, tmp_path):
    env = env_for(data_dir)
    env.pop("WORKFLOW_LOCAL_DATA_DIR")
    env.pop("WFCTL_APP")
    a = run(
        ["--data-dir", str(data_dir), "--app", str(OBS_APP), "start", "chatty", "1", "--json"], env
    )
    b = run(
        ["start", "chatty", "2", "--data-dir", str(data_dir), "--app", str(OBS_APP), "--json"], env
    )
    assert a.returncode == 0 and b.returncode == 0, (a.stderr, b.stderr)
    before = json.loads(run(["inspect", "runs", "--data-dir", str(data_dir), "--json"], env).stdout)
    after = json.loads(run(["--json", "--data-dir", str(data_dir), "inspect", "runs"], env).stdout)
    assert len(before["data"]) == 2 and before == after

    assert run(["--version"], env).stdout.strip() == "wfctl 0.1.0"
    comp = run(["--show-completion", "bash"], {**env, "SHELL": "/bin/bash"})
    assert comp.returncode == 0 and "_WFCTL_COMPLETE" in comp.stdout, comp.stdout + comp.stderr
    home = {**env, "HOME": str(tmp_path), "SHELL": "/bin/bash"}
    inst = run(["--install-completion", "bash"], home)
    assert inst.returncode == 0, inst.stdout + inst.stderr
    # (errors="replace": the data directory under tmp_path holds binary code blobs too)
    assert "_WFCTL_COMPLETE" in "".join(
        p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()
    )


def test_library_use_keeps_output_where_it_was(tmp_path):
    """Without an observer (a library or server embedding the engine), step prints still reach
    stdout, step logging the app's handlers, console lines the wfctl.workflow logger — once each
    — and the run's log is stored all the same."""
    import subprocess
    import sys

    script = f"""
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="LOG %(name)s %(message)s")
from wfctl.engine.app import App
from wfctl.engine.engine import Engine
from wfctl.engine.runlogs import read_logs
from worlds import open_world
w = open_world({str(tmp_path / "data")!r})
r = Engine(w, App.load({str(OBS_APP)!r})).start("chatty", [1], runtime="replay")
print("stored", len(read_logs(w, r.run_id, None)[0]))
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["adding 1 + 1", "adding 2 + 1", "stored 7"]
    err = proc.stderr.splitlines()
    assert err.count("LOG wfctl.workflow [workflow stdout] begin 1") == 1, proc.stderr
    assert err.count("LOG observe.steps add called") == 2, proc.stderr


def test_log_position_is_found_from_the_last_blob(data_dir):
    """A new invocation finds the chunk count in O(log n) probes and the console high-water
    mark in the last chunk (a run resumed many times has many chunks)."""
    from wfctl.engine.runlogs import blob_key, read_logs, stored_position
    from worlds import open_world

    world = open_world(data_dir)
    try:
        run_id = "wrun_01M80ZV6XRY086CQJBQGHFJWHA"
        assert stored_position(world, run_id, None) == (0, 0)
        for n in range(13):
            lines = [{"source": "workflow", "seq": n + 1, "text": f"line {n}"}, {"lastSeq": n + 1}]
            world.put_blob(
                blob_key(run_id, n), "".join(json.dumps(x) + "\n" for x in lines).encode()
            )
        assert stored_position(world, run_id, None) == (13, 13)
        got, next_chunk, locked = read_logs(world, run_id, None)
        assert [e["text"] for e in got] == [f"line {n}" for n in range(13)]
        assert (next_chunk, locked) == (13, False)
    finally:
        world.close()
