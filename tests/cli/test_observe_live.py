"""Live progress (issue 11 §1) and `inspect run --follow` (§2), through a pseudo-terminal."""

from __future__ import annotations

import json
import re
import signal
import time

import pexpect
import psutil_free_cpu as _cpu
from observe_support import env_for, plain, pty_run, run, spawn, start_id

from worlds import open_world


def test_start_shows_steps_retries_and_the_end(data_dir):
    env = env_for(data_dir)
    out, code = pty_run(["start", "retrying", "3"], env)
    assert code == 0, out
    assert re.search(r"▶ run wrun_\w{26} retrying started", out), out
    assert re.search(r"→ flaky #1 started", out), out
    # the retry: reason with the Python exception type, and when the next attempt runs
    assert re.search(
        r"↻ flaky #1 failed after \S+: ConnectionError: provider timed out — retry #2 at "
        r"\d\d:\d\d:\d\d \(in \S+\)",
        out,
    ), out
    assert re.search(r"✓ flaky #2 \d+(ms|\.\ds)", out), out
    assert "■ run completed" in out, out


def test_sleep_and_hook_wait_are_announced_then_resume_is_live(data_dir):
    env = env_for(data_dir)
    out, code = pty_run(["start", "approval", "4"], env)
    assert code == 0, out
    assert "✓ add #1" in out
    assert "⧗ waiting on hook approve:4" in out, out
    assert "wfctl hook resume approve:4" in out, out
    out, code = pty_run(["hook", "resume", "approve:4", "true"], env)
    assert code == 0, out
    assert re.search(r"resumed \(\d+ events, 1 step\(s\) done\)", out), out
    assert "→ add #1 started" in out and "■ run completed" in out, out

    out, code = pty_run(["start", "napping", '"400ms"'], env)
    assert code == 0, out
    assert re.search(r"⏸ sleep until \d\d:\d\d:\d\d \(in \d+ms\)", out), out
    assert "⏵ sleep over" in out, out


def test_not_a_terminal_output_is_unchanged(data_dir):
    env = env_for(data_dir)
    proc = run(["start", "retrying", "3"], env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("run wrun_") and lines[1] == "4", proc.stdout
    assert "→" not in proc.stdout + proc.stderr
    proc = run(["start", "retrying", "3", "--json"], env)
    assert set(json.loads(proc.stdout)) == {"runId", "workflowName", "runtime", "status", "output"}


def test_ctrl_c_stops_cleanly_and_says_how_to_continue(data_dir):
    env = env_for(data_dir)
    child = spawn(["start", "napping", '"1h"'], env)
    child.expect("sleep until")
    time.sleep(0.3)
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    out = plain(child.before or "")
    assert child.exitstatus == 130, out
    assert "Traceback" not in out, out
    m = re.search(r"interrupted: run (wrun_\w{26}) is left running", out)
    assert m, out
    assert "it waits on timer until" in out, out
    assert "continue it with: wfctl worker" in out, out
    world = open_world(data_dir)
    try:
        assert world.get_run(m.group(1))["status"] == "running"
    finally:
        world.close()


def test_follow_a_run_driven_elsewhere(data_dir):
    env = env_for(data_dir)
    nocolor = {**env, "NO_COLOR": "1"}  # plain text to expect() in the middle of the stream
    run_id = start_id(env, "approval", "9")  # leaves it waiting on hook approve:9
    # without --until-end: exits 0 at once, the run waiting on a hook
    out, code = pty_run(["inspect", "run", run_id, "--follow"], env, timeout=20)
    assert code == 0, out
    assert "waiting on hook approve:9" in out, out
    # with --until-end: watches another process resume and finish it
    child = spawn(["inspect", "run", run_id, "--follow", "--until-end"], nocolor, timeout=30)
    child.expect("following")
    time.sleep(0.5)
    resumed = run(["hook", "resume", "approve:9", "true", "--json"], env)
    assert resumed.returncode == 0, resumed.stderr
    child.expect("hook approve:9 received a payload")
    child.expect("✓ add #1")
    child.expect("■ run completed")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_follow_exit_code_of_a_failed_run(data_dir):
    env = env_for(data_dir)
    run_id = start_id(env, "failing", "b")
    out, code = pty_run(["inspect", "run", run_id, "--follow"], env, timeout=20)
    assert code == 1, out
    assert "KeyError: 'b'" in out, out


def test_follow_backs_off_while_nothing_happens(data_dir):
    """An idle follow polls one run's log with backoff: near-zero CPU over a few seconds."""
    env = env_for(data_dir)
    run_id = start_id(env, "approval", "10")
    child = spawn(["inspect", "run", run_id, "--follow", "--until-end"], env, timeout=30)
    child.expect("following")
    before = _cpu.cpu_seconds(child.pid)
    time.sleep(3)
    used = _cpu.cpu_seconds(child.pid) - before
    child.kill(signal.SIGINT)
    child.expect(pexpect.EOF)
    child.close()
    assert used < 0.3, f"idle --follow used {used:.2f}s CPU in 3s"


def test_ctrl_c_twice_leaves_a_running_step_to_be_retried(data_dir):
    env = {**env_for(data_dir), "NO_COLOR": "1"}
    child = spawn(["start", "slowly", "2"], env)
    child.expect("slow_step #1 started")
    time.sleep(0.3)
    child.sendintr()
    child.expect("Ctrl-C again to leave now")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    out = plain(child.before or "")
    assert child.exitstatus == 130, out
    assert "it waits on step slow_step" in out, out
    run_id = re.search(r"run (wrun_\w{26}) is left running", out).group(1)
    # nothing is lost: a worker picks the run up and the step runs again
    out, code = pty_run(["worker", "--until-idle"], env)
    assert code == 0, out
    assert f"{run_id}   → slow_step #2 started" in out, out
    assert f"{run_id} ■ run completed" in out, out
    world = open_world(data_dir)
    try:
        assert world.get_run(run_id)["status"] == "completed"
    finally:
        world.close()
