"""`wfctl replay`: does the current code reproduce the stored logs? (SPEC §6)

Clean on every stored run of the examples (both runtimes' runs, both checkers); a changed
workflow names the first divergent event (index, expected vs actual) and exits 1; nothing is
written; `--runtime snapshot` on a waiting run starts from its snapshot.
"""

from __future__ import annotations

import pytest
from engine_support import T_APP, assert_unchanged, check_cli, listing, one_json, snapshot_path

from wfctl.engine.replaycheck import check_run


@pytest.mark.parametrize("checker", ["replay", "snapshot"])
@pytest.mark.parametrize("example", ["order", "fanout", "richvalues"])
def test_replay_all_is_clean_on_the_examples(example, checker, example_runs, cli):
    ex = example_runs[example]
    before = listing(ex.data_dir)
    proc = cli(
        "--data-dir",
        str(ex.data_dir),
        "replay",
        "--all",
        "--app",
        str(ex.app),
        "--runtime",
        checker,
        "--json",
    )
    doc = one_json(check_cli(proc, 0))
    assert doc["ok"] is True, doc
    assert sorted(r["runId"] for r in doc["runs"]) == sorted(
        run_id for _, run_id, _ in ex.runs.values()
    )
    assert all(r["ok"] for r in doc["runs"]), doc
    assert_unchanged(before, ex.data_dir)


def test_replay_human_output(example_runs, cli):
    ex = example_runs["richvalues"]
    proc = check_cli(
        cli("--data-dir", str(ex.data_dir), "replay", "--all", "--app", str(ex.app)), 0
    )
    assert "2/2 runs reproduce their logs" in proc.stdout, proc.stdout


CHANGES = {
    # name: (replacement of `const b = await add(a, 3);`, what `expected` / `actual` must name)
    "other-step": ("const b = await inc(a);", ("add", "inc")),
    "other-arguments": ("const b = await add(a, 4);", ("3", "4")),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_changed_code_names_the_first_divergent_event(change, copy_app, data_dir, cli, engine_for):
    app = copy_app("t_engine")
    engine = engine_for(app)
    done = engine.start("addTen", [5])
    assert done.status == "completed"
    waiting = engine.start("waitHook", ["tok-div", 5])
    assert waiting.status == "running"
    log = engine.world.list_events(done.run_id).data
    second_step = [i for i, e in enumerate(log) if e["eventType"] == "step_created"][1]

    replacement, (expected_word, actual_word) = CHANGES[change]
    src = app / "workflows.js"
    text = src.read_text()
    assert "const b = await add(a, 3);" in text
    src.write_text(text.replace("const b = await add(a, 3);", replacement))

    before = listing(data_dir)
    proc = cli("--data-dir", str(data_dir), "replay", "--all", "--app", str(app), "--json")
    doc = one_json(check_cli(proc, 1))
    assert doc["ok"] is False
    by_id = {r["runId"]: r for r in doc["runs"]}
    assert by_id[waiting.run_id]["ok"] is True, "waitHook did not change"
    bad = by_id[done.run_id]
    assert bad["ok"] is False
    div = bad["divergence"]
    assert div["index"] == second_step, div
    assert div["eventId"] == log[second_step]["eventId"]
    assert expected_word in div["expected"] and actual_word in div["actual"], div
    assert div["expected"] != div["actual"]
    assert_unchanged(before, data_dir)

    # one run by id: same verdict; human output names the event
    proc = check_cli(cli("--data-dir", str(data_dir), "replay", done.run_id, "--app", str(app)), 1)
    assert f"#{second_step}" in proc.stdout and "expected" in proc.stdout, proc.stdout


def test_removed_step_is_a_divergence(copy_app, data_dir, cli, engine_for):
    app = copy_app("t_engine")
    engine = engine_for(app)
    done = engine.start("addTen", [5])
    log = engine.world.list_events(done.run_id).data
    third_step = [i for i, e in enumerate(log) if e["eventType"] == "step_created"][2]
    src = app / "workflows.js"
    text = src.read_text()
    assert "const c = await add(b, 5);\n  return c;" in text
    # same output (15), one step fewer: the log's third step_created is never claimed
    src.write_text(text.replace("const c = await add(b, 5);\n  return c;", "return b + 5;"))

    doc = one_json(
        check_cli(
            cli("--data-dir", str(data_dir), "replay", done.run_id, "--app", str(app), "--json"), 1
        )
    )
    div = doc["runs"][0]["divergence"]
    assert div["index"] == third_step, div
    assert "add" in div["expected"], div


@pytest.mark.parametrize("checker", ["replay", "snapshot"])
def test_replay_of_a_waiting_run(checker, cli, data_dir, engine_for):
    proc = check_cli(
        cli(
            "--data-dir",
            str(data_dir),
            "start",
            "waitHook",
            "tok-rw",
            "5",
            "--app",
            str(T_APP),
            "--json",
        ),
        0,
    )
    run_id = one_json(proc)["runId"]
    assert snapshot_path(data_dir, run_id).is_file()
    before = listing(data_dir)

    proc = check_cli(
        cli(
            "--data-dir",
            str(data_dir),
            "replay",
            run_id,
            "--runtime",
            checker,
            "--app",
            str(T_APP),
            "--json",
        ),
        0,
    )
    doc = one_json(proc)
    assert doc == {"ok": True, "runs": [{"runId": run_id, "ok": True}]}, doc  # no fallback note
    assert_unchanged(before, data_dir)

    report = check_run(engine_for(), run_id, checker)
    assert report.ok
    assert report.source == ("snapshot" if checker == "snapshot" else "replay"), report
    assert report.notes == []
    assert_unchanged(before, data_dir)


def test_replay_usage_errors(cli, data_dir):
    check_cli(cli("--data-dir", str(data_dir), "replay", "--app", str(T_APP), "--json"), 2)
    check_cli(
        cli(
            "--data-dir",
            str(data_dir),
            "replay",
            "--all",
            "--runtime",
            "bogus",
            "--app",
            str(T_APP),
        ),
        2,
    )
    check_cli(
        cli(
            "--data-dir",
            str(data_dir),
            "replay",
            "wrun_01M811WVE6DYZJ2YAS2Q8S4PYM",
            "--app",
            str(T_APP),
        ),
        3,
    )
