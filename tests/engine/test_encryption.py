"""Encryption at rest (SPEC §5 "Encryption", §8 "a wrong encryption key").

With WFCTL_ENCRYPTION_KEY set every payload on disk — run input/output/error, step
input/result/error, hook metadata and payloads, snapshots — is an ``encr`` envelope; `inspect`
shows placeholders unless --decrypt; a wrong or missing key is one clear error that writes
nothing; a malformed key is a usage error.
"""

from __future__ import annotations

import pytest
from engine_support import (
    KEY_A,
    KEY_B,
    T_APP,
    assert_one_line,
    assert_unchanged,
    check_cli,
    listing,
    one_json,
    output_of,
    snapshot_path,
    stored_payloads,
)

from wfctl.cli.jsonout import ENCRYPTED

SECRET = "s3cr3t-Q7ZPX"


def _kinds(payloads) -> set[str]:
    return {path.rsplit(".", 1)[-1] for _, path, _ in payloads}


def _assert_all_encrypted(data_dir) -> list:
    payloads = stored_payloads(data_dir)
    assert payloads, "no payloads found on disk"
    plain = [(f, p, d[:12]) for f, p, d in payloads if d[:4] != b"encr"]
    assert not plain, f"payloads stored unencrypted: {plain[:10]}"
    return payloads


def test_every_payload_on_disk_is_encrypted(data_dir, engine_for, monkeypatch):
    monkeypatch.setenv("WFCTL_ENCRYPTION_KEY", KEY_A)
    engine = engine_for()
    waiting = engine.start("secretFlow", [SECRET, "tok-enc"])
    assert waiting.status == "running", waiting.run
    snap = snapshot_path(data_dir, waiting.run_id)
    assert snap.read_bytes()[:4] == b"encr", "the snapshot is not encrypted"
    seen = _kinds(_assert_all_encrypted(data_dir))  # includes the live hook's metadata
    assert "metadata" in seen, seen

    done = engine.resume_hook("tok-enc", {"secret": SECRET})
    assert done.status == "completed", done.run
    failed = engine.start("secretFail", [SECRET])
    assert failed.status == "failed", failed.run
    ok = engine.start("addTen", [5])
    assert ok.status == "completed"

    seen |= _kinds(_assert_all_encrypted(data_dir))
    for kind in ("input", "output", "result", "error", "payload", "metadata"):
        assert kind in seen, f"no {kind!r} payload was checked: {sorted(seen)}"

    key = engine.run_key(done.run_id)
    assert output_of(engine.world, done.run_id, key) == {
        "echoed": SECRET + "!",
        "message": f"failure mentions {SECRET}",
        "got": {"secret": SECRET},
    }
    # per-run keys: one run's key does not open another run's payloads
    assert engine.run_key(ok.run_id) != key


def test_no_secret_in_plaintext_anywhere_on_disk(data_dir, engine_for, monkeypatch):
    """Payloads are encrypted; copies of their content (error messages, stacks) must not sit
    next to them in plaintext."""
    monkeypatch.setenv("WFCTL_ENCRYPTION_KEY", KEY_A)
    engine = engine_for()
    assert engine.start("secretFlow", [SECRET, "tok-leak"]).status == "running"
    assert engine.resume_hook("tok-leak", {"secret": SECRET}).status == "completed"
    assert engine.start("secretFail", [SECRET]).status == "failed"
    leaks = sorted(
        p.relative_to(data_dir).as_posix()
        for p in data_dir.rglob("*")
        if p.is_file() and SECRET.encode() in p.read_bytes()
    )
    assert not leaks, f"the secret is stored in plaintext in {leaks}"


def _seed(cli, data_dir) -> dict[str, str]:
    """A run waiting on a hook and a pending run, both written with KEY_A."""
    env = {"WFCTL_ENCRYPTION_KEY": KEY_A}
    a = one_json(
        check_cli(
            cli(
                "--data-dir",
                str(data_dir),
                "start",
                "waitHook",
                "tok-key",
                "5",
                "--app",
                str(T_APP),
                "--json",
                env=env,
            ),
            0,
        )
    )
    b = one_json(
        check_cli(
            cli(
                "--data-dir",
                str(data_dir),
                "start",
                "addTen",
                "5",
                "--no-wait",
                "--app",
                str(T_APP),
                "--json",
                env=env,
            ),
            0,
        )
    )
    assert a["status"] == "running" and b["status"] == "pending"
    return {"waiting": a["runId"], "pending": b["runId"]}


def test_inspect_shows_placeholders_unless_decrypt(cli, data_dir):
    env = {"WFCTL_ENCRYPTION_KEY": KEY_A}
    run_id = one_json(
        check_cli(
            cli(
                "--data-dir",
                str(data_dir),
                "start",
                "addTen",
                "5",
                "--app",
                str(T_APP),
                "--json",
                env=env,
            ),
            0,
        )
    )["runId"]

    doc = one_json(
        check_cli(cli("--data-dir", str(data_dir), "inspect", "run", run_id, "--json", env=env), 0)
    )
    assert doc["input"] == ENCRYPTED and doc["output"] == ENCRYPTED, doc
    assert doc["steps"] and all(
        s["input"] == ENCRYPTED and s["output"] == ENCRYPTED for s in doc["steps"]
    )
    assert "15" not in str(doc["output"])

    doc = one_json(
        check_cli(
            cli(
                "--data-dir",
                str(data_dir),
                "inspect",
                "run",
                run_id,
                "--decrypt",
                "--json",
                env=env,
            ),
            0,
        )
    )
    assert doc["input"] == [5] and doc["output"] == 15, doc
    assert sorted(s["output"] for s in doc["steps"]) == [7, 10, 15]

    events = one_json(
        check_cli(
            cli(
                "--data-dir",
                str(data_dir),
                "inspect",
                "events",
                run_id,
                "--decrypt",
                "--json",
                env=env,
            ),
            0,
        )
    )
    completed = [e for e in events["data"] if e["eventType"] == "run_completed"]
    assert completed[0]["eventData"]["output"] == 15

    human = check_cli(cli("--data-dir", str(data_dir), "inspect", "run", run_id, env=env), 0)
    assert ENCRYPTED in human.stdout


@pytest.mark.parametrize("key", [KEY_B, None], ids=["wrong-key", "no-key"])
@pytest.mark.parametrize("command", ["hook-resume", "worker", "inspect-decrypt"])
def test_wrong_or_missing_key_is_one_clear_error_and_writes_nothing(command, key, cli, data_dir):
    ids = _seed(cli, data_dir)
    before = listing(data_dir)
    env = {"WFCTL_ENCRYPTION_KEY": key} if key else {}
    args = {
        "hook-resume": ["hook", "resume", "tok-key", '{"n": 1}', "--app", str(T_APP)],
        "worker": ["worker", "--until-idle", "--app", str(T_APP)],
        "inspect-decrypt": ["inspect", "run", ids["waiting"], "--decrypt"],
    }[command]
    proc = cli("--data-dir", str(data_dir), *args, env=env)
    assert proc.returncode != 0, (
        f"exit 0 with a {'wrong' if key else 'missing'} key:\n{proc.stdout}\n{proc.stderr}"
    )
    assert "Traceback" not in proc.stderr
    assert "key" in proc.stderr.lower(), proc.stderr
    assert_unchanged(before, data_dir)
    assert_one_line(proc)


@pytest.mark.parametrize(
    "bad", ["not base64!!", "c2hvcnQ=", ""], ids=["not-base64", "short", "empty"]
)
def test_malformed_key_is_a_usage_error(bad, cli, data_dir):
    _seed(cli, data_dir)
    before = listing(data_dir)
    env = {"WFCTL_ENCRYPTION_KEY": bad}
    proc = cli(
        "--data-dir", str(data_dir), "start", "addTen", "5", "--app", str(T_APP), "--json", env=env
    )
    check_cli(proc, 2, one_line_error=False)  # an empty key is an error too (issue 14)
    assert "WFCTL_ENCRYPTION_KEY" in proc.stderr
    assert proc.stdout == ""
    assert_unchanged(before, data_dir)
    listing_proc = check_cli(
        cli("--data-dir", str(data_dir), "inspect", "runs", "--json", env=env),
        2,
        one_line_error=False,
    )
    assert_unchanged(before, data_dir)
    assert_one_line(proc)
    assert_one_line(listing_proc)
