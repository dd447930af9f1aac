"""The CLI on both worlds: --world / WFCTL_WORLD, `wfctl db migrate|status`, and bad targets.

Real subprocesses against the suite's PostgreSQL server (tests/pgserver.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "tests" / "apps" / "t_engine"


def wfctl(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 60):
    import os

    full = {k: v for k, v in os.environ.items() if k not in ("WFCTL_WORLD",)}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "wfctl.cli", *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=cwd,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def one_sentence_error(proc: subprocess.CompletedProcess) -> str:
    err = proc.stderr.strip()
    assert "Traceback" not in err, err
    assert len(err.splitlines()) == 1, err
    return err


def test_db_migrate_and_status_on_a_fresh_database(pg_server):
    from worlds.postgres import migrations

    latest = migrations.latest()  # 1 (world) + the modules that register theirs (2: fleet)
    url = pg_server.new_database("cli", migrated=False)
    before = wfctl("--world", url, "db", "status", "--json")
    assert before.returncode == 1, before.stderr
    assert json.loads(before.stdout) == {"world": "postgres", "schemaVersion": 0, "current": False}
    # Every other command refuses a database without the schema, naming `wfctl db migrate`.
    refused = wfctl("inspect", "runs", env={"WFCTL_WORLD": url})
    assert refused.returncode == 2
    assert "wfctl db migrate" in one_sentence_error(refused)
    # Several processes migrating at once: all succeed, one schema.
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "wfctl.cli", "--world", url, "db", "migrate", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outs
    assert {json.loads(o)["schemaVersion"] for o, _ in outs} == {latest}
    assert sorted(json.loads(o)["migratedFrom"] for o, _ in outs) == [0, latest, latest, latest]
    after = wfctl("db", "status", "--json", env={"WFCTL_WORLD": url})
    assert after.returncode == 0
    assert json.loads(after.stdout) == {
        "world": "postgres",
        "schemaVersion": latest,
        "current": True,
    }
    again = wfctl("--world", url, "db", "migrate")
    assert again.returncode == 0 and "already current" in again.stdout


def test_an_older_schema_is_refused_until_migrated(pg_url, monkeypatch):
    """A database at the current version while this wfctl knows a (test-registered) later one."""
    from worlds import StoreUnavailableError
    from worlds.postgres import PostgresWorld, migrations

    now = migrations.latest()
    monkeypatch.setitem(migrations.MIGRATIONS, now + 1, "CREATE TABLE {s}.later_feature (x int);")
    with pytest.raises(StoreUnavailableError) as info:
        PostgresWorld(pg_url)
    message = str(info.value)
    assert f"schema version {now}" in message and "`wfctl db migrate`" in message
    assert PostgresWorld(pg_url, check_schema=False).schema_status() == {
        "world": "postgres",
        "schemaVersion": now,
        "current": False,
    }
    w = PostgresWorld(pg_url, check_schema=False)
    assert w.migrate() == now + 1 and w.migrated_from == now
    w.close()
    PostgresWorld(pg_url).close()  # current now


def test_local_world_db_status(tmp_path):
    out = wfctl("--world", str(tmp_path / "d"), "db", "status", "--json")
    assert out.returncode == 0
    assert json.loads(out.stdout) == {"world": "local", "schemaVersion": 1, "current": True}


@pytest.mark.parametrize(
    "case",
    ["unreachable-socket", "refused-tcp", "unknown-database", "wrong-password"],
)
def test_bad_targets_exit_2_with_one_sentence(pg_server, case):
    from pgserver import PASSWORD_ROLE

    sock = pg_server.socket_dir
    url = {
        "unreachable-socket": "postgresql://postgres:s3cret@/db?host=/nonexistent/wfctl-socket",
        "refused-tcp": "postgres://postgres:s3cret@127.0.0.1:1/db",
        "unknown-database": f"postgresql://postgres:s3cret@/no_such_db?host={sock}",
        "wrong-password": f"postgresql://{PASSWORD_ROLE}:s3cret@/postgres?host={sock}",
    }[case]
    start = time.monotonic()
    proc = wfctl("--world", url, "inspect", "runs")
    elapsed = time.monotonic() - start
    assert proc.returncode == 2, proc.stderr
    err = one_sentence_error(proc)
    assert "s3cret" not in err and "***" in err, err
    assert elapsed < 10, elapsed
    expected = {
        "unreachable-socket": "No such file or directory",
        "refused-tcp": "refused",
        "unknown-database": 'database "no_such_db" does not exist',
        "wrong-password": "password authentication failed",
    }[case]
    assert expected in err, err
    # The same through the environment, for `db status` too.
    env_proc = wfctl("db", "status", env={"WFCTL_WORLD": url})
    assert env_proc.returncode == 2 and "s3cret" not in env_proc.stderr


def test_every_command_on_postgres(pg_url):
    """start, inspect *, hook resume, cancel, replay, snapshot, worker on a Postgres world."""
    env = {"WFCTL_WORLD": pg_url, "WFCTL_APP": str(APP)}
    started = wfctl("--json", "start", "waitHook", "tok-7", "7", env=env)
    assert started.returncode == 0, started.stderr
    run = json.loads(started.stdout)
    assert run["status"] == "running"
    rid = run["runId"]
    for cmd in (
        ["inspect", "runs"],
        ["inspect", "run", rid],
        ["inspect", "steps", rid],
        ["inspect", "events", rid],
        ["inspect", "hooks"],
        ["inspect", "sleeps", rid],
        ["snapshot", "show", rid],
    ):
        proc = wfctl("--json", *cmd, env=env)
        assert proc.returncode == 0, (cmd, proc.stderr)
        json.loads(proc.stdout)
    hooks = json.loads(wfctl("--json", "inspect", "hooks", env=env).stdout)["data"]
    assert [h["token"] for h in hooks] == ["tok-7"]
    resumed = wfctl("--json", "hook", "resume", "tok-7", '{"n": 5}', env=env)
    assert resumed.returncode == 0, resumed.stderr
    done = json.loads(resumed.stdout)
    assert done["status"] == "completed" and done["output"]["b"] == 13
    replay = wfctl("--json", "replay", "--all", env=env)
    assert replay.returncode == 0, replay.stderr
    assert json.loads(replay.stdout)["ok"] is True
    queued = json.loads(wfctl("--json", "start", "addTen", "1", "--no-wait", env=env).stdout)
    worker = wfctl("--json", "worker", "--until-idle", env=env)
    assert worker.returncode == 0, worker.stderr
    assert (
        json.loads(wfctl("--json", "inspect", "run", queued["runId"], env=env).stdout)["output"]
        == 11
    )
    waiting = json.loads(wfctl("--json", "start", "waitHook", "tok-8", "1", env=env).stdout)
    cancelled = wfctl("--json", "cancel", waiting["runId"], env=env)
    assert cancelled.returncode in (0, 1), cancelled.stderr
    assert json.loads(cancelled.stdout)["status"] == "cancelled"
    # the local world is untouched by all this
    assert (
        wfctl("--json", "--world", "local-dir-unused", "inspect", "runs", env=env).returncode == 0
    )
