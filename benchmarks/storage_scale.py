"""Storage at scale: 100,000 chats and 1,000,000 delivery records, in SQLite and PostgreSQL.

Prints, per engine: bulk-load time; selecting a round's recipients (`due_chats` over every chat
due at once; target under 2 s); `subscriptions_for` and `delivered_article_ids` over that round
in batches of 1,000 chats; recording digests with `enqueue_digest` one chat at a time and with
`enqueue_digests` in batches of 500 chats (digests/s, and the deliveries/s they carry);
`pending_messages` + `mark_sent`; and a whole `digest_round` over every chat (select per
subscription, render, record; target: a 100,000-chat round queued in under 60 s).

    .venv/bin/python benchmarks/storage_scale.py                      # full size, both engines
    .venv/bin/python benchmarks/storage_scale.py --chats 2000 --deliveries 20000   # smoke run
    .venv/bin/python benchmarks/storage_scale.py --steps load,whole_round        # the round only

PostgreSQL comes from --postgres-url or TEST_DATABASE_URL; the run uses a schema of its own
and drops it afterwards. Without a URL only SQLite runs. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.store import AsyncStore, QueuedDigest, Store  # noqa: E402
from bot.store.schema import (  # noqa: E402
    article_topics,
    articles,
    chat_digests,
    chats,
    deliveries,
    subscriptions,
)

NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
BATCH = 1000  # chats per batch in a round, as a round job would page through them
LOAD_BATCH = 20_000  # rows per bulk-load transaction


@dataclass
class Figure:
    engine: str
    step: str
    rows: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> str:
        return f"{self.rows / self.seconds:,.0f}/s" if self.seconds > 0 else "-"


def timed(function: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


# -- data --------------------------------------------------------------------------------------


def article_rows(count: int) -> Iterator[dict[str, Any]]:
    for number in range(count):
        yield {
            "id": f"a{number:09d}",
            "source": "https://example.org/feed",
            "title": f"Article {number}",
            "url": f"https://example.org/{number}",
            "published": NOW - timedelta(minutes=count - number),
            "tags": ("bench",),
            "paragraphs": (f"Body of article {number}.",),
            "fetched_at": NOW - timedelta(minutes=count - number),
            "bullets": (f"Bullet {number}.",),
            "topics": ("quantum",),
            "keywords": (),
            "algorithm": "default",
            "digest_updated_at": NOW,
        }


def topic_rows(count: int) -> Iterator[dict[str, Any]]:
    for row in article_rows(count):
        yield {"article_id": row["id"], "topic": "quantum", "fetched_at": row["fetched_at"]}


# With --varied-chats, chats spread over these zones, both languages and 1-5 bullets, so that
# few of them get the same digest (the default: every chat in Shanghai, in English, 3 bullets).
VARIED_ZONES = (
    "Asia/Shanghai", "UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Europe/London",
    "Australia/Sydney", "America/Los_Angeles", "Asia/Kolkata", "America/Sao_Paulo",
    "Africa/Cairo", "Europe/Moscow",
)  # fmt: skip


def chat_rows(count: int, varied: bool = False) -> Iterator[dict[str, Any]]:
    for chat_id in range(1, count + 1):
        yield {
            "chat_id": chat_id,
            "chat_type": "private",
            "title": f"chat {chat_id}",
            "timezone": VARIED_ZONES[chat_id % len(VARIED_ZONES)] if varied else "Asia/Shanghai",
            "language": ("en", "zh")[chat_id % 2] if varied else None,
            "digest_time": datetime.min.time().replace(hour=8),
            "frequency": "daily",
            "weekday": 0,
            "bullets": chat_id % 5 + 1 if varied else 3,
            "link_preview": False,
            "paused": False,
            "active": True,
            "next_digest_at": NOW - timedelta(seconds=chat_id % 3600),  # all due
            "last_digest_at": NOW - timedelta(days=1),
            "created_at": NOW - timedelta(days=30),
            "updated_at": NOW - timedelta(days=1),
        }


def subscription_rows(count: int) -> Iterator[dict[str, Any]]:
    for chat_id in range(1, count + 1):
        yield {"chat_id": chat_id, "kind": "topic", "value": "quantum", "created_at": NOW}


def digest_rows(count: int, per_chat: int) -> Iterator[dict[str, Any]]:
    for chat_id in range(1, count + 1):
        yield {
            "id": chat_id,
            "chat_id": chat_id,
            "articles": per_chat,
            "parts": 1,
            "created_at": NOW,
        }


def delivery_rows(chat_count: int, total: int, article_count: int) -> Iterator[dict[str, Any]]:
    """`total` rows spread evenly; each chat got a run of articles ending among the newest,
    so that a round's candidates are partly delivered already, as in real use."""
    per_chat, extra = divmod(total, chat_count)
    for chat_id in range(1, chat_count + 1):
        given = per_chat + (1 if chat_id <= extra else 0)
        start = max(0, article_count - given - chat_id % 40)
        for offset in range(given):
            yield {
                "chat_id": chat_id,
                "article_id": f"a{(start + offset) % article_count:09d}",
                "digest_id": chat_id,
                "created_at": NOW - timedelta(days=1),
            }


def bulk_insert(store: Store, table: Any, rows: Iterator[dict[str, Any]]) -> int:
    inserted = 0
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == LOAD_BATCH:
            inserted += _insert_batch(store, table, batch)
            batch = []
    if batch:
        inserted += _insert_batch(store, table, batch)
    return inserted


def _insert_batch(store: Store, table: Any, batch: list[dict[str, Any]]) -> int:
    with store.engine.begin() as conn:
        conn.execute(insert(table), batch)
    return len(batch)


# -- the measured steps ------------------------------------------------------------------------


def load(store: Store, engine: str, args: argparse.Namespace) -> list[Figure]:
    per_chat = max(1, args.deliveries // args.chats)
    article_count = max(args.articles, per_chat + args.round_articles)
    total = 0

    def load_all() -> None:
        nonlocal total
        total += bulk_insert(store, articles, article_rows(article_count))
        total += bulk_insert(store, article_topics, topic_rows(article_count))
        total += bulk_insert(store, chats, chat_rows(args.chats, args.varied_chats))
        total += bulk_insert(store, subscriptions, subscription_rows(args.chats))
        total += bulk_insert(store, chat_digests, digest_rows(args.chats, per_chat))
        total += bulk_insert(
            store, deliveries, delivery_rows(args.chats, args.deliveries, article_count)
        )
        with store.engine.begin() as conn:
            if store.dialect == "postgresql":
                # The digests were loaded with explicit ids: move the id sequence past them.
                conn.execute(
                    text(
                        "SELECT setval(pg_get_serial_sequence('chat_digests', 'id'), "
                        "(SELECT max(id) FROM chat_digests))"
                    )
                )
            analyze_own_tables(conn)

    _, seconds = timed(load_all)
    note = f"{args.chats:,} chats, {args.deliveries:,} deliveries, {article_count:,} articles"
    if args.varied_chats:
        note += f" (chats in {len(VARIED_ZONES)} zones, 2 languages, 1-5 bullets)"
    return [Figure(engine, "bulk load (+ANALYZE)", total, seconds, note)]


def select_round(store: Store, engine: str, args: argparse.Namespace) -> list[Figure]:
    runs = []
    due: list[Any] = []
    for _ in range(args.repeat):
        due, seconds = timed(lambda: store.due_chats(NOW))
        runs.append(seconds)
    verdict = "OK" if max(runs) < 2.0 else "OVER 2 s TARGET"
    note = f"{len(due):,} due; median of {len(runs)}, worst {max(runs):.3f} s: {verdict}"
    return [Figure(engine, "due_chats (whole round)", len(due), statistics.median(runs), note)]


def round_lookups(store: Store, engine: str, args: argparse.Namespace) -> list[Figure]:
    chat_ids = [chat.chat_id for chat in store.due_chats(NOW)]
    candidates = [stored.article.id for stored in store.recent_articles(None, args.round_articles)]
    batches = [chat_ids[start : start + BATCH] for start in range(0, len(chat_ids), BATCH)]

    def subscriptions_round() -> int:
        return sum(len(store.subscriptions_for(batch)) for batch in batches)

    def delivered_round() -> int:
        found = 0
        for batch in batches:
            found += sum(
                len(ids) for ids in store.delivered_article_ids(batch, candidates).values()
            )
        return found

    looked_up, sub_seconds = timed(subscriptions_round)
    already, delivered_seconds = timed(delivered_round)
    note = f"{len(batches)} batches of {BATCH} chats x {len(candidates)} candidate articles"
    return [
        Figure(engine, "subscriptions_for (round)", looked_up, sub_seconds, f"chats; {note}"),
        Figure(
            engine,
            "delivered_article_ids (round)",
            len(chat_ids),
            delivered_seconds,
            f"chats; {already:,} already-sent pairs found",
        ),
    ]


def record_deliveries(store: Store, engine: str, args: argparse.Namespace) -> list[Figure]:
    fresh = [f"fresh{number:04d}" for number in range(args.digest_articles)]
    fresh_rows = []
    for row, article_id in zip(article_rows(len(fresh)), fresh, strict=True):
        fresh_rows.append({**row, "id": article_id, "fetched_at": NOW})
    bulk_insert(store, articles, iter(fresh_rows))
    targets = list(range(1, min(args.enqueue_chats, args.chats) + 1))
    message = "<b>Digest</b>\n" + "• a bullet of about this length, escaped and linked\n" * 20

    def enqueue_all() -> int:
        recorded = 0
        for chat_id in targets:
            digest_id = store.enqueue_digest(
                chat_id, fresh, [message], False, NOW, NOW + timedelta(days=1)
            )
            recorded += len(fresh) if digest_id is not None else 0
        return recorded

    recorded, seconds = timed(enqueue_all)
    pending = store.pending_messages(NOW, len(targets))

    def mark_all() -> int:
        for number, outbox_message in enumerate(pending):
            store.mark_sent(outbox_message.id, number, NOW)
        return len(pending)

    marked, mark_seconds = timed(mark_all)
    deliveries_per_s = recorded / seconds if seconds else 0
    return [
        Figure(
            engine,
            "enqueue_digest (per chat)",
            recorded // max(1, len(fresh)),
            seconds,
            f"digests of {len(fresh)} articles; {deliveries_per_s:,.0f} deliveries/s",
        ),
        Figure(engine, "mark_sent (per message)", marked, mark_seconds, "messages"),
    ]


def add_fresh_articles(store: Store, prefix: str, count: int, at: datetime) -> list[str]:
    rows = [
        {**row, "id": f"{prefix}{number:04d}", "fetched_at": at, "published": at}
        for number, row in enumerate(article_rows(count))
    ]
    bulk_insert(store, articles, iter(rows))
    bulk_insert(
        store,
        article_topics,
        iter({"article_id": r["id"], "topic": "quantum", "fetched_at": at} for r in rows),
    )
    return [row["id"] for row in rows]


def record_batched(store: Store, engine: str, args: argparse.Namespace) -> list[Figure]:
    """`enqueue_digests` for every chat, ROUND_BATCH chats per transaction."""
    from bot.rounds import ROUND_BATCH

    fresh = tuple(add_fresh_articles(store, "batch", args.digest_articles, NOW))
    message = ("<b>Digest</b>\n" + "• a bullet of about this length, escaped and linked\n" * 20,)
    chat_ids = list(range(1, args.chats + 1))
    following = NOW + timedelta(days=1)

    def enqueue_all() -> int:
        recorded = 0
        for start in range(0, len(chat_ids), ROUND_BATCH):
            items = [
                QueuedDigest(chat_id, fresh, message, False, following)
                for chat_id in chat_ids[start : start + ROUND_BATCH]
            ]
            result = store.enqueue_digests(items, NOW)
            recorded += sum(1 for digest_id in result.values() if digest_id is not None)
        return recorded

    recorded, seconds = timed(enqueue_all)
    verdict = "OK" if seconds < 60 else "OVER 60 s TARGET"
    return [
        Figure(
            engine,
            f"enqueue_digests (batches of {ROUND_BATCH})",
            recorded,
            seconds,
            f"digests of {len(fresh)} articles; "
            f"{recorded * len(fresh) / seconds:,.0f} deliveries/s; {verdict}",
        )
    ]


def analyze_own_tables(conn: Any) -> None:
    """ANALYZE this run's tables only: a bare ANALYZE on PostgreSQL covers every schema of the
    database and deadlocked with another benchmark analysing its own schema."""
    for table in (
        "chats",
        "subscriptions",
        "articles",
        "article_topics",
        "deliveries",
        "outbox",
        "chat_digests",
    ):
        conn.execute(text(f"ANALYZE {table}"))


def whole_round(store: Store, engine: str, args: argparse.Namespace) -> list[Figure]:
    """The real `digest_round` over every chat, due again, with new articles to give."""
    add_fresh_articles(store, "round", args.digest_articles, NOW + timedelta(minutes=1))
    with store.engine.begin() as conn:
        conn.execute(chats.update().values(next_digest_at=NOW))
        analyze_own_tables(conn)
    import bot.rounds  # noqa: F401  (imported before the clock starts: telegram is slow to load)

    report, seconds = timed(lambda: asyncio.run(_run_round(store)))
    verdict = "OK" if seconds < 60 else "OVER 60 s TARGET"
    note = f"{report.due:,} due, {report.queued:,} queued, {report.empty:,} empty; {verdict}"
    return [Figure(engine, "digest_round (whole round)", report.queued, seconds, note)]


async def _run_round(store: Store) -> Any:
    import httpx

    from bot.config import load_settings
    from bot.rounds import digest_round
    from bot.services import Services, callback_key
    from summaries.matching import TopicMatcher

    with tempfile.TemporaryDirectory(prefix="storage-scale-config-") as folder:
        config = Path(folder) / "config.yaml"
        config.write_text(
            "topics:\n  - {name: quantum, keywords: [quantum]}\nbot:\n"
            "  digest: {max_articles: 10, lookback_days: 7}\n",
            encoding="utf-8",
        )
        settings = load_settings(config, environ={"DATABASE_URL": "sqlite://"})
    async_store = AsyncStore(store)
    async with httpx.AsyncClient() as http:
        services = Services(
            settings=settings,
            store=async_store,
            http=http,
            sender=None,
            callback_key=callback_key("bench"),
            topic_commands={},
            matcher=TopicMatcher(settings.app.topics),
        )
        return await digest_round(services, NOW + timedelta(minutes=2))


# -- engines -----------------------------------------------------------------------------------


@contextmanager
def sqlite_store(args: argparse.Namespace) -> Iterator[Store]:
    with tempfile.TemporaryDirectory(prefix="storage-scale-") as folder:
        store = Store.from_url(f"sqlite:///{Path(folder) / 'bench.db'}")
        try:
            yield store
        finally:
            store.close()


@contextmanager
def postgres_store(base_url: str) -> Iterator[Store]:
    schema = f"bench_{secrets.token_hex(6)}"
    admin_url = make_url(base_url).set(drivername="postgresql")
    libpq = admin_url.render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    store = Store.from_url(url.render_as_string(hide_password=False))
    try:
        yield store
    finally:
        store.close()
        with psycopg.connect(libpq, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


STEPS: dict[str, Callable[[Store, str, argparse.Namespace], list[Figure]]] = {
    "load": load,
    "select_round": select_round,
    "round_lookups": round_lookups,
    "record_deliveries": record_deliveries,
    "record_batched": record_batched,
    "whole_round": whole_round,
}


def run_engine(engine: str, store: Store, args: argparse.Namespace) -> list[Figure]:
    print(f"{engine}: {store.description}", flush=True)
    store.migrate()
    figures: list[Figure] = []
    for name, step in STEPS.items():
        if name not in args.steps:
            continue
        new = step(store, engine, args)
        for figure in new:
            print(f"  {figure.step}: {figure.seconds:.3f} s", flush=True)
        figures.extend(new)
    return figures


def print_table(figures: list[Figure]) -> None:
    header = f"{'engine':<11} {'step':<31} {'rows':>11} {'seconds':>9} {'rate':>12}  note"
    print()
    print(header)
    print("-" * len(header))
    for f in figures:
        print(
            f"{f.engine:<11} {f.step:<31} {f.rows:>11,} {f.seconds:>9.3f} {f.rate:>12}  {f.note}"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--articles", type=int, default=10_000, help="stored articles")
    parser.add_argument("--round-articles", type=int, default=50, help="candidates per round")
    parser.add_argument("--enqueue-chats", type=int, default=2_000, help="digests to record")
    parser.add_argument("--digest-articles", type=int, default=5, help="articles per digest")
    parser.add_argument("--repeat", type=int, default=3, help="due_chats runs")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TEST_DATABASE_URL"),
        help="PostgreSQL server (default: TEST_DATABASE_URL); a schema is created and dropped",
    )
    parser.add_argument(
        "--engines", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql"
    )
    parser.add_argument(
        "--varied-chats",
        action="store_true",
        help="chats in 12 zones, 2 languages and 1-5 bullets (default: all alike)",
    )
    parser.add_argument(
        "--steps",
        default=",".join(STEPS),
        help="comma-separated steps to run, in their fixed order (default: all); every run "
        "needs `load`, e.g. --steps load,whole_round",
    )
    args = parser.parse_args()
    args.steps = [name.strip() for name in args.steps.split(",") if name.strip()]
    unknown = sorted(set(args.steps) - set(STEPS))
    if unknown or "load" not in args.steps:
        parser.error(f"--steps: unknown {unknown}" if unknown else "--steps must include load")
    return args


def main() -> None:
    args = parse_args()
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    figures: list[Figure] = []
    if "sqlite" in engines:
        with sqlite_store(args) as store:
            figures += run_engine("sqlite", store, args)
    if "postgresql" in engines:
        if not args.postgres_url:
            print("postgresql: skipped (give --postgres-url or set TEST_DATABASE_URL)")
        else:
            with postgres_store(args.postgres_url) as store:
                figures += run_engine("postgresql", store, args)
    print_table(figures)


if __name__ == "__main__":
    main()
