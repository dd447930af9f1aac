"""Memoized decoding under the replay runtime (SPEC §5, seed PR "memoize step return value
hydration across inline replays").

A completed step's result is decrypted/decoded at most once per invocation although the replay
runtime re-feeds the whole log on every inline iteration: payload decodes grow O(N) for N
sequential steps, not O(N²). Errors are never memoized; large strings are not kept.
"""

from __future__ import annotations

from collections import Counter

import pytest
from engine_support import KEY_A, output_of

from wfctl.runtime.events import MEMO_MAX_CHARS, EventFeed


def _seq(engine_for, n: int, runtime: str = "replay"):
    res = engine_for().start("seqSteps", [n], runtime=runtime)
    assert res.status == "completed", res.run
    assert res.stats["runtime"] == runtime
    return res


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_decodes_grow_linearly_with_sequential_steps(encrypted, engine_for, monkeypatch):
    if encrypted:
        monkeypatch.setenv("WFCTL_ENCRYPTION_KEY", KEY_A)
    small, large = _seq(engine_for, 10), _seq(engine_for, 40)
    d10, d40 = small.stats["decodes"], large.stats["decodes"]
    # one decode per completed step (+ a small constant), never one per step per replay
    assert 10 <= d10 <= 2 * 10 + 4, small.stats
    assert 40 <= d40 <= 2 * 40 + 4, large.stats
    assert d40 < 40 * 40 / 2 / 4, "decodes look quadratic"
    assert d40 <= 5 * d10, (d10, d40)


def test_replays_are_linear(engine_for):
    r10, r40 = _seq(engine_for, 10).stats["replays"], _seq(engine_for, 40).stats["replays"]
    assert r10 >= 10 and r40 >= 40
    assert r40 <= 2 * 40 + 3, r40
    assert (r40 - r10) <= 2 * 30 + 2, (r10, r40)


def test_about_one_replay_per_step(engine_for):
    """Reference §4: per step, one replay → suspension → step_created → run the step → loop.
    N sequential steps should cost ~N replays, not ~2N."""
    for n in (10, 40):
        replays = _seq(engine_for, n).stats["replays"]
        assert n <= replays <= n + 3, f"{n} sequential steps took {replays} replays"


def test_snapshot_runtime_decodes_each_payload_once(engine_for):
    res = _seq(engine_for, 40, runtime="snapshot")
    assert res.stats["decodes"] == 40, res.stats


def test_failed_steps_are_never_memoized(engine_for):
    engine = engine_for()
    res = engine.start("catchFail", [12, 3], runtime="replay")
    out = output_of(engine.world, res.run_id)
    assert out == {
        "v": 12,
        "caught": ["boom 0", "boom 3", "boom 6", "boom 9"],
    }  # the count is right
    log = engine.world.list_events(res.run_id).data
    kinds = Counter(e["eventType"] for e in log)
    assert kinds["step_failed"] == 4 and kinds["step_completed"] == 12
    # a step_failed is decoded again in every replay after it; completed results once
    assert res.stats["decodes"] >= kinds["step_completed"] + 2 * kinds["step_failed"], res.stats

    # the same property at the feed itself, exactly: a second pass decodes only the errors
    feed = EventFeed(None)
    first = feed.prepare_all(log)
    after_first = feed.decodes
    assert after_first == kinds["step_completed"] + kinds["step_failed"]
    second = feed.prepare_all(log)
    assert feed.decodes - after_first == kinds["step_failed"]
    assert first == second


def test_large_results_are_not_kept(engine_for):
    engine = engine_for()
    res = engine.start("bigResults", [6], runtime="replay")
    assert output_of(engine.world, res.run_id) == sum(len(f"{i}:") + 5000 for i in range(6))
    assert 5000 > MEMO_MAX_CHARS
    # each big result is decoded again by every later replay
    assert res.stats["decodes"] > 6 * 2, res.stats


@pytest.mark.parametrize("runtime", ["replay", "snapshot"])
def test_memoized_results_are_fresh_in_every_replay(runtime, engine_for):
    """A workflow that mutates a step's result must not see its own mutation in the next replay."""
    engine = engine_for()
    res = engine.start("mutate", [], runtime=runtime)
    assert output_of(engine.world, res.run_id) == {
        "o": {"n": 2, "list": [1, 2]},
        "p": 3,
        "q": {"n": 2, "list": [1, 2]},
    }
