"""The snapshot runtime across processes, its fallbacks to replay, and runtime equivalence.

SPEC §5 (snapshot runtime): a snapshot exists whenever a run leaves the process; the next
invocation (any process) restores it and feeds only the later events; it is deleted when the run
ends; a missing, corrupt, undecryptable or incompatible snapshot is never fatal — the run falls
back to a replay from the log and says so. Both runtimes write the same log.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from engine_support import (
    KEY_A,
    T_APP,
    check_cli,
    lifecycle_by_correlation,
    normalized_events,
    one_json,
    output_of,
    snapshot_path,
    tamper_header,
)

WAIT_OUTPUT = {"a": 6, "b": 9, "got": {"n": 3}}  # waitHook(token, 5) resumed with {"n": 3}


def start_waiting(cli, data_dir: Path, token: str, *extra: str, env=None, app: Path = T_APP) -> str:
    proc = check_cli(
        cli(
            "--data-dir",
            str(data_dir),
            "start",
            "waitHook",
            token,
            "5",
            "--app",
            str(app),
            "--json",
            *extra,
            env=env,
        ),
        0,
    )
    doc = one_json(proc)
    assert doc["status"] == "running", doc
    return doc["runId"]


# ------------------------------------------------------------------ across processes


def assert_resumed_from_snapshot(engine, token: str, run_id: str, data_dir) -> None:
    """Resume the hook in-process and prove the stored heap was restored (no replay fallback),
    the run completed with the right output, and its snapshot is gone."""
    res = engine.resume_hook(token, {"n": 3})
    assert res.status == "completed", res.run
    assert res.stats["runtime"] == "snapshot"
    assert res.stats["snapshotSource"] == "snapshot", res.notes
    assert res.notes == []
    assert output_of(engine.world, run_id) == WAIT_OUTPUT
    assert not snapshot_path(data_dir, run_id).exists()


def test_hook_resume_in_another_process_restores_the_snapshot(cli, data_dir):
    run_id = start_waiting(cli, data_dir, "tok-xproc")
    bin_path = snapshot_path(data_dir, run_id)
    assert bin_path.is_file(), "a run waiting on a hook must leave a snapshot behind"
    assert bin_path.with_suffix(".json").is_file()

    proc = check_cli(
        cli(
            "--data-dir",
            str(data_dir),
            "hook",
            "resume",
            "tok-xproc",
            '{"n": 3}',
            "--app",
            str(T_APP),
            "--json",
        ),
        0,
    )
    doc = one_json(proc)
    assert doc["status"] == "completed", doc
    assert doc["runtime"] == "snapshot"
    assert doc["output"] == WAIT_OUTPUT
    assert "notes" not in doc, f"the resume fell back to replay: {doc['notes']}"
    assert "note:" not in proc.stderr and "replaying" not in proc.stderr, proc.stderr
    assert not bin_path.exists(), "the snapshot must be deleted when the run ends"
    assert not bin_path.with_suffix(".json").exists()


def test_in_process_resume_of_a_cli_started_run_reports_snapshot_source(cli, data_dir, engine_for):
    run_id = start_waiting(cli, data_dir, "tok-inproc")
    assert snapshot_path(data_dir, run_id).is_file()

    engine = engine_for()
    assert_resumed_from_snapshot(engine, "tok-inproc", run_id, data_dir)


# ------------------------------------------------------------------ switching runtimes


def test_replay_run_continues_under_snapshot_after_wfctl_snapshot(cli, data_dir, engine_for):
    run_id = start_waiting(cli, data_dir, "tok-r2s", "--runtime", "replay")
    assert not snapshot_path(data_dir, run_id).exists(), "the replay runtime stores no snapshot"

    built = one_json(
        check_cli(
            cli("--data-dir", str(data_dir), "snapshot", run_id, "--app", str(T_APP), "--json"), 0
        )
    )
    assert built["runId"] == run_id and built["storedBytes"] > 0, built
    assert snapshot_path(data_dir, run_id).is_file()

    engine = engine_for()
    assert_resumed_from_snapshot(engine, "tok-r2s", run_id, data_dir)


def test_snapshot_run_continues_under_replay_with_env(cli, data_dir, engine_for, monkeypatch):
    run_id = start_waiting(cli, data_dir, "tok-s2r")
    assert snapshot_path(data_dir, run_id).is_file()

    monkeypatch.setenv("WORKFLOW_RUNTIME", "replay")
    engine = engine_for()
    res = engine.resume_hook("tok-s2r", {"n": 3})
    assert res.status == "completed", res.run
    assert res.stats["runtime"] == "replay"
    assert output_of(engine.world, run_id) == WAIT_OUTPUT
    # SPEC §5: "delete the snapshot when the run ends" — whichever runtime ended it
    assert not snapshot_path(data_dir, run_id).exists(), "a finished run kept its (stale) snapshot"


def test_snapshot_run_continues_under_replay_with_env_cli(cli, data_dir):
    run_id = start_waiting(cli, data_dir, "tok-s2r-cli")
    proc = check_cli(
        cli(
            "--data-dir",
            str(data_dir),
            "hook",
            "resume",
            "tok-s2r-cli",
            '{"n": 3}',
            "--app",
            str(T_APP),
            "--json",
            env={"WORKFLOW_RUNTIME": "replay"},
        ),
        0,
    )
    doc = one_json(proc)
    assert doc["status"] == "completed" and doc["runtime"] == "replay", doc
    assert doc["output"] == WAIT_OUTPUT
    assert not snapshot_path(data_dir, run_id).exists(), "a finished run kept its (stale) snapshot"


# ------------------------------------------------------------------ fallbacks


def _flip(path: Path, at: float) -> None:
    data = bytearray(path.read_bytes())
    i = int(len(data) * at)
    for j in range(i, min(i + 16, len(data))):
        data[j] ^= 0xA5
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


FALLBACKS = {
    # cause: (tamper(bin_path), pattern the note must match, encrypted?)
    "missing": (lambda p: p.unlink(), r"no snapshot", False),
    "truncated": (_truncate, r"truncat|decompress", False),
    "corrupt": (lambda p: _flip(p, 0.6), r"corrupt|decompress|checksum", False),
    "undecryptable": (lambda p: _flip(p, 0.5), r"decrypt", True),
    "other-base-image": (
        lambda p: tamper_header(p, lambda h: h.update(baseSha256="0" * 64)),
        r"base image|wasm|wfctl version",
        False,
    ),
    "other-wasm": (
        lambda p: tamper_header(p, lambda h: h["vm"].update(wasm_sha256="f" * 64)),
        r"wasm",
        False,
    ),
}


@pytest.mark.parametrize("cause", list(FALLBACKS))
def test_fallback_to_replay_names_the_cause(cause, data_dir, engine_for, monkeypatch):
    tamper, pattern, encrypted = FALLBACKS[cause]
    if encrypted:
        monkeypatch.setenv("WFCTL_ENCRYPTION_KEY", KEY_A)
    token = f"tok-fb-{cause}"
    res = engine_for().start("waitHook", [token, 5])
    assert res.status == "running", res.run
    bin_path = snapshot_path(data_dir, res.run_id)
    assert bin_path.read_bytes()[:4] == (b"encr" if encrypted else b"zstd")
    tamper(bin_path)

    engine = engine_for()  # a new invocation, as another process would make it
    res = engine.resume_hook(token, {"n": 3})
    assert res.status == "completed", res.run
    assert output_of(engine.world, res.run_id, engine.run_key(res.run_id)) == WAIT_OUTPUT
    assert res.stats["runtime"] == "snapshot"
    assert res.stats["snapshotSource"] == "replay-fallback", res.stats
    text = " | ".join(res.notes)
    assert re.search(pattern, text, re.I), f"notes do not name the cause {cause!r}: {res.notes}"
    assert "replay" in text
    assert not bin_path.exists()


def test_code_change_on_disk_keeps_the_snapshot_of_the_pinned_code(copy_app, data_dir, engine_for):
    """Runs are pinned to their code (issue 12): editing workflows.js does not touch a waiting
    run, so its snapshot stays valid; a snapshot of other code is still refused."""
    app = copy_app("t_engine")
    res = engine_for(app).start("waitHook", ["tok-fb-code", 5])
    assert res.status == "running"
    src = app / "workflows.js"
    src.write_text(src.read_text() + "\n// a comment-only change still changes the code hash\n")

    engine = engine_for(app)
    res = engine.resume_hook("tok-fb-code", {"n": 3})
    assert res.status == "completed", res.run
    assert output_of(engine.world, res.run_id) == WAIT_OUTPUT
    assert res.stats["snapshotSource"] == "snapshot", res.stats

    res = engine_for(app).start("waitHook", ["tok-fb-code2", 5])
    tamper_header(snapshot_path(data_dir, res.run_id), lambda h: h.update(codeHash="0" * 64))
    res = engine_for(app).resume_hook("tok-fb-code2", {"n": 3})
    assert res.status == "completed", res.run
    assert res.stats["snapshotSource"] == "replay-fallback", res.stats
    assert any("different workflow code" in n for n in res.notes), res.notes


def test_fallback_note_on_cli_stderr(cli, data_dir):
    """Human output: the fallback is a visible `note:` line on stderr; --json: a notes list."""
    run_id = start_waiting(cli, data_dir, "tok-fb-cli")
    _flip(snapshot_path(data_dir, run_id), 0.5)
    proc = check_cli(
        cli(
            "--data-dir",
            str(data_dir),
            "hook",
            "resume",
            "tok-fb-cli",
            '{"n": 3}',
            "--app",
            str(T_APP),
        ),
        0,
    )
    notes = [ln for ln in proc.stderr.splitlines() if ln.startswith("note:")]
    assert notes, proc.stderr
    assert run_id in notes[0] and "replay" in proc.stderr
    assert "completed" in proc.stdout

    run_id = start_waiting(cli, data_dir, "tok-fb-cli2")
    snapshot_path(data_dir, run_id).unlink()
    doc = one_json(
        check_cli(
            cli(
                "--data-dir",
                str(data_dir),
                "hook",
                "resume",
                "tok-fb-cli2",
                '{"n": 3}',
                "--app",
                str(T_APP),
                "--json",
            ),
            0,
        )
    )
    assert doc["status"] == "completed" and doc["output"] == WAIT_OUTPUT
    assert any("no snapshot" in n for n in doc.get("notes", [])), doc


# ------------------------------------------------------------------ snapshot show / rm


def test_snapshot_show_and_rm(cli, data_dir, engine_for):
    run_id = start_waiting(cli, data_dir, "tok-show")
    bin_path = snapshot_path(data_dir, run_id)
    doc = one_json(
        check_cli(cli("--data-dir", str(data_dir), "snapshot", "show", run_id, "--json"), 0)
    )
    assert doc["runId"] == run_id
    assert doc["codec"] == "zstd"
    assert doc["encrypted"] is False
    assert doc["storedBytes"] == bin_path.stat().st_size
    assert doc["rawBytes"] > doc["storedBytes"], "the stored snapshot is compressed"
    assert re.fullmatch(r"[0-9a-f]{64}", doc["wasmSha256"] or ""), doc
    # the snapshot is taken before the hook_created event of the suspension it captures
    world = engine_for().world
    log = world.list_events(run_id).data
    cursors = [world.event_cursor(e) for e in log]
    assert doc["eventsCursor"] in cursors, doc["eventsCursor"]
    at = cursors.index(doc["eventsCursor"])
    assert [e["eventType"] for e in log[at + 1 :]] == ["hook_created"], [
        e["eventType"] for e in log
    ]

    rm = one_json(
        check_cli(cli("--data-dir", str(data_dir), "snapshot", "rm", run_id, "--json"), 0)
    )
    assert rm == {"runId": run_id, "deleted": True}
    assert not bin_path.exists() and not bin_path.with_suffix(".json").exists()
    check_cli(cli("--data-dir", str(data_dir), "snapshot", "show", run_id, "--json"), 3)

    proc = check_cli(
        cli(
            "--data-dir",
            str(data_dir),
            "hook",
            "resume",
            "tok-show",
            '{"n": 3}',
            "--app",
            str(T_APP),
            "--json",
        ),
        0,
    )
    doc = one_json(proc)
    assert doc["status"] == "completed" and doc["output"] == WAIT_OUTPUT
    assert any("no snapshot" in n for n in doc.get("notes", [])), doc


def test_snapshot_show_encrypted(cli, data_dir):
    env = {"WFCTL_ENCRYPTION_KEY": KEY_A}
    run_id = start_waiting(cli, data_dir, "tok-show-enc", env=env)
    doc = one_json(
        check_cli(
            cli("--data-dir", str(data_dir), "snapshot", "show", run_id, "--json", env=env), 0
        )
    )
    assert doc["encrypted"] is True
    assert doc["codec"] == "zstd"
    assert doc["storedBytes"] == snapshot_path(data_dir, run_id).stat().st_size
    assert doc["rawBytes"] > doc["storedBytes"]
    assert re.fullmatch(r"[0-9a-f]{64}", doc["wasmSha256"] or ""), doc


# ------------------------------------------------------------------ runtime equivalence


def _assert_same_log(world_a, run_a, world_b, run_b, masks_a=(), masks_b=(), *, concurrent=False):
    a = normalized_events(world_a, run_a, masks=masks_a)
    b = normalized_events(world_b, run_b, masks=masks_b)
    if not concurrent:
        assert a == b
        return
    # steps running concurrently finish in any order: compare the scheduling order and each
    # operation's own lifecycle
    lifecycle = {"step_started", "step_completed", "step_failed", "step_retrying"}
    assert [x for x in a if x[0] not in lifecycle] == [x for x in b if x[0] not in lifecycle]
    assert lifecycle_by_correlation(a) == lifecycle_by_correlation(b)


@pytest.mark.parametrize("example", ["order", "fanout", "richvalues"])
def test_examples_same_log_and_output_under_both_runtimes(example, example_runs):
    from worlds import open_world

    ex = example_runs[example]
    world = open_world(ex.data_dir)
    try:
        _, snap_id, snap_masks = ex.runs["snapshot"]
        _, replay_id, replay_masks = ex.runs["replay"]
        _assert_same_log(
            world,
            snap_id,
            world,
            replay_id,
            snap_masks,
            replay_masks,
            concurrent=example == "fanout",
        )
        ends = []
        for run_id, masks in ((snap_id, snap_masks), (replay_id, replay_masks)):
            norm = normalized_events(world, run_id, masks=masks)
            ends.append([x for x in norm if x[0] in ("run_completed", "run_failed")])
        assert len(ends[0]) == 1 and ends[0][0][0] == "run_completed", ends
        assert ends[0] == ends[1]
    finally:
        world.close()


FIXTURES = {
    "addTen": ([5], None, 15),
    "seqSteps": ([6], None, 6),
    "catchFail": ([5, 2], None, {"v": 5, "caught": ["boom 0", "boom 2", "boom 4"]}),
    "sleeper": ([60], None, {"x": 2, "slept": True}),
    "retried": ([], None, {"attempt": 2}),
    "waitHook": (["tok-eq-{rt}", 5], ("tok-eq-{rt}", {"n": 3}), WAIT_OUTPUT),
    "unknownStep": ([], None, "failed"),
    "badResult": ([], None, "failed"),
    "raceTimeout": ([20], None, 1),
}


@pytest.mark.parametrize("workflow", list(FIXTURES))
def test_fixtures_same_log_and_output_under_both_runtimes(workflow, engine_for):
    args, hook, expected = FIXTURES[workflow]
    engine = engine_for()
    ids = {}
    for rt in ("snapshot", "replay"):
        res = engine.start(
            workflow, [a.format(rt=rt) if isinstance(a, str) else a for a in args], runtime=rt
        )
        if hook:
            assert res.status == "running"
            res = engine.resume_hook(hook[0].format(rt=rt), hook[1])
        assert res.stats["runtime"] == rt
        if expected == "failed":
            assert res.status == "failed", res.run
        else:
            assert output_of(engine.world, res.run_id) == expected
        ids[rt] = res.run_id
    masks = {rt: (f"tok-eq-{rt}",) for rt in ids}
    _assert_same_log(
        engine.world,
        ids["snapshot"],
        engine.world,
        ids["replay"],
        masks["snapshot"],
        masks["replay"],
    )


def test_concurrent_fixture_same_log_under_both_runtimes(engine_for):
    engine = engine_for()
    ids = {}
    for rt in ("snapshot", "replay"):
        res = engine.start("mixed", [3], runtime=rt)
        out = output_of(engine.world, res.run_id)
        assert out["c"] == 10 and out["map"] == {"c": 10} and out["set"] == {4, 5}
        ids[rt] = res.run_id
    _assert_same_log(engine.world, ids["snapshot"], engine.world, ids["replay"], concurrent=True)
