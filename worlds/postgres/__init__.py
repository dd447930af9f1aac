"""The PostgreSQL world (psycopg 3): ``open_world("postgresql://...")``."""

from __future__ import annotations

from .store import PostgresWorld

__all__ = ["PostgresWorld"]
