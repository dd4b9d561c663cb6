"""Apply the numbered migrations that a database lacks, and record each one."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import Connection, func, insert, inspect, select, text

from bot.store.errors import StoreError
from bot.store.schema import MIGRATIONS, schema_migrations

logger = logging.getLogger(__name__)

# Any fixed number: PostgreSQL serialises concurrent migrate() calls on this advisory lock.
_ADVISORY_LOCK_KEY = 0x64696765


def schema_version(conn: Connection) -> int:
    if not inspect(conn).has_table(schema_migrations.name):
        return 0
    version = conn.execute(select(func.max(schema_migrations.c.version))).scalar_one()
    return int(version or 0)


def apply_migrations(conn: Connection, description: str) -> list[int]:
    """Apply missing migrations in order inside the caller's transaction; return their numbers."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
    schema_migrations.create(conn, checkfirst=True)
    applied = set(conn.scalars(select(schema_migrations.c.version)))
    newest_known = max(migration.version for migration in MIGRATIONS)
    if applied and max(applied) > newest_known:
        raise StoreError(
            f"{description} has schema version {max(applied)}, newer than this program "
            f"knows ({newest_known}); run a newer version of the bot"
        )
    done: list[int] = []
    for migration in MIGRATIONS:
        if migration.version in applied:
            continue
        migration.apply(conn)
        conn.execute(
            insert(schema_migrations).values(
                version=migration.version, name=migration.name, applied_at=datetime.now(UTC)
            )
        )
        logger.info(
            "%s: applied migration %d (%s)", description, migration.version, migration.name
        )
        done.append(migration.version)
    return done
