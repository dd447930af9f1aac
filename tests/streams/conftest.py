"""Fixtures shared with tests/{streams,children}: see tests/flows_support.py."""

from flows_support import _clean_env, engine  # noqa: F401 - fixtures, registered by import
