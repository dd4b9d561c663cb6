"""Deliveries and the outbox: what each chat was given, and the messages still to send.

The delivery invariant (a chat gets an article at most once) is the primary key of
`deliveries`; `enqueue_digest` writes the deliveries, the message parts and the chat's next
schedule in one transaction, so a crash leaves either all of them or none.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    and_,
    bindparam,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql

from bot.store.engine import chunked, one_of
from bot.store.schema import (
    OUTBOX_PENDING,
    UtcDateTime,
    articles,
    chat_digests,
    chats,
    deliveries,
    outbox,
)
from bot.store.values import OutboxMessage, QueuedDigest

logger = logging.getLogger(__name__)

_IN_CHUNK = 500
# How many pages of candidate chats a PostgreSQL claim looks at (see claim_messages).
_CLAIM_LOOKAHEAD = 4


def delivered_article_ids(
    conn: Connection, chat_ids: Sequence[int], article_ids: Sequence[str]
) -> dict[int, set[str]]:
    """For each requested chat, which of `article_ids` it was already given."""
    delivered: dict[int, set[str]] = {chat_id: set() for chat_id in chat_ids}
    wanted = list(dict.fromkeys(article_ids))
    if not wanted:
        return delivered
    for chat_chunk in chunked(list(delivered), _IN_CHUNK):
        for article_chunk in chunked(wanted, _IN_CHUNK):
            query = select(deliveries.c.chat_id, deliveries.c.article_id).where(
                one_of(conn, deliveries.c.chat_id, chat_chunk),
                one_of(conn, deliveries.c.article_id, article_chunk),
            )
            for chat_id, article_id in conn.execute(query).all():
                delivered[chat_id].add(article_id)
    return delivered


def enqueue_digest(
    conn: Connection,
    chat_id: int,
    article_ids: Sequence[str],
    messages: Sequence[str],
    link_preview: bool,
    now: datetime,
    next_digest_at: datetime | None,
    not_before: datetime,
    *,
    keep_schedule: bool = False,
    read_due_at: datetime | None = None,
) -> int | None:
    """Record a digest for sending; None (and nothing written) if the chat is gone or inactive.

    `keep_schedule` leaves the chat's due time as stored (an on-demand digest must not write
    back a due time it read before a round moved it); `read_due_at` (the due time the caller
    read) writes `next_digest_at` only if the chat is still due then.

    An article already delivered to the chat makes the deliveries insert fail with the
    `DELIVERY_KEY` unique violation, which rolls back the caller's whole transaction.
    """
    # The chat row first: it must be active, and on PostgreSQL its row lock queues a
    # concurrent enqueue for the same chat behind this one.
    guarded = read_due_at is not None and not keep_schedule
    schedule = {} if keep_schedule or guarded else {"next_digest_at": next_digest_at}
    scheduled = conn.execute(
        update(chats)
        .where(chats.c.chat_id == chat_id, chats.c.active == true())
        .values(last_digest_at=now, updated_at=now, **schedule)
    )
    if scheduled.rowcount == 0:
        logger.info("digest for chat %d not enqueued: the chat is gone or inactive", chat_id)
        return None
    if guarded:
        _move_schedule(conn, [chat_id], read_due_at, next_digest_at, now)
    digest_id = conn.execute(
        insert(chat_digests)
        .values(chat_id=chat_id, articles=len(article_ids), parts=len(messages), created_at=now)
        .returning(chat_digests.c.id)
    ).scalar_one()
    conn.execute(
        insert(deliveries),
        [
            {
                "chat_id": chat_id,
                "article_id": article_id,
                "digest_id": digest_id,
                "created_at": now,
            }
            for article_id in article_ids
        ],
    )
    item = QueuedDigest(chat_id, tuple(article_ids), tuple(messages), link_preview, None)
    conn.execute(
        insert(outbox),
        [
            _outbox_row(digest_id, item, part, text, now, not_before)
            for part, text in enumerate(messages, start=1)
        ],
    )
    return int(digest_id)


def _outbox_row(
    digest_id: int, item: QueuedDigest, part: int, text: str, now: datetime, not_before: datetime
) -> dict[str, Any]:
    return {
        "digest_id": digest_id,
        "chat_id": item.chat_id,
        "part": part,
        "parts": len(item.messages),
        "text": text,
        "link_preview": item.link_preview,
        "status": "pending",
        "attempts": 0,
        "not_before": not_before,
        "created_at": now,
    }


def enqueue_digests(
    conn: Connection, items: Sequence[QueuedDigest], now: datetime, not_before: datetime
) -> dict[int, int | None]:
    """Record many chats' digests in the caller's one transaction; chat id -> digest id.

    Each chat keeps `enqueue_digest`'s all-or-nothing rule: a chat that is gone or inactive, or
    that was already given one of its articles, gets None and nothing written; the others are
    recorded with a few multi-row statements instead of a handful per chat.
    """
    wanted = {item.chat_id: item for item in items}
    if len(wanted) != len(items):
        raise ValueError("enqueue_digests: a chat appears twice in one batch")
    active = _lock_active_chats(conn, list(wanted))
    with_articles = [wanted[chat_id] for chat_id in active if wanted[chat_id].article_ids]
    given = delivered_article_ids(
        conn,
        [item.chat_id for item in with_articles],
        [article_id for item in with_articles for article_id in item.article_ids],
    )
    refused = {
        item.chat_id for item in with_articles if given[item.chat_id] & set(item.article_ids)
    }
    if refused:
        logger.info("%d digests not enqueued: an article was already given", len(refused))
    kept = [wanted[chat_id] for chat_id in active if chat_id not in refused]
    _advance(conn, kept, now)
    recorded = _insert_digests(conn, [item for item in kept if item.article_ids], now, not_before)
    return {chat_id: recorded.get(chat_id) for chat_id in wanted}


def _lock_active_chats(conn: Connection, chat_ids: Sequence[int]) -> list[int]:
    """The active chats among `chat_ids`, in id order; on PostgreSQL their rows are locked
    (in id order, so two batches never deadlock) until the transaction ends."""
    active: list[int] = []
    for chunk in chunked(sorted(chat_ids), _IN_CHUNK):
        query = (
            select(chats.c.chat_id)
            .where(one_of(conn, chats.c.chat_id, chunk), chats.c.active == true())
            .order_by(chats.c.chat_id)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        active.extend(conn.scalars(query))
    return active


def _advance(conn: Connection, items: Sequence[QueuedDigest], now: datetime) -> None:
    """Move each chat's schedule; chats due together mostly share their next slot, so one
    UPDATE per distinct (due time read, next slot) serves many chats. A chat whose due time
    changed since the round read it (a settings command in between) keeps the new one."""
    sending = [item.chat_id for item in items if item.article_ids]
    for chunk in chunked(sending, _IN_CHUNK):
        conn.execute(
            update(chats)
            .where(one_of(conn, chats.c.chat_id, chunk))
            .values(last_digest_at=now, updated_at=now)
        )
    groups: dict[tuple[datetime | None, datetime | None], list[int]] = {}
    for item in items:
        groups.setdefault((item.read_due_at, item.next_digest_at), []).append(item.chat_id)
    for (read_due_at, following), chat_ids in groups.items():
        _move_schedule(conn, chat_ids, read_due_at, following, now)


def _move_schedule(
    conn: Connection,
    chat_ids: Sequence[int],
    read_due_at: datetime | None,
    following: datetime | None,
    now: datetime,
) -> None:
    """next_digest_at = `following` for `chat_ids`; only those still due at `read_due_at`
    when it is given."""
    for chunk in chunked(chat_ids, _IN_CHUNK):
        query = update(chats).where(one_of(conn, chats.c.chat_id, chunk))
        if read_due_at is not None:
            query = query.where(chats.c.next_digest_at == read_due_at)
        conn.execute(query.values(next_digest_at=following, updated_at=now))


def _insert_digests(
    conn: Connection, items: Sequence[QueuedDigest], now: datetime, not_before: datetime
) -> dict[int, int]:
    if not items:
        return {}
    if conn.dialect.name == "postgresql":
        digest_of = _insert_digest_rows_postgres(conn, items, now)
    else:
        # A chat appears once per batch, so its id names its new digest: RETURNING needs no
        # particular row order (asking for one makes SQLite insert row by row).
        rows = conn.execute(
            insert(chat_digests).returning(chat_digests.c.chat_id, chat_digests.c.id),
            [
                {
                    "chat_id": item.chat_id,
                    "articles": len(item.article_ids),
                    "parts": len(item.messages),
                    "created_at": now,
                }
                for item in items
            ],
        )
        digest_of = {int(chat_id): int(digest_id) for chat_id, digest_id in rows}
    insert_deliveries(
        conn,
        [
            (item.chat_id, article_id, digest_of[item.chat_id])
            for item in items
            for article_id in item.article_ids
        ],
        now,
    )
    if conn.dialect.name == "postgresql":
        _insert_messages_postgres(conn, items, digest_of, now, not_before)
        return digest_of
    conn.execute(
        insert(outbox),
        [
            _outbox_row(digest_of[item.chat_id], item, part, text, now, not_before)
            for item in items
            for part, text in enumerate(item.messages, start=1)
        ],
    )
    return digest_of


# On PostgreSQL a batch's digests, deliveries and messages go in as one statement of arrays
# each, passed in binary (%b): a multi-row VALUES of thousands of placeholders, or text arrays
# with every message escaped, cost more to build than the server takes to insert the rows.
_POSTGRES_DIGESTS = (
    "INSERT INTO chat_digests (chat_id, articles, parts, created_at) "
    "SELECT chat_id, articles, parts, %(created_at)s "
    "FROM unnest(%(chats)b::bigint[], %(articles)b::integer[], %(parts)b::integer[]) "
    "AS made(chat_id, articles, parts) "
    "RETURNING chat_id, id"
)
# Ordered so that a digest's parts get increasing ids, as the sender sends them.
_POSTGRES_MESSAGES = (
    "INSERT INTO outbox (digest_id, chat_id, part, parts, text, link_preview, status, attempts, "
    "not_before, created_at) "
    "SELECT digest_id, chat_id, part, parts, body, link_preview, 'pending', 0, %(not_before)s, "
    "%(created_at)s "
    "FROM unnest(%(digests)b::bigint[], %(chats)b::bigint[], %(part)b::integer[], "
    "%(parts)b::integer[], %(texts)b::text[], %(previews)b::boolean[]) "
    "WITH ORDINALITY AS message(digest_id, chat_id, part, parts, body, link_preview, place) "
    "ORDER BY place"
)


def _insert_digest_rows_postgres(
    conn: Connection, items: Sequence[QueuedDigest], now: datetime
) -> dict[int, int]:
    rows = conn.exec_driver_sql(
        _POSTGRES_DIGESTS,
        {
            "created_at": now.astimezone(UTC),
            "chats": [item.chat_id for item in items],
            "articles": [len(item.article_ids) for item in items],
            "parts": [len(item.messages) for item in items],
        },
    )
    return {int(chat_id): int(digest_id) for chat_id, digest_id in rows}


def _insert_messages_postgres(
    conn: Connection,
    items: Sequence[QueuedDigest],
    digest_of: dict[int, int],
    now: datetime,
    not_before: datetime,
) -> None:
    messages = [
        (digest_of[item.chat_id], item, part, body)
        for item in items
        for part, body in enumerate(item.messages, start=1)
    ]
    if not messages:
        return
    conn.exec_driver_sql(
        _POSTGRES_MESSAGES,
        {
            "not_before": not_before.astimezone(UTC),
            "created_at": now.astimezone(UTC),
            "digests": [digest_id for digest_id, _, _, _ in messages],
            "chats": [item.chat_id for _, item, _, _ in messages],
            "part": [part for _, _, part, _ in messages],
            "parts": [len(item.messages) for _, item, _, _ in messages],
            "texts": [body for _, _, _, body in messages],
            "previews": [item.link_preview for _, item, _, _ in messages],
        },
    )


def delivered_in_window(
    conn: Connection, chat_ids: Sequence[int], since: datetime
) -> dict[int, set[str]]:
    """For each requested chat, the articles fetched since `since` that it was given."""
    delivered: dict[int, set[str]] = {chat_id: set() for chat_id in chat_ids}
    for chunk in chunked(list(delivered), _IN_CHUNK):
        query = (
            select(deliveries.c.chat_id, deliveries.c.article_id)
            .join(articles, articles.c.id == deliveries.c.article_id)
            .where(one_of(conn, deliveries.c.chat_id, chunk), articles.c.fetched_at >= since)
        )
        for chat_id, article_id in conn.execute(query).all():
            delivered[chat_id].add(article_id)
    return delivered


def advance_schedule(
    conn: Connection,
    chat_id: int,
    next_digest_at: datetime | None,
    now: datetime,
    read_due_at: datetime | None = None,
) -> None:
    _move_schedule(conn, [chat_id], read_due_at, next_digest_at, now)


_MESSAGE_COLUMNS = (
    outbox.c.id,
    outbox.c.chat_id,
    outbox.c.digest_id,
    outbox.c.part,
    outbox.c.parts,
    outbox.c.text,
    outbox.c.link_preview,
    outbox.c.attempts,
)


def pending_messages(conn: Connection, now: datetime, limit: int) -> list[OutboxMessage]:
    query = (
        select(*_MESSAGE_COLUMNS)
        .join(chats, chats.c.chat_id == outbox.c.chat_id)
        .where(*_due_conditions(now))
        .order_by(outbox.c.id)
        .limit(limit)
    )
    return [OutboxMessage(*row) for row in conn.execute(query)]


def _due_conditions(now: datetime) -> tuple[Any, ...]:
    """Pending, due, of an active chat, and not behind an earlier message held back."""
    earlier = outbox.alias("earlier")
    # A message waits while an earlier message of its chat is held back (a retry not yet
    # due): part 2 must not overtake part 1, nor a later digest an earlier one, whether the
    # sender restarted or set the chat aside to serve others meanwhile.
    earlier_pending = (
        select(earlier.c.id)
        .where(
            earlier.c.chat_id == outbox.c.chat_id,
            earlier.c.id < outbox.c.id,
            earlier.c.status == "pending",
            earlier.c.not_before > now,
        )
        .exists()
    )
    return (OUTBOX_PENDING, outbox.c.not_before <= now, chats.c.active == true(), ~earlier_pending)


def _claimed_by_another(owner: str, now: datetime) -> Any:
    """Some pending message of the row's chat is held by another sender whose lease runs."""
    held = outbox.alias("held")
    return (
        select(held.c.id)
        .where(
            held.c.chat_id == outbox.c.chat_id,
            held.c.status == "pending",
            held.c.claimed_by != owner,
            held.c.claim_until > now,
        )
        .exists()
    )


def claim_messages(
    conn: Connection, owner: str, now: datetime, lease_until: datetime, chat_limit: int
) -> list[OutboxMessage]:
    """Claim every due message of up to `chat_limit` chats for `owner` until `lease_until`.

    A chat is claimed whole and by one sender at a time: chats with a message another sender
    holds under a running lease are skipped, and on PostgreSQL the chats' rows are locked
    (FOR NO KEY UPDATE SKIP LOCKED) so that concurrent claimers take disjoint chats without
    waiting. The owner's own claims are returned again (renewed). Ordered by id.
    """
    foreign = _claimed_by_another(owner, now)
    candidates = (
        select(outbox.c.chat_id)
        .join(chats, chats.c.chat_id == outbox.c.chat_id)
        .where(*_due_conditions(now), ~foreign)
        .group_by(outbox.c.chat_id)
        .order_by(func.min(outbox.c.id))
    )
    if conn.dialect.name != "postgresql":
        chat_ids = list(conn.scalars(candidates.limit(chat_limit)))  # one writer at a time
    else:
        # Concurrent claimers see the same first candidates: look a few pages ahead, so that
        # skipping the chats another one is locking still leaves a page to take.
        window = list(conn.scalars(candidates.limit(_CLAIM_LOOKAHEAD * chat_limit)))
        # The oldest due chats first (the window's order), as on SQLite; lock only what it takes.
        position = func.array_position(postgresql.array(window, type_=BigInteger), chats.c.chat_id)
        locking = (
            select(chats.c.chat_id)
            .where(chats.c.chat_id.in_(window))
            .order_by(position)
            .limit(chat_limit)
            .with_for_update(skip_locked=True, key_share=True)
        )
        chat_ids = list(conn.scalars(locking))
    if not chat_ids:
        return []
    # Re-checked under the row locks: a claim committed meanwhile by another sender wins.
    due_ids = (
        select(outbox.c.id)
        .join(chats, chats.c.chat_id == outbox.c.chat_id)
        .where(outbox.c.chat_id.in_(chat_ids), *_due_conditions(now), ~foreign)
        .scalar_subquery()
    )
    conn.execute(
        update(outbox)
        .where(outbox.c.id.in_(due_ids))
        .values(claimed_by=owner, claim_until=lease_until)
    )
    query = (
        select(*_MESSAGE_COLUMNS)
        .where(outbox.c.claimed_by == owner, OUTBOX_PENDING, outbox.c.chat_id.in_(chat_ids))
        .order_by(outbox.c.id)
    )
    return [OutboxMessage(*row) for row in conn.execute(query)]


def renew_claims(conn: Connection, owner: str, lease_until: datetime) -> set[int]:
    """Extend the lease on everything `owner` holds; returns the chats that is (a chat it held
    and is not among them was taken over by another sender after its lease ran out)."""
    result = conn.execute(
        update(outbox)
        .where(outbox.c.claimed_by == owner, OUTBOX_PENDING)
        .values(claim_until=lease_until)
        .returning(outbox.c.chat_id)
    )
    return {int(chat_id) for chat_id in result.scalars()}


def release_claims(conn: Connection, owner: str, chat_ids: Sequence[int] | None = None) -> None:
    """Give back what `owner` holds (all, or these chats'), for others to take at once."""
    condition = and_(outbox.c.claimed_by == owner, OUTBOX_PENDING)
    if chat_ids is not None:
        condition = and_(condition, outbox.c.chat_id.in_(list(chat_ids)))
    conn.execute(update(outbox).where(condition).values(claimed_by=None, claim_until=None))


def digest_messages(conn: Connection, digest_id: int) -> list[OutboxMessage]:
    query = (
        select(*_MESSAGE_COLUMNS)
        .where(outbox.c.digest_id == digest_id, OUTBOX_PENDING)
        .order_by(outbox.c.part)
    )
    return [OutboxMessage(*row) for row in conn.execute(query)]


def _warn_if_gone(conn: Connection, message_id: int, action: str) -> None:
    exists = conn.execute(select(outbox.c.id).where(outbox.c.id == message_id)).first()
    if exists is None:
        logger.warning(
            "outbox message %d no longer exists (chat deleted?); %s", message_id, action
        )


def mark_sent(
    conn: Connection, message_id: int, telegram_message_id: int, sent_at: datetime
) -> None:
    # Whatever the status was (a chat may be deactivated while its message is in flight), the
    # message did reach Telegram, and the record must say so.
    statement = (
        update(outbox)
        .where(outbox.c.id == message_id)
        .values(status="sent", sent_at=sent_at, telegram_message_id=telegram_message_id)
    )
    if conn.execute(statement).rowcount == 0:
        _warn_if_gone(conn, message_id, "not marked sent")


# One statement for a batch of sent messages: ids, Telegram's message ids and the times, as
# binary arrays (see _POSTGRES_MESSAGES). Whatever the status (as mark_sent).
_POSTGRES_SENT = (
    "UPDATE outbox SET status = 'sent', sent_at = made.sent_at, "
    "telegram_message_id = made.telegram_message_id "
    "FROM unnest(%(ids)b::bigint[], %(telegram_ids)b::bigint[], %(sent_at)b::timestamptz[]) "
    "AS made(id, telegram_message_id, sent_at) WHERE outbox.id = made.id"
)


def mark_sent_many(conn: Connection, rows: Sequence[tuple[int, int, datetime]]) -> None:
    """``mark_sent`` for many (message id, Telegram message id, sent at) at once."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        ids, telegram_ids, times = (list(column) for column in zip(*rows, strict=True))
        result = conn.exec_driver_sql(
            _POSTGRES_SENT,
            {
                "ids": ids,
                "telegram_ids": telegram_ids,
                "sent_at": [t.astimezone(UTC) for t in times],
            },
        )
        updated = int(result.rowcount or 0)
    else:
        statement = (
            update(outbox)
            .where(outbox.c.id == bindparam("message_id"))
            .values(status="sent", sent_at=bindparam("at"), telegram_message_id=bindparam("tg"))
        )
        params = [{"message_id": m, "tg": tg, "at": at} for m, tg, at in rows]
        updated = int(conn.execute(statement, params).rowcount or 0)
    if updated < len(rows):
        logger.warning(
            "%d of %d sent outbox messages no longer exist (chats deleted?); not marked sent",
            len(rows) - updated,
            len(rows),
        )


def mark_retry(
    conn: Connection, message_id: int, not_before: datetime, error: str, counted: bool = True
) -> None:
    attempts = outbox.c.attempts + (1 if counted else 0)
    statement = (
        update(outbox)
        .where(outbox.c.id == message_id, OUTBOX_PENDING)
        .values(
            attempts=attempts,
            not_before=not_before,
            last_error=error,
            # It waits in the store now: whichever sender finds it due may take it.
            claimed_by=None,
            claim_until=None,
        )
    )
    if conn.execute(statement).rowcount == 0:
        _warn_if_gone(conn, message_id, "no retry recorded")


def mark_failed(conn: Connection, message_id: int, error: str) -> None:
    statement = (
        update(outbox)
        .where(outbox.c.id == message_id, OUTBOX_PENDING)
        .values(status="failed", attempts=outbox.c.attempts + 1, last_error=error)
    )
    if conn.execute(statement).rowcount == 0:
        _warn_if_gone(conn, message_id, "not marked failed")


def count_pending(conn: Connection) -> int:
    return int(
        conn.execute(select(func.count()).select_from(outbox).where(OUTBOX_PENDING)).scalar_one()
    )


def count_by_status(conn: Connection) -> dict[str, int]:
    query = select(outbox.c.status, func.count()).group_by(outbox.c.status)
    return {status: int(count) for status, count in conn.execute(query)}


# A round writes thousands of deliveries per batch: one statement of (binary) arrays on
# PostgreSQL, one driver-level executemany on SQLite, instead of SQLAlchemy's per-row
# parameter processing.
_POSTGRES_DELIVERIES = (
    "INSERT INTO deliveries (chat_id, article_id, digest_id, created_at) "
    "SELECT chat_id, article_id, digest_id, %(created_at)s "
    "FROM unnest(%(chats)b::bigint[], %(articles)b::varchar[], %(digests)b::bigint[]) "
    "AS given(chat_id, article_id, digest_id)"
)
_SQLITE_DELIVERIES = (
    "INSERT INTO deliveries (chat_id, article_id, digest_id, created_at) VALUES (?, ?, ?, ?)"
)


def insert_deliveries(
    conn: Connection, rows: Sequence[tuple[int, str, int]], now: datetime
) -> None:
    """Insert (chat id, article id, digest id) deliveries made at `now`, parameterised."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        chat_ids, article_ids, digest_ids = (list(column) for column in zip(*rows, strict=True))
        conn.exec_driver_sql(
            _POSTGRES_DELIVERIES,
            {
                "created_at": now.astimezone(UTC),
                "chats": chat_ids,
                "articles": article_ids,
                "digests": digest_ids,
            },
        )
        return
    created_at = UtcDateTime().process_bind_param(now, conn.dialect)
    conn.exec_driver_sql(
        _SQLITE_DELIVERIES,
        [(chat_id, article, digest, created_at) for chat_id, article, digest in rows],
    )
