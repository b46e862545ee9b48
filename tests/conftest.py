"""Shared fixtures: a PostgreSQL server for the whole run, started only if a test asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgres import Server, postgres


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    with postgres() as server:
        yield server


@pytest.fixture
def pg_url(pg_server: Server) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return pg_server.new_database()
