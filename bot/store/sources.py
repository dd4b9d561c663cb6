"""Per-source fetch bookkeeping (errors, backoff, HTTP validators) and the store's counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select, update

from bot.store.chats import count_chats
from bot.store.engine import insert_ignore
from bot.store.outbox import count_by_status
from bot.store.schema import articles, deliveries, sources, subscriptions
from bot.store.values import SourceState, StoreStats


def _state_from_row(row: Row[Any]) -> SourceState:
    return SourceState(
        name=row.name,
        last_fetch_at=row.last_fetch_at,
        last_success_at=row.last_success_at,
        last_error=row.last_error,
        consecutive_failures=row.consecutive_failures,
        etag=row.etag,
        last_modified=row.last_modified,
        next_attempt_at=row.next_attempt_at,
    )


def record_fetch(
    conn: Connection,
    name: str,
    *,
    at: datetime,
    ok: bool,
    error: str | None,
    etag: str | None,
    last_modified: str | None,
    next_attempt_at: datetime | None,
) -> None:
    """A success resets the failure count; a failure counts up and keeps the old validators.

    On success a validator given as None keeps the stored one, so that a 304 answer (which
    may repeat no validators) does not lose them.
    """
    conn.execute(insert_ignore(conn, sources, ["name"]).values(name=name, consecutive_failures=0))
    values: dict[str, Any] = {
        "last_fetch_at": at,
        "last_error": error,
        "next_attempt_at": next_attempt_at,
    }
    if ok:
        values |= {
            "last_success_at": at,
            "consecutive_failures": 0,
            "etag": etag if etag is not None else sources.c.etag,
            "last_modified": last_modified
            if last_modified is not None
            else sources.c.last_modified,
        }
    else:
        values["consecutive_failures"] = sources.c.consecutive_failures + 1
    conn.execute(update(sources).where(sources.c.name == name).values(**values))


def source_states(conn: Connection) -> list[SourceState]:
    return [_state_from_row(row) for row in conn.execute(select(sources).order_by(sources.c.name))]


def get_source_state(conn: Connection, name: str) -> SourceState | None:
    row = conn.execute(select(sources).where(sources.c.name == name)).one_or_none()
    return None if row is None else _state_from_row(row)


def _count(conn: Connection, table: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def stats(conn: Connection) -> StoreStats:
    chats_total, chats_active = count_chats(conn)
    by_status = count_by_status(conn)
    return StoreStats(
        chats_total=chats_total,
        chats_active=chats_active,
        subscriptions=_count(conn, subscriptions),
        articles=_count(conn, articles),
        deliveries=_count(conn, deliveries),
        outbox_pending=by_status.get("pending", 0),
        outbox_sent=by_status.get("sent", 0),
        outbox_failed=by_status.get("failed", 0),
    )
