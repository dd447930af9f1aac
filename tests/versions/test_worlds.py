"""Code versions on every world: the blob methods they rely on, and pinning, upgrade and fork
driven in-process against the world (local here; PostgreSQL once that world exists)."""

from __future__ import annotations

from pathlib import Path

import pytest
from versions_support import Versions

from wfctl.engine import codestore
from wfctl.engine.app import App
from wfctl.engine.engine import Engine
from wfctl.engine.fork import fork
from wfctl.engine.versions import gc, upgrade_run
from wfctl.serde import payload
from worlds import World, open_world

WORLDS = ["local", "postgres"]


@pytest.fixture(params=WORLDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "local":
        return str(tmp_path / "data")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def world(target: str):
    w = open_world(target)
    yield w
    w.close()


def test_blob_delete_and_list(world: World) -> None:
    assert world.list_blobs("code-") == []
    world.put_blob("code-b", b"2")
    world.put_blob("code-a", b"1")
    world.put_blob("codepin-x", b"3")
    world.put_blob("other_code-c", b"4")
    assert world.list_blobs("code-") == ["code-a", "code-b"]
    assert world.list_blobs("code") == ["code-a", "code-b", "codepin-x"]
    world.delete_blob("code-a")
    world.delete_blob("code-a")  # idempotent
    assert world.get_blob("code-a") is None and world.list_blobs("code-") == ["code-b"]
    world.put_blob("code-a", b"new")  # write-once keys can be written again after a delete
    assert world.get_blob("code-a") == b"new"


def test_pin_upgrade_fork_gc_on_the_world(v: Versions, world: World) -> None:
    def engine() -> Engine:
        return Engine(world, App.load(v.app))

    waiting = engine().start("approval", [1])
    done = engine().start("fiveSteps", [1])
    old = waiting.run["executionContext"]["codeHash"]
    assert world.list_blobs("code-") == [codestore.blob_key(old)]
    v.marks()

    v.edit(
        "workflows.js",
        'const a = await tick("before", n);',
        'const a = await tick("before", n);\n  await tick("added", a);',
    )
    row = upgrade_run(engine(), world.get_run(waiting.run_id), dry_run=True)
    assert row["moved"] is False and row["divergence"]["index"] == 5
    res = engine().resume_hook("ap:1", True)  # finishes on its own code
    assert res.status == "completed" and v.marks() == ["after"]

    forked = fork(engine(), done.run_id, 4)
    assert forked.status == "completed" and v.marks() == ["s4", "s5"]
    assert forked.run["executionContext"]["codeHash"] != old

    second = engine().start("approval", [2])
    v.edit("lib/label.js", '"v1"', '"v2"')
    row = upgrade_run(engine(), world.get_run(second.run_id), dry_run=False)
    assert row["moved"] is True
    assert codestore.effective_hash(world, world.get_run(second.run_id)) == row["to"]
    report = gc(engine())
    assert report.removed == [old] and sorted(report.kept) == sorted({row["from"], row["to"]})
    res = engine().resume_hook("ap:2", True)
    assert res.status == "completed"
    assert v.marks() == ["before", "added", "after"]


@pytest.mark.parametrize("runtime", ["snapshot", "replay"])
def test_hook_run_completes_on_its_original_code(v: Versions, world: World, runtime: str) -> None:
    res = Engine(world, App.load(v.app)).start("approval", [6], runtime=runtime)
    assert res.status == "running" and v.marks() == ["before"]
    v.edit(
        "workflows.js",
        'const a = await tick("before", n);',
        'const a = await tick("before", n);\n  await tick("added", a);',
    )
    v.edit("lib/label.js", '"v1"', '"v2"')
    res = Engine(world, App.load(v.app)).resume_hook("ap:6", True)
    assert res.status == "completed", res.run
    assert v.marks() == ["after"]
    out = Engine(world, App.load(v.app)).world.get_run(res.run_id)
    assert out["executionContext"]["codeHash"] == codestore.effective_hash(world, out)
    assert payload.decode(out["output"])["label"] == "v1"
