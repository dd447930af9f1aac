"""The README's "workers on PostgreSQL" commands, as a user runs them, on a fresh database:
`db migrate` creates the queue too, a run started elsewhere is driven by `wfctl worker`, and a
bad WFCTL_LEASE_TTL is a usage error."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from fleet_support import FLEET_APP


def wfctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "WFCTL_ENCRYPTION_KEY"}
    return subprocess.run(
        [sys.executable, "-m", "wfctl.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, **(env or {})},
    )


def test_migrate_start_worker(pg_server):
    url = pg_server.new_database("cli", migrated=False)
    env = {"WFCTL_WORLD": url}
    proc = wfctl("db", "migrate", env=env)
    assert proc.returncode == 0, proc.stderr
    status = json.loads(wfctl("db", "status", "--json", env=env).stdout)
    assert status["current"] is True and status["schemaVersion"] >= 2, status

    app = ["--app", str(FLEET_APP)]
    started = json.loads(wfctl("start", "mix", "3", "--no-wait", *app, "--json", env=env).stdout)
    proc = wfctl("worker", "--until-idle", *app, "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr
    run = json.loads(wfctl("inspect", "run", started["runId"], "--json", env=env).stdout)
    assert run["status"] == "completed" and run["output"] == {"i": 3, "v": 5}, run


def test_bad_lease_ttl_is_a_usage_error(pg_url):
    for bad in ("soon", "0", "-5"):
        proc = wfctl(
            "--world",
            pg_url,
            "worker",
            "--until-idle",
            "--app",
            str(FLEET_APP),
            env={"WFCTL_LEASE_TTL": bad},
        )
        assert proc.returncode == 2, (bad, proc.returncode, proc.stderr)
        assert "WFCTL_LEASE_TTL" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_run_that_cannot_be_driven_does_not_stop_the_worker(pg_url):
    """A run encrypted with a key this worker lacks is reported and backed off in the queue;
    the other runs finish, and --until-idle exits 1 naming it."""
    import base64

    key = base64.b64encode(b"K" * 32).decode()
    app = ["--app", str(FLEET_APP)]
    locked = json.loads(
        wfctl(
            "--world",
            pg_url,
            "start",
            "mix",
            "0",
            "--no-wait",
            *app,
            "--json",
            env={"WFCTL_ENCRYPTION_KEY": key},
        ).stdout
    )["runId"]
    plain = json.loads(
        wfctl("--world", pg_url, "start", "mix", "1", "--no-wait", *app, "--json").stdout
    )["runId"]
    proc = wfctl("--world", pg_url, "worker", "--until-idle", *app)  # no key here
    assert proc.returncode == 1, proc.stderr
    assert locked in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    run = json.loads(wfctl("--world", pg_url, "inspect", "run", plain, "--json").stdout)
    assert run["status"] == "completed", run
    from fleet_support import sql

    # still queued (with its failed attempts counted for the back-off), not dropped
    ((attempts,),) = sql(pg_url, "SELECT attempts FROM wfctl.run_queue WHERE run_id = %s", locked)
    assert attempts >= 1
