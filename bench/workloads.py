"""The benchmark workloads: which workflow, which arguments, how many steps or suspensions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

APP_DIR = Path(__file__).resolve().parent / "apps" / "bench"
PAYLOAD_SIZE = 10 * 1024


@dataclass(frozen=True)
class Workload:
    key: str  # unique, used on the command line and in the report
    label: str
    workflow: str
    args: list[Any]
    n: int  # steps (or suspensions) the per-step overhead is divided by; 0 = none
    expect: Any  # the workflow's return value
    env: dict[str, str] = field(default_factory=dict)  # extra environment for the child process
    hooks: int = 0  # resume `bench-hook-<i>` for i < hooks after the start returns
    note: str = ""

    @property
    def quick(self) -> bool:
        return self.n <= 50


def _workloads() -> list[Workload]:
    out = [Workload("no-steps", "no steps", "noSteps", [21], 0, 42)]
    for n in (1, 10, 50, 200, 1000):
        out.append(Workload(f"seq-{n}", f"sequential {n}", "sequential", [n], n, n - 1))
    for n in (10, 50, 200):
        out.append(Workload(f"all-{n}", f"Promise.all {n}", "promiseAll", [n], n, n))
    for n in (10, 50, 200):
        out.append(Workload(f"race-{n}", f"Promise.race {n}", "promiseRace", [n], n, n))
    for n in (10, 50):
        out.append(
            Workload(
                f"seq-payload-{n}",
                f"sequential {n} × 10 KB",
                "seqPayload",
                [n, PAYLOAD_SIZE],
                n,
                PAYLOAD_SIZE,
            )
        )
    for n in (10, 50):
        out.append(
            Workload(
                f"conc-payload-{n}",
                f"concurrent {n} × 10 KB",
                "concPayload",
                [n, PAYLOAD_SIZE],
                n,
                n,
            )
        )
    # Snapshot bytes per suspension. Within one process the snapshot runtime keeps the live VM
    # and saves only when the run leaves the process or every WFCTL_SNAPSHOT_EVERY events; these
    # rows force a save at every suspension (or make the run leave the process at each one).
    every = {"WFCTL_SNAPSHOT_EVERY": "1"}
    out.append(
        Workload(
            "seq-50-save-each",
            "sequential 50, save each [1]",
            "sequential",
            [50],
            50,
            49,
            env=every,
            note="WFCTL_SNAPSHOT_EVERY=1",
        )
    )
    out.append(
        Workload(
            "sleeps-20-save-each",
            "sleep 1ms × 20, save each [1]",
            "sleeps",
            [20],
            20,
            20,
            env=every,
            note="WFCTL_SNAPSHOT_EVERY=1; timers waited in-process",
        )
    )
    out.append(
        Workload(
            "hooks-20",
            "hook × 20, leave each [2]",
            "hooks",
            [20],
            20,
            190,
            hooks=20,
            note="default policy; each hook resumed by a new drive",
        )
    )
    return out


WORKLOADS: list[Workload] = _workloads()
BY_KEY: dict[str, Workload] = {w.key: w for w in WORKLOADS}
RUNTIMES = ("snapshot", "replay")
# The growth section: per-step overhead of sequential steps at these N, ratio last/first.
GROWTH_KEYS = {10: "seq-10", 200: "seq-200", 1000: "seq-1000"}
# The issue-9 headline table (snapshot runtime), in this order; the growth keys come on top.
HEADLINE_KEYS = ("seq-10", "seq-50", "seq-200", "all-50", "seq-payload-50")
