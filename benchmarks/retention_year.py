"""A simulated year of daily rounds: with retention the database stops growing.

Every simulated day: new articles are stored, every chat is given a digest of that day's
articles (`enqueue_digests`, as a round does), the sender's work is simulated by marking every
part sent, and the retention job (`bot.retention.prune_store`) runs with the configured
policy. Prints the database size and the rows per table at the end of each simulated month:
after the retention window (the longest of the article, delivery and message periods) the size
stays flat. Not part of the test suite.

    .venv/bin/python benchmarks/retention_year.py                      # 10,000 chats, 365 days
    .venv/bin/python benchmarks/retention_year.py --chats 1000 --days 120   # a quicker run

PostgreSQL comes from --postgres-url or TEST_DATABASE_URL (a schema of its own, dropped after).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.storage_scale import postgres_store, sqlite_store  # noqa: E402
from bot.config import Retention  # noqa: E402
from bot.retention import prune_store  # noqa: E402
from bot.store import AsyncStore, QueuedDigest, Store  # noqa: E402
from bot.store.schema import (  # noqa: E402
    OUTBOX_PENDING,
    article_topics,
    articles,
    chat_digests,
    chats,
    deliveries,
    outbox,
    subscriptions,
)
from summaries.models import Article, Digest  # noqa: E402

START = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)
BATCH = 500
PARAGRAPH = (
    "The district opened a new line of its quantum network on Monday, linking hospitals, "
    "banks and the city archive. Engineers said the fibre was laid in under six months. "
) * 8
MESSAGE = "<b>📰 Your digest</b>\n" + "• a bullet of about this length, escaped and linked\n" * 15


def seed_chats(store: Store, count: int) -> None:
    rows = [
        {
            "chat_id": chat_id,
            "chat_type": "private",
            "title": f"chat {chat_id}",
            "timezone": "UTC",
            "digest_time": START.time().replace(tzinfo=None),
            "frequency": "daily",
            "weekday": 0,
            "bullets": 3,
            "link_preview": False,
            "paused": False,
            "active": True,
            "next_digest_at": START,
            "last_digest_at": None,
            "created_at": START,
            "updated_at": START,
        }
        for chat_id in range(1, count + 1)
    ]
    with store.engine.begin() as conn:
        conn.execute(insert(chats), rows)
        conn.execute(
            insert(subscriptions),
            [{"chat_id": r["chat_id"], "kind": "topic", "value": "quantum", "created_at": START}
             for r in rows],
        )  # fmt: skip


def store_articles(store: Store, day: int, count: int, now: datetime) -> list[str]:
    items = []
    for number in range(count):
        article = Article.create(
            source="https://news.example/feed",
            title=f"Day {day} story {number}",
            paragraphs=[PARAGRAPH, f"Story {number} of day {day}."],
            url=f"https://news.example/{day}/{number}",
            published=now,
        )
        bullets = ("First point of the story.", "Second point.", "Third point.")
        items.append((article, Digest(article.id, bullets, ("quantum",))))
    return store.add_articles(items, now)


def give_digests(store: Store, chat_count: int, article_ids: list[str], now: datetime) -> int:
    following = now + timedelta(days=1)
    given = 0
    for start in range(1, chat_count + 1, BATCH):
        items = [
            QueuedDigest(chat_id, tuple(article_ids), (MESSAGE,), False, following)
            for chat_id in range(start, min(start + BATCH, chat_count + 1))
        ]
        given += sum(1 for d in store.enqueue_digests(items, now).values() if d is not None)
    with store.engine.begin() as conn:  # the sender's part: everything went out
        conn.execute(update(outbox).where(OUTBOX_PENDING).values(status="sent", sent_at=now))
    return given


def database_bytes(store: Store) -> int:
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
            size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
            return int(pages * size)
        query = text(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        )
        return int(conn.execute(query).scalar_one())


def row_counts(store: Store) -> dict[str, int]:
    tables = {"articles": articles, "topics": article_topics, "digests": chat_digests,
              "deliveries": deliveries, "outbox": outbox}  # fmt: skip
    with store.engine.connect() as conn:
        return {
            name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for name, table in tables.items()
        }


async def simulate(store: Store, engine: str, args: argparse.Namespace) -> None:
    store.migrate()
    seed_chats(store, args.chats)
    retention = Retention(args.articles_days, args.deliveries_days, args.sent_days, 24)
    async_store = AsyncStore(store)
    print(f"{engine}: {store.description}; {args.chats:,} chats, {retention}", flush=True)
    print(f"{'month':>5} {'day':>4} {'MB':>8} {'s/day':>6}  rows", flush=True)
    started = time.perf_counter()
    try:
        for day in range(args.days):
            now = START + timedelta(days=day)
            fresh = store_articles(store, day, args.articles_per_day, now)
            give_digests(store, args.chats, fresh[: args.digest_articles], now)
            await prune_store(async_store, retention, now)
            if store.dialect == "postgresql":
                with store.engine.connect() as conn:  # what autovacuum does, on time
                    conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM")
            if (day + 1) % 30 == 0 or day + 1 == args.days:
                per_day = (time.perf_counter() - started) / (day + 1)
                size = database_bytes(store) / 1e6
                counts = " ".join(f"{k}={v:,}" for k, v in row_counts(store).items())
                print(f"{(day + 1) // 30:>5} {day + 1:>4} {size:>8.1f} {per_day:>6.1f}  {counts}",
                      flush=True)  # fmt: skip
    finally:
        await async_store.close()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--articles-per-day", type=int, default=20)
    parser.add_argument("--digest-articles", type=int, default=5, help="articles per digest")
    parser.add_argument("--articles-days", type=int, default=Retention().articles_days)
    parser.add_argument("--deliveries-days", type=int, default=Retention().deliveries_days)
    parser.add_argument("--sent-days", type=int, default=Retention().sent_messages_days)
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--engines", default="sqlite,postgresql")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    if "sqlite" in engines:
        with sqlite_store(args) as store:
            asyncio.run(simulate(store, "sqlite", args))
    if "postgresql" in engines:
        if not args.postgres_url:
            print("postgresql: skipped (give --postgres-url or set TEST_DATABASE_URL)")
        else:
            with postgres_store(args.postgres_url) as store:
                asyncio.run(simulate(store, "postgresql", args))


if __name__ == "__main__":
    main()
