"""Helpers of the hostile-workflows tests (issue 14)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "engine"))

from engine_support import all_json_files_parse, journal_lines_parse  # noqa: E402

from wfctl.engine.engine import Engine  # noqa: E402
from wfctl.engine.replaycheck import check_run  # noqa: E402
from worlds import all_items  # noqa: E402

HOSTILE = Path(__file__).resolve().parent.parent / "apps" / "hostile"

#: Budget-related tests run with a small budget to stay fast.
BUDGET = "0.5"


def assert_store_consistent(engine: Engine, data_dir: Path) -> None:
    """Every file parses, every run has exactly one terminal event at most, and the current
    code reproduces every stored log (``replay --all`` is clean)."""
    all_json_files_parse(data_dir)
    journal_lines_parse(data_dir)
    runs = all_items(lambda c: engine.world.list_runs(cursor=c, limit=200))
    for run in runs:
        events = engine.world.list_events(run["runId"]).data
        terminal = [
            e for e in events if e["eventType"] in ("run_completed", "run_failed", "run_cancelled")
        ]
        assert len(terminal) <= 1, (run["runId"], [e["eventType"] for e in events])
        report = check_run(engine, run["runId"], "replay")
        assert report.ok, (run["runId"], report.divergence)
