"""The docs stand alone and their examples run as written.

- Every repository path a doc names in backticks exists, and no doc points outside the
  repository (issue 15: the docs once cited a design file readers do not have).
- Every ``js`` example of docs/API-JS.md is a complete workflows.js (and API-PYTHON.md has one
  complete app): with the doc's own steps.py it loads in the VM, passes ``wfctl check``, and each ``// $ wfctl …  → value`` line
  gives that output when run (in-process through Typer's CliRunner, on a fresh data dir).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from docs_support import ROOT, blocks
from typer.testing import CliRunner

from wfctl.cli.commands import app as cli_app

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
API_JS = ROOT / "docs" / "API-JS.md"
API_PY = ROOT / "docs" / "API-PYTHON.md"

_REPO_PATH = re.compile(
    r"`((?:docs|examples|wfctl|worlds|tests|bench)/[A-Za-z0-9_./\-]*[A-Za-z0-9_\-])(?:::[\w]+)?`"
)
_README_SECTIONS = re.compile(r'README(?:\'s|,)((?: (?:and )?"[^"]+",?)+)')
_COMMAND = re.compile(r"^// \$ (wfctl .*?)  → (.*)$", re.M)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_doc_cites_only_repository_files(doc: Path) -> None:
    text = doc.read_text()
    assert "workflow-devkit.md" not in text
    assert "/work/" not in text
    missing = [p for p in _REPO_PATH.findall(text) if not (ROOT / p.rstrip("/")).exists()]
    assert not missing, f"{doc.name} names files that are not in the repository: {missing}"
    # 'the README's "Use it from Python"': a heading (or a phrase) the README has.
    readme = " ".join((ROOT / "README.md").read_text().split()).lower()
    for named in _README_SECTIONS.findall(text):
        for quoted in re.findall(r'"([^"]+)"', named):
            title = " ".join(quoted.split())
            assert title.lower() in readme, f"{doc.name}: the README has no {title!r}"


def _examples() -> list[tuple[str, str]]:
    """(workflows.js, steps.py) of every runnable example: each js block of API-JS.md with that
    doc's steps.py, and API-PYTHON.md's complete example."""
    js_steps = blocks(API_JS, "python")[0]
    out = [(b, js_steps) for b in blocks(API_JS, "js") if "export " in b]
    out.append((blocks(API_PY, "js")[0], blocks(API_PY, "python")[1]))
    return out


def _run(args: list[str]) -> tuple[int, dict[str, object] | None]:
    result = CliRunner().invoke(cli_app, args, catch_exceptions=False)
    try:
        return result.exit_code, json.loads(result.stdout)
    except ValueError:
        return result.exit_code, None


@pytest.mark.parametrize("index", range(len(_examples())))
def test_api_example_runs_as_written(index: int, tmp_path: Path) -> None:
    source, steps = _examples()[index]
    app = tmp_path / "app"
    app.mkdir()
    (app / "workflows.js").write_text(source)
    (app / "steps.py").write_text(steps)
    base = ["--data-dir", str(tmp_path / "data"), "--json"]

    code, report = _run([*base, "check", "--app", str(app)])
    assert code == 0, report

    for command, expected in _COMMAND.findall(source):
        argv = shlex.split(command)[1:]
        argv.insert(1 if argv[0] == "start" else 2, "--app")
        argv.insert(2 if argv[0] == "start" else 3, str(app))
        code, out = _run([*base, *argv])
        if expected.startswith("exit "):
            assert code == int(expected.split()[1]), (command, out)
            continue
        assert code == 0 and out is not None, (command, code, out)
        if expected == "running":
            assert out["status"] == "running", (command, out)
        else:
            assert out["status"] == "completed", (command, out)
            assert out["output"] == json.loads(expected), command
