"""Pruning what the bot no longer needs, in short batches inside the caller's transactions.

At most once needs only the deliveries of articles that can still be chosen: those fetched in
the look-back window. A delivery is never older than its article's fetch, so deleting digests
(with their deliveries and message parts, by cascade) created before a cutoff at least the
look-back window ago never lets an article in the window be given twice. Sent and failed
message parts go sooner (their full text is the bulk of the outbox); pending ones stay.
Articles older than their cutoff go with their topic index, unless a delivery still names them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, func, select

from bot.store.schema import (
    OUTBOX_PENDING,
    articles,
    chat_digests,
    deliveries,
    outbox,
    saved_searches,
)


def last_digest_before(conn: Connection, cutoff: datetime) -> int | None:
    """The highest digest id created before `cutoff` (ids grow with time)."""
    query = select(func.max(chat_digests.c.id)).where(chat_digests.c.created_at < cutoff)
    value = conn.execute(query).scalar_one()
    return None if value is None else int(value)


def prune_messages(conn: Connection, up_to_digest: int, limit: int) -> int:
    """Delete up to `limit` sent or failed message parts of digests up to `up_to_digest`."""
    ids = list(
        conn.scalars(
            select(outbox.c.id)
            .where(outbox.c.digest_id <= up_to_digest, ~OUTBOX_PENDING)
            .limit(limit)
        )
    )
    if ids:
        conn.execute(delete(outbox).where(outbox.c.id.in_(ids)))
    return len(ids)


def prune_digests(conn: Connection, up_to_digest: int, limit: int) -> int:
    """Delete up to `limit` digests up to `up_to_digest` that have nothing pending; their
    deliveries and message parts go with them (ON DELETE CASCADE)."""
    pending = (
        select(outbox.c.id).where(outbox.c.digest_id == chat_digests.c.id, OUTBOX_PENDING).exists()
    )
    ids = list(
        conn.scalars(
            select(chat_digests.c.id)
            .where(chat_digests.c.id <= up_to_digest, ~pending)
            .order_by(chat_digests.c.id)
            .limit(limit)
        )
    )
    if ids:
        conn.execute(delete(chat_digests).where(chat_digests.c.id.in_(ids)))
    return len(ids)


def prune_articles(conn: Connection, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` articles fetched before `cutoff` that no delivery names; their
    topic index rows go with them (ON DELETE CASCADE)."""
    named = select(deliveries.c.article_id).where(deliveries.c.article_id == articles.c.id)
    ids = list(
        conn.scalars(
            select(articles.c.id)
            .where(articles.c.fetched_at < cutoff, ~named.exists())
            .limit(limit)
        )
    )
    if ids:
        conn.execute(delete(articles).where(articles.c.id.in_(ids)))
    return len(ids)


def prune_saved_searches(conn: Connection, now: datetime) -> int:
    """Delete every chat's expired saved searches (saving a search drops them too)."""
    expired = delete(saved_searches).where(saved_searches.c.expires_at <= now)
    return int(conn.execute(expired).rowcount or 0)
