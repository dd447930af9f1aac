"""`wfctl rerun` and `wfctl fork --step N` (issue 12, points 3 and 4): new runs on the current
code; a fork reuses the source's recorded results of steps 1..N-1 and executes from step N."""

from __future__ import annotations

from engine_support import KEY_A
from versions_support import GHOST_RUN, Versions

from wfctl.engine.fork import fork
from wfctl.engine.versions import rerun


def test_rerun_gives_the_same_output(v: Versions) -> None:
    src = v.engine().start("fiveSteps", [10])
    assert v.marks() == ["s1", "s2", "s3", "s4", "s5"]
    doc = v.json("rerun", src.run_id)
    assert doc["runId"] != src.run_id and doc["status"] == "completed"
    assert doc["output"] == {"v": 15, "label": "v1"}
    assert v.marks() == ["s1", "s2", "s3", "s4", "s5"]
    ctx = v.run_doc(doc["runId"])["executionContext"]
    assert ctx["rerunOf"] == src.run_id
    created = v.json("rerun", src.run_id, "--no-wait")
    assert created["status"] == "pending" and v.marks() == []


def test_fork_step_3_of_5_executes_only_steps_3_to_5(v: Versions) -> None:
    src = v.engine().start("fiveSteps", [1])
    assert v.marks() == ["s1", "s2", "s3", "s4", "s5"]
    doc = v.json("fork", src.run_id, "--step", "3")
    assert doc["status"] == "completed" and doc["output"] == {"v": 6, "label": "v1"}
    assert v.marks() == ["s3", "s4", "s5"]  # steps 1 and 2 came from the copied events
    run = v.run_doc(doc["runId"])
    assert run["executionContext"]["forkOf"] == {"runId": src.run_id, "step": 3}
    assert [s["stepName"].rsplit("//", 1)[-1] for s in run["steps"]] == ["tick"] * 5
    # the forked log replays under the current code like any other
    assert v.json("replay", doc["runId"])["ok"] is True


def test_fork_of_a_failed_run_whose_failing_step_was_fixed_completes(v: Versions) -> None:
    src = v.json("start", "fragile", "2", code=1)
    assert src["status"] == "failed" and "breaks is broken" in src["error"]["message"]
    assert v.marks() == ["f1", "breaks"]
    v.edit("steps.py", "BROKEN = True", "BROKEN = False")
    doc = v.json("fork", src["runId"], "--step", "2")
    assert doc["status"] == "completed" and doc["output"] == 31
    assert v.marks() == ["breaks", "f3"]


def test_fork_reuses_sleeps_and_hook_payloads_before_step_n_under_encryption(
    v: Versions, monkeypatch
) -> None:
    monkeypatch.setenv("WFCTL_ENCRYPTION_KEY", KEY_A)
    assert v.engine().start("mixed", [1]).status == "running"
    src = v.engine().resume_hook("mx:1", 40)
    assert src.status == "completed" and v.marks() == ["m1", "m2", "m3"]
    # steps: m1, m2, m3; before m2 came a sleep and a hook that received 40
    res = fork(v.engine(), src.run_id, 2)
    assert res.status == "completed", res.run  # no hook to resume, no timer to wait for
    assert v.marks() == ["m2", "m3"]
    assert res.run["executionContext"]["features"]["encryption"] is True
    key = {"WFCTL_ENCRYPTION_KEY": KEY_A}
    assert v.json("inspect", "run", res.run_id, "--decrypt", env=key)["output"] == 44
    assert v.json("inspect", "run", src.run_id, "--decrypt", env=key)["output"] == 44


def test_fork_of_a_cancelled_run(v: Versions) -> None:
    run = v.engine().start("approval", [9])
    v.engine().cancel(run.run_id)
    v.marks()
    res = fork(v.engine(), run.run_id, 1, wait=True)
    assert res.status == "running"  # waits on the hook again
    assert v.marks() == ["before"]
    pending = v.engine().start("fiveSteps", [1], wait=False)
    v.engine().cancel(pending.run_id)
    assert rerun(v.engine(), pending.run_id, wait=False).status == "pending"


def test_fork_bad_input_and_divergence_write_nothing(v: Versions) -> None:
    src = v.engine().start("fiveSteps", [1]).run_id
    before = v.listing()
    proc = v.wf("fork", src, "--step", "6", code=2)
    assert "out of range" in proc.stderr and "5 step(s)" in proc.stderr
    v.wf("fork", src, "--step", "0", code=2)
    v.wf("fork", GHOST_RUN, "--step", "1", code=3)
    # the current code calls another step first: refused before anything exists
    v.edit(
        "workflows.js",
        "v = await tick(`s${i}`, v);",
        "v = await (i === 1 ? breaks(v) : tick(`s${i}`, v));",
    )
    proc = v.wf("fork", src, "--step", "3", code=1)
    assert "diverges" in proc.stderr and "step tick" in proc.stderr and "breaks" in proc.stderr
    v.assert_unchanged(before)


def test_fork_inside_a_promise_all(v: Versions) -> None:
    src = v.engine().start("parallel", [1])
    assert src.status == "completed" and sorted(v.marks()) == ["p1", "p2", "p3", "p4", "p5"]
    res = fork(v.engine(), src.run_id, 3)
    assert res.status == "completed"
    assert sorted(v.marks()) == ["p3", "p4", "p5"]  # p1 and p2 were created before p3
    world = v.engine().world
    assert world.get_run(res.run_id)["output"] == world.get_run(src.run_id)["output"]
