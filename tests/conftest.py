"""Shared pytest fixtures."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio
from psycopg import sql
from sqlalchemy.engine import make_url

from bot.store import AsyncStore, Store

# ---------------------------------------------------------------------------------------------
# Database fixtures (owned by the store; bot/store/).
#
# `store_url` runs a test once per engine: SQLite in a file under tmp_path, and PostgreSQL
# when TEST_DATABASE_URL names a server. Each PostgreSQL test gets a fresh schema (dropped
# afterwards), selected through the connection's search_path, so runs never touch other data.
# ---------------------------------------------------------------------------------------------

PG_SKIP_REASON = (
    "set TEST_DATABASE_URL=postgresql://user@host/db to run the PostgreSQL store tests"
)


def postgres_test_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def libpq_url(url: str) -> str:
    """The URL psycopg.connect accepts (no SQLAlchemy driver suffix)."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A fresh schema `test_<random>` on the server; yields a URL whose connections use it."""
    schema = f"test_{secrets.token_hex(6)}"
    with psycopg.connect(libpq_url(base_url), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq_url(base_url), autocommit=True) as admin:
            admin.execute("SET lock_timeout = '10s'")
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    base_url = postgres_test_url()
    if base_url is None:
        pytest.skip(PG_SKIP_REASON)
    with postgres_schema(base_url) as url:
        yield url


@pytest.fixture
def postgres_base_url() -> str:
    """TEST_DATABASE_URL, for PostgreSQL-only tests (skipped when it is unset)."""
    base_url = postgres_test_url()
    if base_url is None:
        pytest.skip(PG_SKIP_REASON)
    return base_url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated store on each engine."""
    opened = Store.from_url(store_url)
    opened.migrate()
    try:
        yield opened
    finally:
        opened.close()


@pytest_asyncio.fixture
async def async_store(store: Store) -> AsyncIterator[AsyncStore]:
    wrapped = AsyncStore(store)
    try:
        yield wrapped
    finally:
        await wrapped.close()


# ---------------------------------------------------------------------------------------------
# End of database fixtures.
# ---------------------------------------------------------------------------------------------
