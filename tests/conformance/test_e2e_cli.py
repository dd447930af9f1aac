"""The catalogue's CLI checks (#1, #35, #39, #40): `wfctl inspect run --json` on e2e runs.

The DevKit suite shells out to `workflow inspect --json`; the port runs `wfctl` the same
way, against the store (data directory or database) the engine wrote.
"""

from __future__ import annotations

import json


def _inspect(cli, world_env, run_id: str) -> dict:
    proc = cli("inspect", "run", run_id, "--json", env=world_env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_add_ten_inspect(engine, runtime, cli, world_env):  # 1
    res = engine.start("addTenWorkflow", [123], runtime=runtime)
    shown = _inspect(cli, world_env, res.run_id)
    assert shown["runId"] == res.run_id
    assert shown["status"] == "completed"
    assert shown["input"] == [123]
    assert shown["output"] == 133
    assert shown["workflowName"] == "workflow//./workflows//addTenWorkflow"
    assert [s["output"] for s in shown["steps"]] == [125, 128, 133]


def test_nested_error_inspect(engine, runtime, cli, world_env):  # 35
    res = engine.start("errorWorkflowNested", [], runtime=runtime)
    shown = _inspect(cli, world_env, res.run_id)
    assert shown["status"] == "failed"
    assert shown["error"]["message"] == "Nested workflow error"
    assert shown["error"]["errorCode"] == "USER_ERROR"


def test_retry_and_fatal_steps_inspect(engine, runtime, cli, world_env):  # 39, 40
    ok = engine.start("errorRetrySuccess", [], runtime=runtime)
    (step,) = _inspect(cli, world_env, ok.run_id)["steps"]
    assert step["status"] == "completed" and step["attempt"] == 3
    fatal = engine.start("errorRetryFatal", [], runtime=runtime)
    shown = _inspect(cli, world_env, fatal.run_id)
    assert shown["status"] == "failed" and shown["error"]["errorCode"] == "USER_ERROR"
    (step,) = shown["steps"]
    assert step["status"] == "failed" and step["attempt"] == 1
