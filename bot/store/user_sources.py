"""Sources that chats add themselves: one row per URL, followed by any number of chats.

Each method is one transaction on the shared `Store`. Caps are checked inside the transaction
that inserts (the count and the insert see the same rows; PostgreSQL serialises concurrent
follows of one chat on the chat's row lock), so racing commands cannot exceed them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, literal, select, update

from bot.store.async_store import AsyncStore
from bot.store.engine import insert_ignore
from bot.store.schema import (
    UtcDateTime,
    chat_sources,
    chats,
    source_add_attempts,
    user_sources,
)
from bot.store.sync_store import Store

SEEN_LINKS_KEPT = 300


@dataclass(frozen=True, slots=True)
class UserSource:
    id: int
    url: str
    kind: str
    title: str
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    failing_since: datetime | None
    etag: str | None
    last_modified: str | None
    next_fetch_at: datetime
    paused: bool
    seen_links: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Follow:
    """A chat's follow of a source, with the keywords it is filtered by ("" for all)."""

    chat_id: int
    source: UserSource
    keywords: str


@dataclass(frozen=True, slots=True)
class FollowResult:
    source: UserSource
    added: bool  # False: the chat already followed it (keywords updated)
    previous_keywords: str = ""  # the keywords it was followed with until now


class SourceLimitReached(Exception):
    """The chat follows as many sources as it may."""


def _source(row: Row[Any]) -> UserSource:
    return UserSource(
        id=row.id,
        url=row.url,
        kind=row.kind,
        title=row.title,
        last_fetch_at=row.last_fetch_at,
        last_success_at=row.last_success_at,
        last_error=row.last_error,
        failing_since=row.failing_since,
        etag=row.etag,
        last_modified=row.last_modified,
        next_fetch_at=row.next_fetch_at,
        paused=row.paused,
        seen_links=row.seen_links,
    )


class UserSourceStore:
    """Queries for user sources, run on the bot's `Store` (same engine, same transactions)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def follow(
        self,
        chat_id: int,
        *,
        url: str,
        kind: str,
        title: str,
        keywords: str,
        added_by: int | None,
        max_per_chat: int,
        now: datetime,
    ) -> FollowResult:
        """Create the source if new, and make the chat follow it, within the chat's cap."""
        with self._store.transaction(write=True) as conn:
            _lock_chat(conn, chat_id)
            source = _get_or_create(conn, url, kind, title, now)
            existing = conn.execute(
                select(chat_sources.c.keywords).where(
                    chat_sources.c.chat_id == chat_id, chat_sources.c.source_id == source.id
                )
            ).first()
            if existing is not None:
                conn.execute(
                    update(chat_sources)
                    .where(
                        chat_sources.c.chat_id == chat_id, chat_sources.c.source_id == source.id
                    )
                    .values(keywords=keywords)
                )
                return FollowResult(source, added=False, previous_keywords=existing.keywords)
            if _count_follows(conn, chat_id) >= max_per_chat:
                raise SourceLimitReached(max_per_chat)
            conn.execute(
                insert(chat_sources).values(
                    chat_id=chat_id,
                    source_id=source.id,
                    keywords=keywords,
                    added_by=added_by,
                    created_at=now,
                )
            )
            return FollowResult(source, added=True)

    def unfollow(self, chat_id: int, source_id: int) -> UserSource | None:
        """Stop following; a source nobody follows any more is deleted with its state."""
        with self._store.transaction(write=True) as conn:
            row = conn.execute(select(user_sources).where(user_sources.c.id == source_id)).first()
            removed = conn.execute(
                delete(chat_sources).where(
                    chat_sources.c.chat_id == chat_id, chat_sources.c.source_id == source_id
                )
            ).rowcount
            if row is None or not removed:
                return None
            _delete_if_unfollowed(conn, source_id)
            return _source(row)

    def follows_of_chat(self, chat_id: int) -> list[Follow]:
        with self._store.transaction(write=False) as conn:
            rows = conn.execute(
                select(user_sources, chat_sources.c.keywords, chat_sources.c.chat_id)
                .join(chat_sources, chat_sources.c.source_id == user_sources.c.id)
                .where(chat_sources.c.chat_id == chat_id)
                .order_by(chat_sources.c.created_at, user_sources.c.id)
            )
            return [Follow(row.chat_id, _source(row), row.keywords) for row in rows]

    def follows_of_chats(self, chat_ids: Sequence[int]) -> dict[int, list[Follow]]:
        """Every requested chat id maps to its follows (empty list if none)."""
        found: dict[int, list[Follow]] = {chat_id: [] for chat_id in chat_ids}
        if not chat_ids:
            return found
        with self._store.transaction(write=False) as conn:
            rows = conn.execute(
                select(user_sources, chat_sources.c.keywords, chat_sources.c.chat_id)
                .join(chat_sources, chat_sources.c.source_id == user_sources.c.id)
                .where(chat_sources.c.chat_id.in_(list(chat_ids)))
            )
            for row in rows:
                found[row.chat_id].append(Follow(row.chat_id, _source(row), row.keywords))
        return found

    def follower_ids(self, source_id: int) -> list[int]:
        with self._store.transaction(write=False) as conn:
            return list(
                conn.scalars(
                    select(chat_sources.c.chat_id)
                    .join(chats, chats.c.chat_id == chat_sources.c.chat_id)
                    .where(chat_sources.c.source_id == source_id, chats.c.active.is_(True))
                )
            )

    def due_sources(self, now: datetime, limit: int) -> list[UserSource]:
        """Sources whose next fetch is due, most overdue first; paused ones never."""
        with self._store.transaction(write=False) as conn:
            rows = conn.execute(
                select(user_sources)
                .where(user_sources.c.next_fetch_at <= now, user_sources.c.paused.is_(False))
                .order_by(user_sources.c.next_fetch_at, user_sources.c.id)
                .limit(limit)
            )
            return [_source(row) for row in rows]

    def get(self, source_id: int) -> UserSource | None:
        with self._store.transaction(write=False) as conn:
            row = conn.execute(select(user_sources).where(user_sources.c.id == source_id)).first()
            return None if row is None else _source(row)

    def by_url(self, url: str) -> UserSource | None:
        with self._store.transaction(write=False) as conn:
            row = conn.execute(select(user_sources).where(user_sources.c.url == url)).first()
            return None if row is None else _source(row)

    def record_success(
        self,
        source_id: int,
        *,
        at: datetime,
        next_fetch_at: datetime,
        title: str | None,
        etag: str | None,
        last_modified: str | None,
        seen_links: Sequence[str] = (),
    ) -> None:
        values: dict[str, Any] = {
            "last_fetch_at": at,
            "last_success_at": at,
            "last_error": None,
            "failing_since": None,
            "next_fetch_at": next_fetch_at,
        }
        if title:
            values["title"] = title
        if etag is not None:
            values["etag"] = etag
        if last_modified is not None:
            values["last_modified"] = last_modified
        with self._store.transaction(write=True) as conn:
            if seen_links:
                row = conn.execute(
                    select(user_sources.c.seen_links).where(user_sources.c.id == source_id)
                ).first()
                old = row.seen_links if row is not None else ()
                merged = list(dict.fromkeys([*seen_links, *old]))[:SEEN_LINKS_KEPT]
                values["seen_links"] = tuple(merged)
            conn.execute(update(user_sources).where(user_sources.c.id == source_id).values(values))

    def record_failure(
        self, source_id: int, *, at: datetime, error: str, next_fetch_at: datetime
    ) -> UserSource | None:
        """Record a failed fetch; returns the source as it now is (None if it was removed)."""
        with self._store.transaction(write=True) as conn:
            conn.execute(
                update(user_sources)
                .where(user_sources.c.id == source_id)
                .values(
                    last_fetch_at=at,
                    last_error=error,
                    next_fetch_at=next_fetch_at,
                    failing_since=func.coalesce(
                        user_sources.c.failing_since, literal(at, type_=UtcDateTime())
                    ),
                )
            )
            row = conn.execute(select(user_sources).where(user_sources.c.id == source_id)).first()
            return None if row is None else _source(row)

    def pause(self, source_id: int) -> bool:
        """Pause a source that keeps failing; True only for the call that paused it."""
        with self._store.transaction(write=True) as conn:
            return bool(
                conn.execute(
                    update(user_sources)
                    .where(user_sources.c.id == source_id, user_sources.c.paused.is_(False))
                    .values(paused=True)
                ).rowcount
            )

    def resume(self, source_id: int, now: datetime) -> None:
        with self._store.transaction(write=True) as conn:
            conn.execute(
                update(user_sources)
                .where(user_sources.c.id == source_id)
                .values(paused=False, failing_since=None, next_fetch_at=now)
            )

    def record_add_attempt(self, user_id: int, now: datetime, *, per_hour: int) -> bool:
        """Count an /add by this user; False (and nothing recorded) when over the hourly cap."""
        hour_ago = now - timedelta(hours=1)
        with self._store.transaction(write=True) as conn:
            conn.execute(delete(source_add_attempts).where(source_add_attempts.c.at < hour_ago))
            recent = conn.execute(
                select(func.count())
                .select_from(source_add_attempts)
                .where(source_add_attempts.c.user_id == user_id)
            ).scalar_one()
            if recent >= per_hour:
                return False
            conn.execute(insert(source_add_attempts).values(user_id=user_id, at=now))
            return True

    def counts(self) -> tuple[int, int, list[UserSource]]:
        """Sources, follows, and the sources whose last fetch failed."""
        with self._store.transaction(write=False) as conn:
            sources = conn.execute(select(func.count()).select_from(user_sources)).scalar_one()
            follows = conn.execute(select(func.count()).select_from(chat_sources)).scalar_one()
            failing = conn.execute(
                select(user_sources)
                .where(user_sources.c.failing_since.is_not(None))
                .order_by(user_sources.c.failing_since)
                .limit(20)
            )
            return int(sources), int(follows), [_source(row) for row in failing]


def _lock_chat(conn: Connection, chat_id: int) -> None:
    """Serialise one chat's follows (PostgreSQL row lock; SQLite has one writer anyway)."""
    statement = select(chats.c.chat_id).where(chats.c.chat_id == chat_id)
    if conn.dialect.name == "postgresql":
        statement = statement.with_for_update()
    conn.execute(statement)


def _get_or_create(conn: Connection, url: str, kind: str, title: str, now: datetime) -> UserSource:
    conn.execute(
        insert_ignore(conn, user_sources, ["url"]).values(
            url=url,
            kind=kind,
            title=title,
            created_at=now,
            next_fetch_at=now,
            paused=False,
            seen_links=(),
        )
    )
    row = conn.execute(select(user_sources).where(user_sources.c.url == url)).one()
    return _source(row)


def _count_follows(conn: Connection, chat_id: int) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(chat_sources).where(chat_sources.c.chat_id == chat_id)
        ).scalar_one()
    )


def _delete_if_unfollowed(conn: Connection, source_id: int) -> None:
    followed = conn.execute(
        select(chat_sources.c.chat_id).where(chat_sources.c.source_id == source_id).limit(1)
    ).first()
    if followed is None:
        conn.execute(delete(user_sources).where(user_sources.c.id == source_id))


class AsyncUserSourceStore:
    """The same queries, awaitable, on the `AsyncStore`'s worker threads."""

    def __init__(self, store: AsyncStore) -> None:
        self._async = store
        self.sync = UserSourceStore(store.store)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.sync, name)

        async def run(*args: Any, **kwargs: Any) -> Any:
            return await self._async.run(method, *args, **kwargs)

        return run
