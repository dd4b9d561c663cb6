"""Queries about chats and their subscriptions, run inside the caller's transaction."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    update,
)

from bot.store.engine import chunked, insert_ignore, one_of
from bot.store.errors import SubscriptionLimitReached, UnknownChat
from bot.store.schema import (
    CHAT_SCHEDULED,
    OUTBOX_PENDING,
    UtcDateTime,
    chat_digests,
    chat_sources,
    chats,
    deliveries,
    outbox,
    saved_searches,
    subscriptions,
    user_sources,
)
from bot.store.values import (
    SOURCE_KIND,
    SUBSCRIPTION_KINDS,
    ChatDefaults,
    ChatSettings,
    Subscription,
)

logger = logging.getLogger(__name__)

_IN_CHUNK = 500
# Columns that travel with the chat when a group becomes a supergroup.
_SETTINGS_COLUMNS = (
    "title",
    "timezone",
    "digest_time",
    "frequency",
    "weekday",
    "bullets",
    "link_preview",
    "paused",
    "next_digest_at",
    "last_digest_at",
    "created_at",
    "language",
)


# In the order of ChatSettings' fields, so that a row unpacks straight into one.
CHAT_COLUMNS = (
    chats.c.chat_id,
    chats.c.chat_type,
    chats.c.title,
    chats.c.timezone,
    chats.c.digest_time,
    chats.c.frequency,
    chats.c.weekday,
    chats.c.bullets,
    chats.c.link_preview,
    chats.c.paused,
    chats.c.active,
    chats.c.next_digest_at,
    chats.c.last_digest_at,
    chats.c.created_at,
    chats.c.language,
)


def _select_chats() -> Select[Any]:
    return select(*CHAT_COLUMNS)


def get_chat(conn: Connection, chat_id: int) -> ChatSettings | None:
    row = conn.execute(_select_chats().where(chats.c.chat_id == chat_id)).one_or_none()
    return None if row is None else ChatSettings(*row)


def require_chat(conn: Connection, chat_id: int) -> ChatSettings:
    chat = get_chat(conn, chat_id)
    if chat is None:
        raise UnknownChat(chat_id)
    return chat


def lock_chat(conn: Connection, chat_id: int) -> ChatSettings:
    """The chat's row, locked until the transaction ends (PostgreSQL; SQLite's write
    transactions are exclusive already), so check-then-write sequences cannot interleave."""
    query = _select_chats().where(chats.c.chat_id == chat_id).with_for_update()
    row = conn.execute(query).one_or_none()
    if row is None:
        raise UnknownChat(chat_id)
    return ChatSettings(*row)


def ensure_chat(
    conn: Connection,
    chat_id: int,
    chat_type: str,
    title: str,
    defaults: ChatDefaults,
    next_digest_at: datetime | None,
    now: datetime,
) -> ChatSettings:
    inserted = conn.execute(
        insert_ignore(conn, chats, ["chat_id"])
        .values(
            chat_id=chat_id,
            chat_type=chat_type,
            title=title,
            timezone=defaults.timezone,
            digest_time=defaults.digest_time,
            frequency=defaults.frequency,
            weekday=defaults.weekday,
            bullets=defaults.bullets,
            link_preview=defaults.link_preview,
            paused=False,
            active=True,
            next_digest_at=next_digest_at,
            created_at=now,
            updated_at=now,
        )
        .returning(chats.c.chat_id)
    ).first()
    if inserted is None:
        # Known chat: keep its settings; refresh what Telegram tells us and reactivate it.
        # A scheduled chat without a due time gets one; a chat whose digests are off has none
        # (which also clears one stored by mistake).
        # The value is bound as a UtcDateTime: inside COALESCE it would otherwise be stored
        # without its timezone on SQLite.
        due = bindparam("due", next_digest_at, type_=UtcDateTime())
        conn.execute(
            update(chats)
            .where(chats.c.chat_id == chat_id)
            .values(
                chat_type=chat_type,
                title=title,
                active=True,
                deactivated_reason=None,
                next_digest_at=case(
                    (chats.c.frequency == literal_column("'off'"), null()),
                    else_=func.coalesce(chats.c.next_digest_at, due),
                ),
                updated_at=now,
            )
        )
    else:
        logger.info("new %s chat %d", chat_type, chat_id)
    return require_chat(conn, chat_id)


def update_chat(
    conn: Connection, chat_id: int, changes: Mapping[str, Any], now: datetime
) -> ChatSettings:
    result = conn.execute(
        update(chats).where(chats.c.chat_id == chat_id).values(**changes, updated_at=now)
    )
    if result.rowcount == 0:
        raise UnknownChat(chat_id)
    return require_chat(conn, chat_id)


def update_settings(
    conn: Connection,
    chat_id: int,
    changes: Mapping[str, Any],
    reschedule: Callable[[ChatSettings], datetime | None] | None,
    now: datetime,
) -> ChatSettings:
    """Apply `changes` to the chat as it is *now* (row locked), and move its next digest time
    by `reschedule(changed chat)` in the same transaction: settings and due time never part."""
    current = lock_chat(conn, chat_id)
    values = dict(changes)
    if reschedule is not None:
        values["next_digest_at"] = reschedule(dataclasses.replace(current, **changes))
    if not values:
        return current
    return update_chat(conn, chat_id, values, now)


def deactivate_chat(conn: Connection, chat_id: int, reason: str, now: datetime) -> None:
    found = conn.execute(
        update(chats)
        .where(chats.c.chat_id == chat_id)
        .values(active=False, deactivated_reason=reason, updated_at=now)
    ).rowcount
    if not found:
        logger.info("chat %d to deactivate (%s) is not stored", chat_id, reason)
        return
    failed = conn.execute(
        update(outbox)
        .where(outbox.c.chat_id == chat_id, OUTBOX_PENDING)
        .values(status="failed", last_error=reason)
    ).rowcount
    logger.info("chat %d deactivated (%s); %d pending messages failed", chat_id, reason, failed)


def migrate_chat(conn: Connection, old_id: int, new_id: int, now: datetime) -> None:
    old = conn.execute(select(chats).where(chats.c.chat_id == old_id)).one_or_none()
    if old is None:
        logger.info("chat %d migrated to %d but was not stored; nothing to move", old_id, new_id)
        return
    settings = {name: getattr(old, name) for name in _SETTINGS_COLUMNS}
    moved = {**settings, "chat_type": "supergroup", "active": old.active, "updated_at": now}
    if conn.execute(update(chats).where(chats.c.chat_id == new_id).values(**moved)).rowcount == 0:
        conn.execute(insert(chats).values(chat_id=new_id, **moved))
    _move_rows_ignoring_duplicates(
        conn, subscriptions, old_id, new_id, ["chat_id", "kind", "value"]
    )
    conn.execute(
        update(chat_digests).where(chat_digests.c.chat_id == old_id).values(chat_id=new_id)
    )
    _move_rows_ignoring_duplicates(conn, deliveries, old_id, new_id, ["chat_id", "article_id"])
    _move_rows_ignoring_duplicates(conn, chat_sources, old_id, new_id, ["chat_id", "source_id"])
    conn.execute(update(outbox).where(outbox.c.chat_id == old_id).values(chat_id=new_id))
    conn.execute(delete(chats).where(chats.c.chat_id == old_id))
    logger.info("chat %d migrated to supergroup %d", old_id, new_id)


def _move_rows_ignoring_duplicates(
    conn: Connection, table: Any, old_id: int, new_id: int, keys: list[str]
) -> None:
    """Copy a chat's rows to the new id unless the new id has them already; drop the old ones."""
    columns = [column.name for column in table.columns]
    source = select(
        *[literal(new_id).label(name) if name == "chat_id" else table.c[name] for name in columns]
    ).where(table.c.chat_id == old_id)
    conn.execute(insert_ignore(conn, table, keys).from_select(columns, source))
    conn.execute(delete(table).where(table.c.chat_id == old_id))


def delete_chat(conn: Connection, chat_id: int) -> None:
    # Children first: SQLite checks foreign keys row by row.
    for table in (saved_searches, outbox, deliveries, chat_digests, subscriptions, chats):
        conn.execute(delete(table).where(table.c.chat_id == chat_id))
    logger.info("chat %d and everything about it deleted", chat_id)


def due_chats(conn: Connection, now: datetime, limit: int | None) -> list[ChatSettings]:
    has_subscription = or_(
        select(literal(1)).where(subscriptions.c.chat_id == chats.c.chat_id).exists(),
        select(literal(1)).where(chat_sources.c.chat_id == chats.c.chat_id).exists(),
    )
    query = (
        _select_chats()
        .where(CHAT_SCHEDULED, chats.c.next_digest_at <= now, has_subscription)
        .order_by(chats.c.next_digest_at, chats.c.chat_id)
        .limit(limit)
    )
    return [ChatSettings(*row) for row in conn.execute(query).all()]


def list_chats(conn: Connection, active_only: bool) -> list[ChatSettings]:
    query = _select_chats().order_by(chats.c.chat_id)
    if active_only:
        query = query.where(chats.c.active.is_(True))
    return [ChatSettings(*row) for row in conn.execute(query).all()]


def add_subscription(
    conn: Connection, chat_id: int, sub: Subscription, now: datetime, limit: int | None = None
) -> bool:
    """True if added, False if the chat has it already; over `limit` subscriptions raises
    `SubscriptionLimitReached`. Counted under the chat's row lock, so racing adds cannot pass
    the cap together."""
    if sub.kind == SOURCE_KIND:
        raise ValueError("sources are followed with UserSourceStore.follow, not as subscriptions")
    lock_chat(conn, chat_id)
    if limit is not None:
        held = select(subscriptions.c.kind, subscriptions.c.value).where(
            subscriptions.c.chat_id == chat_id
        )
        existing = {(row.kind, row.value) for row in conn.execute(held)}
        if (sub.kind, sub.value) in existing:
            return False
        if len(existing) >= limit:
            raise SubscriptionLimitReached(chat_id, limit)
    statement = (
        insert_ignore(conn, subscriptions, ["chat_id", "kind", "value"])
        .values(chat_id=chat_id, kind=sub.kind, value=sub.value, created_at=now)
        .returning(subscriptions.c.chat_id)
    )
    return conn.execute(statement).first() is not None


def remove_subscription(conn: Connection, chat_id: int, sub: Subscription) -> bool:
    if sub.kind == SOURCE_KIND:
        url = source_subscription_url(sub.value)
        followed = select(user_sources.c.id).where(user_sources.c.url == url).scalar_subquery()
        gone = delete(chat_sources).where(
            chat_sources.c.chat_id == chat_id, chat_sources.c.source_id == followed
        )
        return conn.execute(gone).rowcount == 1
    statement = delete(subscriptions).where(
        subscriptions.c.chat_id == chat_id,
        subscriptions.c.kind == sub.kind,
        subscriptions.c.value == sub.value,
    )
    return conn.execute(statement).rowcount == 1


def clear_subscriptions(conn: Connection, chat_id: int) -> dict[str, int]:
    """Removes every subscription and followed source of the chat: how many of each kind."""
    counts = {kind: 0 for kind in SUBSCRIPTION_KINDS}
    kinds = select(subscriptions.c.kind, func.count()).where(subscriptions.c.chat_id == chat_id)
    for kind, count in conn.execute(kinds.group_by(subscriptions.c.kind)):
        counts[kind] = int(count)
    sources = conn.execute(delete(chat_sources).where(chat_sources.c.chat_id == chat_id)).rowcount
    conn.execute(delete(subscriptions).where(subscriptions.c.chat_id == chat_id))
    counts[SOURCE_KIND] += int(sources)
    return counts


def subscriptions_for(conn: Connection, chat_ids: Sequence[int]) -> dict[int, list[Subscription]]:
    """Every requested chat id maps to its subscriptions, oldest first (empty list if none)."""
    found: dict[int, list[Subscription]] = {chat_id: [] for chat_id in chat_ids}
    for chunk in chunked(list(found), _IN_CHUNK):
        query = (
            select(subscriptions.c.chat_id, subscriptions.c.kind, subscriptions.c.value)
            .where(one_of(conn, subscriptions.c.chat_id, chunk))
            .order_by(
                subscriptions.c.chat_id,
                subscriptions.c.created_at,
                subscriptions.c.kind,
                subscriptions.c.value,
            )
        )
        for chat_id, kind, value in conn.execute(query).all():
            found[chat_id].append(Subscription(kind, value))
        followed = (
            select(
                chat_sources.c.chat_id,
                user_sources.c.url,
                user_sources.c.title,
                chat_sources.c.keywords,
            )
            .join(user_sources, user_sources.c.id == chat_sources.c.source_id)
            .where(one_of(conn, chat_sources.c.chat_id, chunk))
            .order_by(chat_sources.c.chat_id, chat_sources.c.created_at, user_sources.c.id)
        )
        for source in conn.execute(followed):
            value = source_subscription_value(source.url, source.keywords)
            found[source.chat_id].append(Subscription(SOURCE_KIND, value, title=source.title))
    return found


def source_subscription_value(url: str, keywords: str) -> str:
    """A followed source as a subscription value: its URL, then its keywords if any."""
    return f"{url} {keywords}".strip()


def source_subscription_url(value: str) -> str:
    return value.split(" ", 1)[0]


def count_chats(conn: Connection) -> tuple[int, int]:
    """(all chats, active chats)."""
    active = func.count().filter(chats.c.active.is_(True))
    total, active_total = conn.execute(select(func.count(), active).select_from(chats)).one()
    return int(total), int(active_total)
