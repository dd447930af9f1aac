"""docs/DEBUGGING.md works as written: its shell lines, in order, in one bash session.

The guide edits the example (sed, git checkout, git apply), so it runs on a copy of
examples/invoices inside a scratch git repository laid out like this one. A line whose comment
says ``exit N`` must exit N; every other line must exit 0. ``wfctl web`` (a server that runs
until stopped) is left out; tests/web covers it. Real processes: bash, git and the installed
``wfctl``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from docs_support import ROOT, blocks

GUIDE = ROOT / "docs" / "DEBUGGING.md"
_EXIT = re.compile(r"#.*\bexit (\d)\b")


def guide_script() -> str:
    """The guide's sh lines as one bash script that checks each line's exit status."""
    out = ["set -u", 'fail() { echo "FAILED (exit $2, wanted $3): $1" >&2; exit 99; }']
    for block in blocks(GUIDE, "sh"):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if not command or command.startswith("#") or command.startswith("wfctl web"):
                continue
            m = _EXIT.search(line)
            want = int(m.group(1)) if m else 0
            quoted = command.replace("'", "'\\''")
            out.append(f"{command}\nrc=$?; [ $rc -eq {want} ] || fail '{quoted}' $rc {want}")
    return "\n".join(out) + "\n"


@pytest.mark.slow
def test_debugging_guide_runs_as_written(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(
        ROOT / "examples" / "invoices",
        repo / "examples" / "invoices",
        ignore=shutil.ignore_patterns(".workflow-data*", "__pycache__"),
    )
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "example"], cwd=repo, check=True)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("WFCTL_", "WORKFLOW_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["WFCTL_RETRY_DELAY"] = "0.05"  # the guide's failing step retries three times
    if "WFCTL_CACHE_DIR" in os.environ:
        env["WFCTL_CACHE_DIR"] = os.environ["WFCTL_CACHE_DIR"]
    script = guide_script()
    (tmp_path / "guide.sh").write_text(script)
    done = subprocess.run(
        ["bash", str(tmp_path / "guide.sh")],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-2000:]
    out = done.stdout
    assert "KeyError: 'qty'" in out  # inspect run shows the step's exception and traceback
    assert '"total": 900' in out  # the fork with the fixed step completed
    assert "expected: step compute_total" in out and "actual:   step check_credit" in out
    assert "🔒 Encrypted" in out
