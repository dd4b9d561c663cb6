"""Opening a database by URL, and turning driver errors into the store's own exceptions."""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    UniqueConstraint,
    any_,
    bindparam,
    create_engine,
    event,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement

from bot.store.errors import StoreError, StoreUnavailable

logger = logging.getLogger(__name__)

# Execution option that makes a SQLite transaction start with BEGIN IMMEDIATE: a writer takes
# the write lock up front instead of failing half-way when another writer got there first.
WRITE_OPTION = "digest_store_write"

_URL_HELP = "expected sqlite:///path/to/file.db or postgresql://user@host:5432/dbname"
_POSTGRES_DRIVERS = {"postgresql", "postgres", "postgresql+psycopg"}
_SQLITE_LOCKED = {"SQLITE_BUSY", "SQLITE_LOCKED"}
_SQLITE_CORRUPT = {"SQLITE_NOTADB", "SQLITE_CORRUPT"}

T = TypeVar("T")


@dataclass(frozen=True)
class Database:
    """An engine plus what is needed to describe its database in messages."""

    engine: Engine
    kind: str  # "sqlite" or "postgresql"
    description: str  # e.g. "SQLite database /srv/bot.db"; never holds a password
    busy_timeout: float
    # The URL's password, scrubbed from any driver message we repeat; never in repr().
    secret: str | None = field(default=None, repr=False)


def open_database(url: str, *, busy_timeout: float, connect_timeout: float) -> Database:
    parsed = _parse_url(url)
    if parsed.drivername == "sqlite":
        return _open_sqlite(parsed, busy_timeout)
    if parsed.drivername in _POSTGRES_DRIVERS:
        return _open_postgres(parsed, busy_timeout, connect_timeout)
    raise StoreError(f"unsupported database URL scheme {parsed.drivername!r}; {_URL_HELP}")


def _parse_url(url: str) -> URL:
    try:
        return make_url(url)
    except sa_exc.ArgumentError:
        # SQLAlchemy's message repeats the URL, password included.
        raise StoreError(f"cannot parse the database URL; {_URL_HELP}") from None


def _open_sqlite(url: URL, busy_timeout: float) -> Database:
    database = url.database or ":memory:"
    in_memory = database == ":memory:" or database.startswith("file::memory:")
    connect_args: dict[str, Any] = {"check_same_thread": False}
    if in_memory:
        description = "SQLite in-memory database"
        # One shared connection, or every pooled connection would see its own empty database.
        engine = create_engine(url, connect_args=connect_args, poolclass=StaticPool)
    else:
        path = Path(database).expanduser().resolve()
        description = f"SQLite database {path}"
        _make_parent_folder(path, description)
        engine = create_engine(url.set(database=str(path)), connect_args=connect_args)
    _configure_sqlite(engine, busy_timeout, wal=not in_memory)
    return Database(engine, "sqlite", description, busy_timeout)


def _make_parent_folder(path: Path, description: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreUnavailable(
            f"{description}: cannot create its folder {path.parent}: {exc.strerror}"
        ) from exc


def _configure_sqlite(engine: Engine, busy_timeout: float, *, wal: bool) -> None:
    busy_ms = max(0, int(busy_timeout * 1000))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # The driver must not open transactions on its own; `_on_begin` does it explicitly.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if wal:
                cursor.execute("PRAGMA journal_mode = WAL")
                # Safe with WAL: a process crash loses nothing; only power loss can undo the
                # last commits.
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def _open_postgres(url: URL, busy_timeout: float, connect_timeout: float) -> Database:
    url = url.set(drivername="postgresql+psycopg")
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    description = f"PostgreSQL database {url.database or '(default)'} on {where}"
    if url.username:
        description += f" as {url.username}"
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        # libpq takes whole seconds and treats 1 as 2.
        connect_args["connect_timeout"] = max(2, math.ceil(connect_timeout))
    if "application_name" not in url.query:
        connect_args["application_name"] = "digest-bot"
    engine = create_engine(
        url,
        connect_args=connect_args,
        pool_pre_ping=True,  # a connection the server dropped is replaced, not handed out
        pool_size=5,
        max_overflow=5,
        pool_timeout=max(busy_timeout, 1.0),
    )
    _configure_postgres(engine)
    return Database(engine, "postgresql", description, busy_timeout, secret=url.password)


def _configure_postgres(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: psycopg.Connection[Any], _record: object) -> None:
        # Timestamps then arrive with tzinfo=UTC already and need no conversion per row.
        dbapi_connection.execute("SET TIME ZONE 'UTC'")
        dbapi_connection.commit()


def translate_error(exc: BaseException, database: Database) -> StoreError:
    """The store exception to raise for a SQLAlchemy or driver error, with a clear message."""
    original: BaseException = exc
    if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
        original = exc.orig
    detail = _scrub(_first_line(original), database.secret)
    if isinstance(original, sqlite3.Error):
        return _translate_sqlite(original, detail, database)
    if isinstance(original, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure):
        # A deadlock or serialization failure: transient like an outage, but not one.
        return StoreUnavailable(
            f"{database.description} broke off a transaction that conflicted with another "
            f"(retried later): {detail}"
        )
    if _is_unavailable(exc, original):
        return StoreUnavailable(f"{database.description} is unreachable or went away: {detail}")
    return StoreError(f"{database.description} refused the operation: {detail}")


def _translate_sqlite(original: sqlite3.Error, detail: str, database: Database) -> StoreError:
    name = getattr(original, "sqlite_errorname", "") or ""
    base_name = "_".join(name.split("_")[:2])  # SQLITE_BUSY_SNAPSHOT -> SQLITE_BUSY
    if base_name in _SQLITE_LOCKED or "locked" in detail:
        return StoreUnavailable(
            f"{database.description} is locked by another connection or process "
            f"(waited {database.busy_timeout:g} s): {detail}"
        )
    if base_name in _SQLITE_CORRUPT or "not a database" in detail or "malformed" in detail:
        return StoreUnavailable(
            f"{database.description} is corrupt or not an SQLite database ({detail}); "
            "the file was left untouched: restore it from a backup or use another file"
        )
    if isinstance(original, sqlite3.OperationalError):
        return StoreUnavailable(f"{database.description} cannot be used: {detail}")
    return StoreError(f"{database.description} refused the operation: {detail}")


def _is_unavailable(exc: BaseException, original: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    unavailable = (
        sa_exc.OperationalError,
        sa_exc.InterfaceError,
        sa_exc.TimeoutError,
        sa_exc.DisconnectionError,
        psycopg.OperationalError,
        psycopg.InterfaceError,
    )
    return isinstance(exc, unavailable) or isinstance(original, unavailable)


def violated_constraint(exc: sa_exc.IntegrityError, metadata: MetaData) -> str | None:
    """The name of the constraint an INSERT or UPDATE broke, the same on both engines."""
    original = exc.orig
    if isinstance(original, psycopg.Error):
        return original.diag.constraint_name
    message = str(original)
    if "FOREIGN KEY constraint failed" in message:
        return "foreign key"
    # SQLite names the columns, not the constraint: "UNIQUE constraint failed: t.a, t.b".
    prefix, _, columns = message.partition(" constraint failed: ")
    if prefix not in ("UNIQUE", "PRIMARY KEY") or not columns:
        return None
    qualified = [column.strip().split(".", 1) for column in columns.split(",")]
    table = metadata.tables.get(qualified[0][0])
    names = {parts[-1] for parts in qualified}
    for constraint in table.constraints if table is not None else ():
        if isinstance(constraint, PrimaryKeyConstraint | UniqueConstraint) and (
            {column.name for column in constraint.columns} == names
        ):
            return str(constraint.name) if constraint.name else None
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def database_errors() -> tuple[type[BaseException], ...]:
    """Errors from SQLAlchemy and the drivers (connect hooks can raise the driver's own)."""
    return (sa_exc.SQLAlchemyError, sqlite3.Error, psycopg.Error)


def insert_ignore(conn: Connection, table: Table, keys: Sequence[str]) -> Insert:
    """INSERT ... ON CONFLICT (keys) DO NOTHING for the connection's dialect.

    Add RETURNING to learn whether a row went in: drivers need not report an INSERT's rowcount
    (psycopg through SQLAlchemy gives -1).
    """
    if conn.dialect.name == "postgresql":
        return pg_insert(table).on_conflict_do_nothing(index_elements=list(keys))
    return sqlite_insert(table).on_conflict_do_nothing(index_elements=list(keys))


def one_of(
    conn: Connection, column: ColumnElement[Any], values: Sequence[Any]
) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `column = ANY(array)`: one parameter however long the
    list, so the statement is compiled once and the driver does not parse hundreds of
    placeholders per call (a round asks this for every batch of 500 chats)."""
    if conn.dialect.name == "postgresql":
        array = bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column == any_(array)
    return column.in_(values)


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Slices of at most `size` items, to keep IN lists under the drivers' parameter limits."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
