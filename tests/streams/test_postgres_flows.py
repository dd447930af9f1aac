"""Streams and child runs on the PostgreSQL world, through the real CLI (skipped in a
checkout without the PostgreSQL test server)."""

from __future__ import annotations

import json

import pytest
from flows_support import cli, json_lines


@pytest.fixture
def pg_env(request: pytest.FixtureRequest) -> dict[str, str]:
    try:
        url = request.getfixturevalue("pg_url")
    except pytest.FixtureLookupError:
        pytest.skip("no PostgreSQL test server in this checkout")
    return {"WFCTL_WORLD": url}


def test_streams_and_children_on_postgres(pg_env: dict[str, str]) -> None:
    def run(*args: str):
        res = cli(None, *args, env=pg_env)
        assert res.returncode == 0, res.stderr
        return res

    rid = json.loads(run("--json", "start", "outputStream").stdout)["runId"]
    assert json_lines(run("inspect", "stream", rid, "--json").stdout)[1] == {
        "index": 1,
        "data": {"foo": "test"},
    }
    listed = json.loads(run("inspect", "streams", rid, "--json").stdout)["data"]
    assert [(d["namespace"], d["tailIndex"], d["done"]) for d in listed] == [
        (None, 1, True),
        ("test", 1, True),
    ]
    assert json.loads(run("--json", "start", "fibonacci", "5").stdout)["output"] == 5
    parent = json.loads(run("--json", "start", "parentOfHookChild", "pg-tok").stdout)
    assert parent["status"] == "running"
    run("--json", "hook", "resume", "pg-tok", "41")
    shown = json.loads(run("--json", "inspect", "run", parent["runId"]).stdout)
    assert shown["status"] == "completed" and shown["output"] == {"child": 42}
    assert len(shown["children"]) == 1
