"""Defects 10 and 12 of issue 14: the bad-input matrix through the real CLI. Every case exits
with the README's code and one clear sentence (no "internal error", no traceback), and the data
directory is byte-for-byte unchanged."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from engine_support import assert_unchanged, check_cli, listing
from hostile_support import HOSTILE

from worlds import open_world

APP = ["--app", str(HOSTILE)]
OLD_ULID = "wrun_00000000000000000000000000"


@pytest.fixture
def seeded(data_dir: Path, hostile) -> dict[str, str]:
    """A data dir with one finished run (created in-process: fast)."""
    return {"run": hostile.start("healthy", [1]).run_id}


def _matrix() -> list[tuple[str, list[str], dict[str, str], int, str]]:
    """(id, argv after --data-dir, env, exit code, text the error must contain)."""
    return [
        ("run-id-unsafe", ["start", "healthy", "1", "--run-id", "../x", *APP], {}, 2, "--run-id"),
        (
            "run-id-too-old",
            ["start", "healthy", "1", "--run-id", OLD_ULID, *APP],
            {},
            2,
            "--run-id",
        ),
        (
            "run-id-malformed",
            ["start", "healthy", "1", "--run-id", "wrun_abc", *APP],
            {},
            2,
            "--run-id",
        ),
        (
            "run-id-existing",
            ["start", "healthy", "1", "--run-id", "{run}", *APP],
            {},
            2,
            "already exists",
        ),
        ("inspect-unsafe-id", ["inspect", "run", "../../etc"], {}, 2, "Unsafe run id"),
        ("inspect-steps-unsafe-id", ["inspect", "steps", "a/b"], {}, 2, "Unsafe run id"),
        ("bad-cursor", ["inspect", "runs", "--cursor", "garbage"], {}, 2, "--cursor"),
        (
            "deep-input",
            ["start", "healthy", "--input", "@{deep}", *APP],
            {},
            2,
            "nested too deeply",
        ),
        (
            "input-file-missing",
            ["start", "healthy", "--input", "@/nonexistent/x.json", *APP],
            {},
            2,
            "cannot read --input",
        ),
        ("input-not-json", ["start", "healthy", "--input", "[1,", *APP], {}, 2, "not valid JSON"),
        ("deep-hook-payload", ["hook", "resume", "t", "@{deep}", *APP], {}, 2, "nested too deeply"),
        *[
            (f"env-{name}", ["inspect", "runs"], {name: value}, 2, name)
            for name, value in [
                ("WFCTL_STEP_CONCURRENCY", "many"),
                ("WFCTL_STEP_CONCURRENCY", "0"),
                ("WFCTL_SNAPSHOT_EVERY", "-1"),
                ("WFCTL_RETRY_DELAY", "soon"),
                ("WFCTL_VM_BUDGET", "0"),
                ("WFCTL_VM_MEMORY_MB", "lots"),
                ("WFCTL_FSYNC", "yes"),
                ("WORKFLOW_RUNTIME", "fast"),
                ("WFCTL_ENCRYPTION_KEY", ""),
                ("WFCTL_APP", ""),
            ]
        ],
    ]


MATRIX = _matrix()


@pytest.mark.parametrize(
    ("args", "env", "code", "needle"),
    [m[1:] for m in MATRIX],
    ids=[f"{m[0]}-{i}" for i, m in enumerate(MATRIX)],
)
def test_bad_input_matrix(args, env, code, needle, seeded, cli, data_dir, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 60_000 + "]" * 60_000)
    argv = [a.format(run=seeded["run"], deep=deep) for a in args]
    before = listing(data_dir)
    proc = check_cli(cli("--data-dir", str(data_dir), *argv, env=env), code)
    assert needle in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr
    assert_unchanged(before, data_dir)


@pytest.mark.parametrize("command", [["inspect", "runs"], ["start", "healthy", "1", *APP]])
def test_a_data_dir_that_is_a_file_is_a_usage_error(command, cli, tmp_path):
    f = tmp_path / "data"
    f.write_text("not a directory")
    proc = check_cli(cli("--data-dir", str(f), *command), 2)
    assert "not a directory" in proc.stderr
    assert f.read_text() == "not a directory"


def _unprivileged(argv: list[str]) -> list[str]:
    """As root, drop the capabilities that bypass file permissions."""
    if os.geteuid() != 0:
        return argv
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot provoke EACCES")
    drop = "-dac_override,-dac_read_search,-fowner"
    return ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}", *argv]


def test_a_data_dir_without_permission_is_a_usage_error(seeded, data_dir):
    before = listing(data_dir)
    os.chmod(data_dir / "runs", 0o000)
    os.chmod(data_dir.with_name(data_dir.name + ".wfctl") / "journal", 0o500)
    try:
        for args in (["inspect", "runs"], ["start", "healthy", "2", *APP]):
            proc = subprocess.run(
                _unprivileged(
                    [sys.executable, "-m", "wfctl.cli", "--data-dir", str(data_dir), *args]
                ),
                capture_output=True,
                text=True,
                timeout=60,
            )
            check_cli(proc, 2)
            assert "permission denied" in proc.stderr, proc.stderr
    finally:
        os.chmod(data_dir / "runs", 0o755)
        os.chmod(data_dir.with_name(data_dir.name + ".wfctl") / "journal", 0o755)
    assert_unchanged(before, data_dir)


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))


def test_a_full_disk_is_a_clear_failure_and_commits_nothing(seeded, data_dir, tmp_path):
    """Simulated with RLIMIT_FSIZE (1 MiB): writing a 3 MB input fails with EFBIG."""
    big = tmp_path / "big.json"
    big.write_text(json.dumps(["x" * 3_000_000]))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "wfctl.cli",
            "--data-dir",
            str(data_dir),
            "start",
            "size",
            "--input",
            f"@{big}",
            *APP,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_file_size,
    )
    check_cli(proc, 1)
    assert "cannot write" in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    world = open_world(data_dir)
    try:
        runs = world.list_runs(limit=100).data
        assert [r["runId"] for r in runs] == [seeded["run"]]  # nothing half-created
    finally:
        world.close()


def test_large_inputs_from_a_file_or_stdin(seeded, cli, data_dir, tmp_path):
    """Arguments beyond the OS argv limit: --input @PATH and --input - (stdin)."""
    big = json.dumps(["y" * 300_000])
    path = tmp_path / "in.json"
    path.write_text(big)
    out = json.loads(
        check_cli(
            cli(
                "--data-dir", str(data_dir), "start", "size", "--input", f"@{path}", "--json", *APP
            ),
            0,
        ).stdout
    )
    assert out["output"] == 300_000
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "wfctl.cli",
            "--data-dir",
            str(data_dir),
            "start",
            "size",
            "--input",
            "-",
            "--json",
            *APP,
        ],
        input=big,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(check_cli(proc, 0).stdout)["output"] == 300_000
