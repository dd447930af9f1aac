"""Fixtures of the engine-level acceptance tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from engine_support import EXAMPLES, T_APP

from wfctl.engine.app import App
from wfctl.engine.engine import Engine
from worlds import open_world

ENV_KNOBS = ("WORKFLOW_RUNTIME", "WFCTL_ENCRYPTION_KEY", "WORKFLOW_LOCAL_DATA_DIR", "WFCTL_APP")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests set what they need; nothing leaks in from the developer's shell."""
    for name in ENV_KNOBS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def engine_for(data_dir: Path) -> Iterator[Callable[..., Engine]]:
    """engine_for(app_dir) -> a fresh Engine (reads the environment now) over data_dir."""
    worlds = []

    def factory(app: Path = T_APP) -> Engine:
        world = open_world(data_dir)
        worlds.append(world)
        return Engine(world, App.load(app))

    yield factory
    for w in worlds:
        w.close()


@dataclass
class ExampleRuns:
    name: str
    app: Path
    data_dir: Path
    # label -> (runtime, run id, masks: strings that legitimately differ between the runs)
    runs: dict[str, tuple[str, str, tuple[str, ...]]] = field(default_factory=dict)


def _order(engine: Engine, runtime: str, approve: bool) -> tuple[str, tuple[str, ...]]:
    order_id = f"o-{runtime}-{'ok' if approve else 'no'}"
    res = engine.start("orderFlow", [order_id, 2500], runtime=runtime)
    assert res.status == "running", res.run
    res = engine.resume_hook(f"approve:{order_id}", {"approved": approve, "by": "dana"})
    assert res.status == ("completed" if approve else "failed"), res.run
    return res.run_id, (order_id,)


def _fanout(engine: Engine, runtime: str) -> tuple[str, tuple[str, ...]]:
    res = engine.start("fanOut", [4], runtime=runtime)
    assert res.status == "completed", res.run
    return res.run_id, ()


def _richvalues(engine: Engine, runtime: str) -> tuple[str, tuple[str, ...]]:
    res = engine.start("richValues", [], runtime=runtime)
    assert res.status == "completed", res.run
    return res.run_id, ()


@pytest.fixture(scope="session")
def example_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ExampleRuns]:
    """Every example run to its end under both runtimes, one data directory per example
    (the order example: approved under each runtime, plus one rejected run)."""
    base = tmp_path_factory.mktemp("examples")
    out: dict[str, ExampleRuns] = {}
    engines: dict[str, Engine] = {}
    for name in ("order", "fanout", "richvalues"):
        out[name] = ExampleRuns(name, EXAMPLES / name, base / name)
        engines[name] = Engine(open_world(out[name].data_dir), App.load(EXAMPLES / name))
    jobs = {
        ("order", "snapshot"): lambda: _order(engines["order"], "snapshot", True),
        ("order", "replay"): lambda: _order(engines["order"], "replay", True),
        ("order", "rejected"): lambda: _order(engines["order"], "snapshot", False),
        ("fanout", "snapshot"): lambda: _fanout(engines["fanout"], "snapshot"),
        ("fanout", "replay"): lambda: _fanout(engines["fanout"], "replay"),
        ("richvalues", "snapshot"): lambda: _richvalues(engines["richvalues"], "snapshot"),
        ("richvalues", "replay"): lambda: _richvalues(engines["richvalues"], "replay"),
    }
    with pytest.MonkeyPatch.context() as mp:
        for name in ENV_KNOBS:
            mp.delenv(name, raising=False)
        # the runs are independent: drive them concurrently, as `wfctl worker` does
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            futures = {k: pool.submit(fn) for k, fn in jobs.items()}
            for (name, label), fut in futures.items():
                run_id, masks = fut.result()
                runtime = "snapshot" if label == "rejected" else label
                out[name].runs[label] = (runtime, run_id, masks)
    for eng in engines.values():
        eng.world.close()
    return out
