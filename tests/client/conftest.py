"""Fixtures of the Client tests: a Client on a fresh data directory, closed afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wfctl import Client

APP = Path(__file__).resolve().parents[1] / "apps" / "t_client"


@pytest.fixture
def make_client(data_dir: Path) -> Iterator[Callable[..., Client]]:
    made: list[Client] = []

    def factory(**kw) -> Client:
        c = Client(APP, data_dir, **kw)
        made.append(c)
        return c

    yield factory
    for c in made:
        c.close()


@pytest.fixture
def client(make_client) -> Client:
    return make_client()
