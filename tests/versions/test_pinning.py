"""Runs are pinned to the workflow code they started with (issue 12, point 1).

Real VM, the local world, the real CLI where the CLI is what is tested. A run waits on a hook,
workflows.js changes on disk, the run finishes on the code it started with; its code lives in
the world once per version; a missing or corrupt code blob is an error naming the run and the
hash, with the store unchanged, and never runs other code.
"""

from __future__ import annotations

import json

import pytest
from versions_support import HASH_RE, Versions

from wfctl.engine import codestore
from wfctl.serde import payload
from wfctl.serde.compress import compress, decompress

DIVERGENT_EDIT = (
    'const a = await tick("before", n);',
    'const a = await tick("before", n);\n  await tick("added", a);',
)


@pytest.mark.parametrize("runtime", ["snapshot", "replay"])
def test_hook_run_completes_on_its_original_code(v: Versions, runtime: str) -> None:
    started = v.engine().start("approval", [7], runtime=runtime)
    assert started.status == "running"
    code = started.run["executionContext"]["codeHash"]
    assert HASH_RE.match(code) and v.code_blob(code).is_file()
    assert v.marks() == ["before"]

    # the change that used to break the run for good: one more step before the hook
    v.edit("workflows.js", *DIVERGENT_EDIT)
    v.edit("lib/label.js", '"v1"', '"v2"')
    done = v.engine().resume_hook("ap:7", True)
    assert done.status == "completed", done.run
    assert v.marks() == ["after"]
    doc = v.run_doc(done.run_id)  # the CLI shows the pinned hash and the old code's output
    assert doc["codeHash"] == code and doc["output"] == {"a": 8, "b": 9, "ok": True, "label": "v1"}

    # a new run gets the new code, stored as a second version
    fresh = v.engine().start("approval", [8], runtime=runtime)
    new_code = fresh.run["executionContext"]["codeHash"]
    assert new_code != code and v.code_blob(new_code).is_file()
    assert v.marks() == ["before", "added"]


def test_code_blob_holds_workflows_js_and_its_imports_only(v: Versions) -> None:
    code = v.engine().start("fiveSteps", [1]).run["executionContext"]["codeHash"]
    doc = json.loads(decompress(v.code_blob(code).read_bytes()))
    assert doc["format"] == "wfctl-code/1"
    assert sorted(doc["modules"]) == ["/lib/label.js", "/workflows.js"]  # not unused.js
    assert doc["modules"]["/lib/label.js"] == (v.app / "lib/label.js").read_text()
    # a JS file nothing imports does not make a new version
    (v.app / "unused.js").write_text("export const UNUSED = 2;\n")
    again = v.engine().start("fiveSteps", [1]).run["executionContext"]["codeHash"]
    assert again == code
    assert len(list(v.blob_dir().glob("code-*"))) == 1


def test_step_missing_from_current_steps_py_fails_that_step_naming_it(v: Versions) -> None:
    run_id = v.json("start", "approval", "3")["runId"]
    v.edit("steps.py", "def tick(", "def tock(")  # steps.py changes need a new process
    res = v.json("hook", "resume", "ap:3", "true", code=1)
    assert res["runId"] == run_id and res["status"] == "failed"
    assert 'Step "tick" is not registered' in res["error"]["message"]


def _waiting_run(v: Versions) -> tuple[str, str]:
    res = v.engine().start("approval", [5])
    return res.run_id, res.run["executionContext"]["codeHash"]


def test_corrupt_code_blob_is_refused_and_nothing_is_written(v: Versions) -> None:
    run_id, code = _waiting_run(v)
    blob = v.code_blob(code)
    # valid zstd of *other* code under this run's hash: it must not run
    doc = json.loads(decompress(blob.read_bytes()))
    doc["modules"]["/lib/label.js"] = 'export const LABEL = "evil";\n'
    blob.write_bytes(compress(json.dumps(doc).encode()))
    v.edit("lib/label.js", '"v1"', '"v2"')  # the disk differs too: no self-repair possible
    before = v.listing()
    proc = v.wf("hook", "resume", "ap:5", "true", code=1)
    assert f"run {run_id}" in proc.stderr and code in proc.stderr and "corrupt" in proc.stderr
    v.assert_unchanged(before)
    with pytest.raises(codestore.CodeStoreError, match="hash mismatch"):
        v.engine().drive(run_id)
    blob.write_bytes(b"\x00garbage")
    before = v.listing()
    with pytest.raises(codestore.CodeStoreError, match=f"{run_id}.*{code}.*corrupt"):
        v.engine().resume_hook("ap:5", True)
    v.assert_unchanged(before)


def test_missing_code_blob_is_refused_unless_the_same_code_is_on_disk(v: Versions) -> None:
    run_id, code = _waiting_run(v)
    v.code_blob(code).unlink()
    v.edit("lib/label.js", '"v1"', '"v2"')
    before = v.listing()
    with pytest.raises(codestore.CodeStoreError, match=f"run {run_id}.*{code}.*missing"):
        v.engine().resume_hook("ap:5", True)
    v.assert_unchanged(before)
    # the pinned code is back on disk: the blob is restored from it (same hash) and the run ends
    v.edit("lib/label.js", '"v2"', '"v1"')
    done = v.engine().resume_hook("ap:5", True)
    assert done.status == "completed" and v.code_blob(code).is_file()


def test_app_modules_follow_imports(tmp_path) -> None:
    from wfctl.runtime.bundle import Bundle

    (tmp_path / "lib").mkdir()
    (tmp_path / "workflows.js").write_text(
        'import { a } from "./lib/a.js";\nexport * from "./lib/b";\nimport "./side.js";\n'
        "export async function w() { return (await import('./lazy.js')).x + a; }\n"
    )
    (tmp_path / "lib" / "a.js").write_text('import{c}from"../c.js";\nexport const a = c;\n')
    (tmp_path / "lib" / "b.js").write_text("export const b = 1;\n")
    for name in ("c.js", "side.js", "lazy.js", "other.js"):
        (tmp_path / name).write_text("export const x = 1, c = 2;\n")
    bundle = Bundle.load(tmp_path)
    mods = codestore.app_modules(bundle)
    assert sorted(mods) == [
        "/c.js",
        "/lazy.js",
        "/lib/a.js",
        "/lib/b.js",
        "/side.js",
        "/workflows.js",
    ]
    # an import whose target is computed at run time: every app module is workflow code
    (tmp_path / "lib" / "b.js").write_text("export const b = () => import(`./${'x'}.js`);\n")
    assert "/other.js" in codestore.app_modules(Bundle.load(tmp_path))


def test_a_child_run_is_pinned_to_its_parents_code(v: Versions) -> None:
    res = v.engine().start("parent", [1])
    world = v.engine().world
    parent = world.get_run(res.run_id)
    out = payload.decode(parent["output"]) if parent["status"] == "completed" else None
    child_id = out["child"] if out else None
    if child_id is None:  # the child may be left to a worker: find it
        child_id = next(
            r["runId"]
            for r in world.list_runs(limit=10).data
            if (r.get("executionContext") or {}).get("parentRunId") == res.run_id
        )
    child = world.get_run(child_id)
    assert child["executionContext"]["codeHash"] == parent["executionContext"]["codeHash"]
