"""Issue 14 acceptance: a worker given 20 healthy runs and 5 poison runs (one per trigger
class of defect 2) completes the 20, fails the 5 and exits 0 under ``--until-idle``."""

from __future__ import annotations

import json
import time

from engine_support import check_cli
from hostile_support import HOSTILE

POISON = [
    ("sleepFarUncaught", []),  # an out-of-range sleep (the host could not format the year)
    ("badStep", ["str"]),  # a step exception whose __str__ raises
    ("badStep", ["cycle"]),  # a cycle in the __cause__ chain
    ("badStep", ["exit"]),  # a step calling sys.exit()
    ("badStep", ["interrupt"]),  # a step raising KeyboardInterrupt
]


def test_a_worker_survives_poison_runs_and_serves_the_others(cli, data_dir, hostile):
    app = ["--app", str(HOSTILE)]
    base = ["--data-dir", str(data_dir)]
    # created in-process (fast); driven by a real `wfctl worker` process
    poison_ids = [hostile.start(w, args, wait=False).run_id for w, args in POISON]
    healthy_ids = [hostile.start("healthy", [n], wait=False).run_id for n in range(20)]

    t0 = time.monotonic()
    proc = cli(*base, "worker", "--until-idle", "--concurrency", "4", *app, timeout=180)
    check_cli(proc, 0)
    assert time.monotonic() - t0 < 120

    listing = json.loads(
        check_cli(cli(*base, "inspect", "runs", "--limit", "100", "--json"), 0).stdout
    )
    status = {r["runId"]: r["status"] for r in listing["data"]}
    assert all(status[r] == "completed" for r in healthy_ids), status
    assert all(status[r] == "failed" for r in poison_ids), status
    check_cli(cli(*base, "replay", "--all", *app), 0)
