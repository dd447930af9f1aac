"""`wfctl upgrade`: moving runs that have not ended onto the current code, only when their log
replays under it (issue 12, point 2), and `wfctl gc` of code no run uses."""

from __future__ import annotations

import pytest
from versions_support import GHOST_RUN, Versions

COMPATIBLE = ('"v1"', '"v2"')  # lib/label.js: the value changes, the calls do not
DIVERGENT = (
    'const a = await tick("before", n);',
    'const a = await tick("before", n);\n  await tick("added", a);',
)


def test_dry_run_reports_movable_and_non_movable_runs(v: Versions) -> None:
    waiting = v.engine().start("approval", [1]).run_id
    done = v.engine().start("fiveSteps", [1]).run_id
    old = v.run_doc(waiting)["codeHash"]

    v.edit("lib/label.js", *COMPATIBLE)
    before = v.listing()
    doc = v.json("upgrade", "--all", "--dry-run")
    assert doc["dryRun"] is True
    [row] = doc["runs"]  # --all: only runs that have not ended
    assert row["runId"] == waiting and row["moved"] is True
    assert row["from"] == old and row["to"] != old and "divergence" not in row
    v.assert_unchanged(before)

    v.edit("workflows.js", *DIVERGENT)
    doc = v.json("upgrade", waiting, "--dry-run", code=1)
    [row] = doc["runs"]
    assert row["moved"] is False and row["from"] == old
    d = row["divergence"]
    assert d["index"] == 5 and "hook_created token='ap:1'" in d["expected"]
    assert "step tick" in d["actual"] and d["eventId"].startswith("evnt_")
    text = v.wf("upgrade", waiting, "--dry-run", code=1).stdout
    assert "not movable" in text and "#5" in text and "0/1 runs movable" in text
    v.assert_unchanged(before)
    assert v.run_doc(done)["status"] == "completed"


@pytest.mark.parametrize("runtime", ["snapshot", "replay"])
def test_upgrade_then_resume_runs_the_new_code(v: Versions, runtime: str) -> None:
    run_id = v.engine().start("approval", [2], runtime=runtime).run_id
    old = v.run_doc(run_id)["codeHash"]
    assert v.marks() == ["before"]
    # after the hook the code may change freely: the log ends at the hook
    v.edit("lib/label.js", *COMPATIBLE)
    v.edit("workflows.js", 'tick("after", a)', 'tick("after-v2", a)')
    doc = v.json("upgrade", run_id)
    [row] = doc["runs"]
    assert row["moved"] is True and row["from"] == old
    assert v.run_doc(run_id)["codeHash"] == row["to"] != old
    assert v.code_blob(row["to"]).is_file()
    assert v.world().load_snapshot(run_id) is None  # the old code's heap is dropped

    v.edit("lib/label.js", '"v2"', '"v3"')  # disk moves on again; the run stays on "to"
    done = v.engine().resume_hook("ap:2", True)
    assert done.status == "completed"
    assert v.marks() == ["after-v2"]
    assert v.run_doc(run_id)["output"]["label"] == "v2"


def test_upgrade_bad_input(v: Versions) -> None:
    done = v.engine().start("fiveSteps", [1]).run_id
    before = v.listing()
    proc = v.wf("upgrade", GHOST_RUN, code=3)
    assert GHOST_RUN in proc.stderr
    proc = v.wf("upgrade", done, code=2)
    assert "already completed" in proc.stderr
    v.wf("upgrade", code=2)
    v.wf("upgrade", done, "--all", code=2)
    v.assert_unchanged(before)


def test_gc_removes_code_no_unfinished_run_uses(v: Versions) -> None:
    finished = v.engine().start("fiveSteps", [1]).run
    v1 = finished["executionContext"]["codeHash"]
    v.edit("lib/label.js", *COMPATIBLE)
    waiting = v.engine().start("approval", [4]).run
    v2 = waiting["executionContext"]["codeHash"]
    v.edit("lib/label.js", '"v2"', '"v3"')
    upgraded = v.engine().start("approval", [5]).run_id  # on v3 ...
    v.edit("lib/label.js", '"v3"', '"v4"')
    v.json("upgrade", upgraded)  # ... moved to v4: v3 is still its original, kept
    v4 = v.run_doc(upgraded)["codeHash"]

    before = v.listing()
    dry = v.json("gc", "--dry-run")
    assert dry["removed"] == [v1] and dry["bytesFreed"] > 0 and v2 in dry["kept"]
    v.assert_unchanged(before)
    doc = v.json("gc")
    assert doc["removed"] == [v1] and v4 in doc["kept"] and len(doc["kept"]) == 3
    assert not v.code_blob(v1).exists() and v.code_blob(v2).exists()
    # the runs still finish; then nothing is in use any more
    assert v.engine().resume_hook("ap:4", True).status == "completed"
    assert v.engine().resume_hook("ap:5", True).status == "completed"
    doc = v.json("gc")
    assert len(doc["removed"]) == 3 and doc["kept"] == [] and doc["pointersRemoved"] == 1
    assert list(v.blob_dir().iterdir()) == []
