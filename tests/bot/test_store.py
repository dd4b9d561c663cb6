"""The store, on SQLite and (with TEST_DATABASE_URL) on PostgreSQL: every method, the
delivery invariant, and what happens when the database is corrupt, locked or goes away."""

from __future__ import annotations

import asyncio
import inspect
import secrets
import socket
import sqlite3
import threading
import traceback
from datetime import UTC, datetime, time, timedelta, timezone

import psycopg
import pytest
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from bot.store import (
    AsyncStore,
    ChatDefaults,
    Conflict,
    OutboxMessage,
    Store,
    StoreError,
    StoreUnavailable,
    Subscription,
    UnknownChat,
)
from bot.store import chats as chat_queries
from bot.store import outbox as outbox_queries
from bot.store.schema import (
    DELIVERY_KEY,
    MIGRATIONS,
    chat_digests,
    deliveries,
    outbox,
    schema_migrations,
)
from summaries.models import Article, Digest
from tests.conftest import libpq_url, postgres_schema

NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
QUANTUM = Subscription("topic", "quantum")
SATELLITE = Subscription("keywords", "satellite internet")


def make_chat(store: Store, chat_id: int, *, due: datetime | None = NOW, subscribe: bool = True):
    chat = store.ensure_chat(chat_id, "private", f"chat {chat_id}", ChatDefaults(), due)
    if subscribe:
        store.add_subscription(chat_id, QUANTUM)
    return chat


def make_articles(store: Store, count: int, *, fetched_at: datetime = NOW) -> list[str]:
    items = []
    for number in range(count):
        article = Article.create(
            source="https://example.org/feed",
            title=f"Article {number}",
            paragraphs=[f"Body of article {number}."],
            url=f"https://example.org/{number}",
            published=fetched_at - timedelta(hours=number),
        )
        items.append((article, Digest(article.id, (f"Bullet {number}.",), ("quantum",))))
    return store.add_articles(items, fetched_at)


def count_rows(store: Store, table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


# -- migrations -------------------------------------------------------------------------------


def test_migrations_are_recorded_and_idempotent(store_url):
    store = Store.from_url(store_url)
    try:
        assert store.schema_version() == 0
        store.migrate()
        store.migrate()
        assert store.schema_version() == MIGRATIONS[-1].version
        with store.engine.connect() as conn:
            rows = conn.execute(select(schema_migrations.c.version, schema_migrations.c.name))
            recorded = [tuple(row) for row in rows]
        assert recorded == [(m.version, m.name) for m in MIGRATIONS]
    finally:
        store.close()


def test_a_database_newer_than_the_code_is_refused(store):
    with store.engine.begin() as conn:
        conn.execute(insert(schema_migrations).values(version=999, name="future", applied_at=NOW))
    with pytest.raises(StoreError, match="newer than this program"):
        store.migrate()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    store = Store.from_url(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        store.migrate()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 5000
    finally:
        store.close()


def test_sqlite_creates_the_folder_of_its_file(tmp_path):
    store = Store.from_url(f"sqlite:///{tmp_path / 'data' / 'nested' / 'bot.db'}")
    try:
        store.migrate()
        assert (tmp_path / "data" / "nested" / "bot.db").is_file()
    finally:
        store.close()


# -- chats ------------------------------------------------------------------------------------


def test_ensure_chat_inserts_with_the_defaults(store):
    defaults = ChatDefaults(timezone="Europe/Berlin", digest_time=time(7, 15), frequency="weekly")
    chat = store.ensure_chat(-100123, "supergroup", "Newsroom", defaults, NOW)
    assert (chat.chat_id, chat.chat_type, chat.title) == (-100123, "supergroup", "Newsroom")
    assert (chat.timezone, chat.digest_time, chat.frequency) == (
        "Europe/Berlin",
        time(7, 15),
        "weekly",
    )
    assert (chat.weekday, chat.bullets, chat.link_preview) == (0, 3, False)
    assert chat.active and not chat.paused
    assert chat.next_digest_at == NOW and chat.last_digest_at is None
    assert chat.created_at.tzinfo is UTC
    assert store.get_chat(-100123) == chat
    assert store.get_chat(42) is None


def test_ensure_chat_keeps_the_settings_of_a_known_chat(store):
    make_chat(store, 1)
    store.update_chat(1, bullets=5, timezone="UTC", next_digest_at=LATER)
    other_defaults = ChatDefaults(bullets=1, timezone="Asia/Tokyo")
    chat = store.ensure_chat(1, "private", "renamed", other_defaults, NOW)
    assert (chat.bullets, chat.timezone, chat.next_digest_at) == (5, "UTC", LATER)
    assert chat.title == "renamed"


def test_ensure_chat_leaves_a_chat_without_scheduled_digests_unscheduled(store):
    make_chat(store, 1)
    store.update_chat(1, frequency="off", next_digest_at=None)
    chat = store.ensure_chat(1, "private", "again", ChatDefaults(), NOW)
    assert chat.next_digest_at is None


def test_ensure_chat_schedules_a_scheduled_chat_without_a_due_time_in_utc(store):
    make_chat(store, 1)
    store.update_chat(1, next_digest_at=None)
    chat = store.ensure_chat(1, "private", "again", ChatDefaults(), NOW)
    assert chat.next_digest_at == NOW and chat.next_digest_at.tzinfo is UTC


def test_a_due_time_stored_without_its_offset_reads_as_utc(tmp_path):
    """Such text was written into SQLite by an earlier bug (a chat with digests off)."""
    store = Store.from_url(f"sqlite:///{tmp_path / 'legacy.db'}")
    store.migrate()
    try:
        make_chat(store, 1)
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE chats SET next_digest_at = '2026-11-27 00:00:00.000000'"))
        due = store.get_chat(1).next_digest_at
        assert due == datetime(2026, 11, 27, tzinfo=UTC) and due.tzinfo is UTC
    finally:
        store.close()


def test_ensure_chat_reactivates_a_deactivated_chat(store):
    make_chat(store, 1)
    store.deactivate_chat(1, "blocked by the user")
    assert not store.get_chat(1).active
    chat = store.ensure_chat(1, "private", "back", ChatDefaults(), LATER)
    assert chat.active
    assert chat.next_digest_at == NOW  # its schedule is kept
    assert store.list_subscriptions(1) == [QUANTUM]


def test_ensure_chat_checks_its_arguments(store):
    with pytest.raises(ValueError, match="chat_type"):
        store.ensure_chat(1, "forum", "x", ChatDefaults(), NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.ensure_chat(1, "private", "x", ChatDefaults(), datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="unknown timezone"):
        store.ensure_chat(1, "private", "x", ChatDefaults(timezone="Mars/Olympus"), NOW)
    assert store.get_chat(1) is None


def test_update_chat_changes_only_settings(store):
    make_chat(store, 7)
    chat = store.update_chat(
        7,
        timezone="America/New_York",
        digest_time=time(18, 30),
        frequency="hourly",
        weekday=4,
        bullets=2,
        link_preview=True,
        paused=True,
        next_digest_at=None,
        title="Seven",
    )
    assert chat == store.get_chat(7)
    assert (chat.timezone, chat.digest_time, chat.frequency) == (
        "America/New_York",
        time(18, 30),
        "hourly",
    )
    assert (chat.weekday, chat.bullets, chat.link_preview, chat.paused) == (4, 2, True, True)
    assert chat.next_digest_at is None and chat.title == "Seven"
    assert store.update_chat(7) == chat


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"active": False}, ValueError, "cannot change 'active'"),
        ({"last_digest_at": NOW}, ValueError, "cannot change 'last_digest_at'"),
        ({"frequency": "monthly"}, ValueError, "frequency"),
        ({"bullets": 0}, ValueError, "bullets"),
        ({"bullets": True}, ValueError, "bullets"),
        ({"weekday": 7}, ValueError, "weekday"),
        ({"timezone": "Nowhere/City"}, ValueError, "unknown timezone"),
        ({"digest_time": "08:00"}, ValueError, "digest_time"),
        ({"paused": "yes"}, TypeError, "paused"),
        ({"next_digest_at": datetime(2026, 1, 1)}, ValueError, "timezone-aware"),
    ],
)
def test_update_chat_refuses_bad_changes(store, changes, error, message):
    before = make_chat(store, 7)
    with pytest.raises(error, match=message):
        store.update_chat(7, **changes)
    assert store.get_chat(7) == before


def test_update_chat_of_an_unknown_chat(store):
    with pytest.raises(UnknownChat, match="chat 99"):
        store.update_chat(99, bullets=2)


def test_timestamps_round_trip_as_aware_utc(store):
    shanghai = timezone(timedelta(hours=8))
    moment = datetime(2026, 7, 1, 8, 0, 0, 123456, tzinfo=shanghai)
    make_chat(store, 1, due=moment)
    chat = store.get_chat(1)
    assert chat.next_digest_at == moment
    assert chat.next_digest_at.tzinfo is UTC
    assert chat.next_digest_at.hour == 0 and chat.next_digest_at.microsecond == 123456


def test_due_chats_filters_and_orders(store):
    make_chat(store, 1, due=NOW - timedelta(minutes=5))  # due
    make_chat(store, 2, due=NOW - timedelta(hours=2))  # due, earlier
    make_chat(store, 3, due=NOW)  # due exactly now
    make_chat(store, 4, due=NOW + timedelta(seconds=1))  # not yet
    make_chat(store, 5, due=NOW - timedelta(hours=1))
    store.update_chat(5, paused=True)
    make_chat(store, 6, due=NOW - timedelta(hours=1))
    store.update_chat(6, frequency="off")
    make_chat(store, 7, due=NOW - timedelta(hours=1))
    store.deactivate_chat(7, "kicked")
    make_chat(store, 8, due=NOW - timedelta(hours=1), subscribe=False)  # nothing to send
    make_chat(store, 9, due=None)  # never scheduled
    assert [chat.chat_id for chat in store.due_chats(NOW)] == [2, 1, 3]
    assert [chat.chat_id for chat in store.due_chats(NOW, limit=2)] == [2, 1]
    with pytest.raises(ValueError, match="timezone-aware"):
        store.due_chats(datetime(2026, 3, 2))


def test_due_chats_uses_the_partial_index_on_sqlite(tmp_path):
    store = Store.from_url(f"sqlite:///{tmp_path / 'plan.db'}")
    statements: list[tuple[str, tuple]] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("SELECT") and "FROM chats" in statement:
            statements.append((statement, parameters))

    try:
        store.migrate()
        store.due_chats(NOW)
        statement, parameters = statements[-1]
        with store.engine.connect() as conn:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        assert any("ix_chats_due" in row[-1] for row in plan), plan
    finally:
        store.close()


def test_list_chats(store):
    make_chat(store, 2)
    make_chat(store, 1)
    store.deactivate_chat(2, "blocked")
    assert [chat.chat_id for chat in store.list_chats()] == [1]
    assert [chat.chat_id for chat in store.list_chats(active_only=False)] == [1, 2]


# -- subscriptions ----------------------------------------------------------------------------


def test_subscriptions_add_list_remove_clear(store):
    make_chat(store, 1, subscribe=False)
    make_chat(store, 2, subscribe=False)
    assert store.add_subscription(1, QUANTUM) is True
    assert store.add_subscription(1, QUANTUM) is False
    assert store.add_subscription(1, SATELLITE) is True
    tricky = Subscription("keywords", "'; DROP TABLE chats; --")
    assert store.add_subscription(2, tricky) is True
    assert store.list_subscriptions(1) == [QUANTUM, SATELLITE]
    assert store.subscriptions_for([1, 2, 3]) == {1: [QUANTUM, SATELLITE], 2: [tricky], 3: []}
    assert store.remove_subscription(1, QUANTUM) is True
    assert store.remove_subscription(1, QUANTUM) is False
    assert store.clear_subscriptions(1) == 1
    assert store.clear_subscriptions(1) == 0
    assert store.list_subscriptions(1) == []
    assert store.list_subscriptions(2) == [tricky]


def test_subscriptions_for_many_chats_in_batches(store, monkeypatch):
    monkeypatch.setattr(chat_queries, "_IN_CHUNK", 4)  # several IN batches with few chats
    for chat_id in range(15):
        make_chat(store, chat_id, subscribe=chat_id % 3 == 0)
    found = store.subscriptions_for(list(range(16)))
    assert len(found) == 16
    assert [chat_id for chat_id, subs in found.items() if subs == [QUANTUM]] == [0, 3, 6, 9, 12]


def test_subscription_needs_a_known_chat_and_a_valid_kind(store):
    with pytest.raises(UnknownChat):
        store.add_subscription(5, QUANTUM)
    make_chat(store, 5, subscribe=False)
    with pytest.raises(ValueError, match="kind"):
        store.add_subscription(5, Subscription("regex", ".*"))
    with pytest.raises(ValueError, match="empty"):
        store.add_subscription(5, Subscription("keywords", "  "))


# -- articles ---------------------------------------------------------------------------------


def test_an_article_is_stored_once(store):
    first = make_articles(store, 3)
    assert len(first) == 3
    assert make_articles(store, 4) == make_article_ids(4)[3:]
    assert make_articles(store, 4) == []
    assert store.stats().articles == 4


def make_article_ids(count: int) -> list[str]:
    return [
        Article.create(source="x", title="", paragraphs=[], url=f"https://example.org/{number}").id
        for number in range(count)
    ]


def test_duplicates_within_one_batch_keep_the_first_copy(store):
    article = Article.create(source="a", title="Same", paragraphs=["Text."])
    copy = Article.create(source="b", title="Same", paragraphs=["Text."])
    assert article.id == copy.id
    inserted = store.add_articles(
        [(article, Digest(article.id, ("one",))), (copy, Digest(copy.id, ("two",)))], NOW
    )
    assert inserted == [article.id]
    (stored,) = store.get_articles([article.id])
    assert stored.article.source == "a" and stored.digest.bullets == ("one",)


def test_articles_round_trip_every_field(store):
    article = Article(
        id="a1",
        source="/srv/news/中文.txt",
        title="Quantum <b>link</b> — 量子 “quotes”",
        paragraphs=("First paragraph.", "Second, with emoji 🛰️ and RTL עברית."),
        url=None,
        published=None,
        tags=("science", "上海"),
    )
    digest = Digest("a1", ("Bullet one.", "Bullet two."), ("quantum",), ("qubit", "link"), "lead")
    fetched = datetime(2026, 3, 1, 12, 30, 1, 5, tzinfo=timezone(timedelta(hours=-5)))
    assert store.add_articles([(article, digest)], fetched) == ["a1"]
    (stored,) = store.get_articles(["a1"])
    assert stored.article == article
    assert stored.digest == digest
    assert stored.fetched_at == fetched and stored.fetched_at.tzinfo is UTC


def test_add_articles_checks_its_input(store):
    article = Article.create(source="a", title="T", paragraphs=["x"])
    with pytest.raises(ValueError, match="digest for"):
        store.add_articles([(article, Digest("other", ()))], NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.add_articles([(article, Digest(article.id, ()))], datetime(2026, 1, 1))
    assert store.known_article_ids([article.id]) == set()


def test_known_and_get_articles(store):
    ids = make_articles(store, 3)
    assert store.known_article_ids([ids[0], "missing", ids[2]]) == {ids[0], ids[2]}
    got = store.get_articles([ids[2], "missing", ids[0], ids[2]])
    assert [stored.article.id for stored in got] == [ids[2], ids[0]]


def test_recent_articles_newest_first(store):
    old = make_articles(store, 2, fetched_at=NOW - timedelta(days=3))  # published: -0h, -1h
    new_article = Article.create(source="s", title="New", paragraphs=["n"])
    undated = Article.create(source="s", title="Undated", paragraphs=["u"])
    store.add_articles(
        [(undated, Digest(undated.id, ())), (new_article, Digest(new_article.id, ()))], NOW
    )
    recent = [stored.article.id for stored in store.recent_articles(None, 10)]
    assert recent[2:] == old  # older fetch last; within it, newer publication first
    assert set(recent[:2]) == {new_article.id, undated.id}
    since = [stored.article.id for stored in store.recent_articles(NOW - timedelta(days=1), 10)]
    assert set(since) == {new_article.id, undated.id}
    assert len(store.recent_articles(None, 3)) == 3


def test_update_digests_replaces_the_cached_digest(store, caplog):
    (article_id,) = make_articles(store, 1)
    new = Digest(article_id, ("Shorter.",), ("space",), ("orbit",), "textrank")
    store.update_digests([new, Digest("unknown-id", ("x",))])
    (stored,) = store.get_articles([article_id])
    assert stored.digest == new
    assert "1 digests name articles not in the store" in caplog.text
    assert store.known_article_ids(["unknown-id"]) == set()


# -- deliveries and the outbox ----------------------------------------------------------------


def test_enqueue_digest_records_everything_in_one_go(store):
    make_chat(store, 1)
    ids = make_articles(store, 3)
    digest_id = store.enqueue_digest(1, ids, ["part one", "part two"], True, NOW, LATER)
    assert isinstance(digest_id, int)
    messages = store.pending_messages(NOW, 10)
    assert messages == [
        OutboxMessage(messages[0].id, 1, digest_id, 1, 2, "part one", True, 0),
        OutboxMessage(messages[1].id, 1, digest_id, 2, 2, "part two", True, 0),
    ]
    assert messages[0].id < messages[1].id
    chat = store.get_chat(1)
    assert (chat.last_digest_at, chat.next_digest_at) == (NOW, LATER)
    assert store.delivered_article_ids([1, 2], ids) == {1: set(ids), 2: set()}
    assert store.count_pending() == 2


def test_a_digest_sent_directly_waits_before_the_background_sender(store):
    make_chat(store, 1)
    ids = make_articles(store, 2)
    grace = NOW + timedelta(minutes=2)
    digest_id = store.enqueue_digest(1, ids, ["one", "two"], False, NOW, LATER, not_before=grace)
    assert store.pending_messages(NOW, 10) == []
    first, second = store.digest_messages(digest_id)
    assert [(m.part, m.text) for m in (first, second)] == [(1, "one"), (2, "two")]
    store.mark_sent(first.id, 10, NOW)
    assert store.digest_messages(digest_id) == [second]
    assert store.pending_messages(grace, 10) == [second]
    assert store.digest_messages(digest_id + 1) == []


def test_an_article_is_never_recorded_twice_for_a_chat(store):
    make_chat(store, 1)
    ids = make_articles(store, 3)
    assert store.enqueue_digest(1, ids[:2], ["first"], False, NOW, LATER) is not None
    before = (store.stats(), store.get_chat(1))
    again = store.enqueue_digest(1, ids[1:], ["second"], False, LATER, LATER + timedelta(days=1))
    assert again is None
    assert (store.stats(), store.get_chat(1)) == before  # nothing written, schedule included
    assert store.enqueue_digest(1, ids[2:], ["third"], False, LATER, LATER) is not None


def test_the_database_itself_refuses_a_second_delivery(store):
    make_chat(store, 1)
    ids = make_articles(store, 1)
    digest_id = store.enqueue_digest(1, ids, ["m"], False, NOW, LATER)
    row = {"chat_id": 1, "article_id": ids[0], "digest_id": digest_id, "created_at": NOW}
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(insert(deliveries).values(**row))


def test_an_unknown_article_is_refused_and_rolls_back_everything(store):
    make_chat(store, 1)
    ids = make_articles(store, 1)
    before = (store.stats(), store.get_chat(1), count_rows(store, chat_digests))
    with pytest.raises(ValueError, match="articles not in the store: ghost"):
        store.enqueue_digest(1, [ids[0], "ghost"], ["m"], False, LATER, None)
    assert (store.stats(), store.get_chat(1), count_rows(store, chat_digests)) == before


def test_conflicts_name_the_constraint_on_both_engines(store):
    make_chat(store, 1)
    ids = make_articles(store, 1)
    digest_id = store.enqueue_digest(1, ids, ["m"], False, NOW, LATER)
    row = {"chat_id": 1, "article_id": ids[0], "digest_id": digest_id, "created_at": NOW}
    with pytest.raises(Conflict) as caught, store._transaction(write=True) as conn:
        conn.execute(insert(deliveries).values(**row))
    assert caught.value.constraint == DELIVERY_KEY
    with pytest.raises(Conflict) as caught, store._transaction(write=True) as conn:
        conn.execute(insert(deliveries).values(**{**row, "article_id": "ghost"}))
    assert caught.value.constraint in ("foreign key", "deliveries_article_id_fkey")


def test_racing_rounds_record_an_article_once(store):
    make_chat(store, 1)
    ids = make_articles(store, 1)
    barrier = threading.Barrier(6)
    results: list[int | None] = []

    def enqueue() -> None:
        barrier.wait()
        results.append(store.enqueue_digest(1, ids, ["m"], False, NOW, LATER))

    threads = [threading.Thread(target=enqueue) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result is not None for result in results) == 1
    assert store.count_pending() == 1
    assert count_rows(store, chat_digests) == 1


def test_enqueue_digest_edge_cases(store):
    make_chat(store, 1)
    ids = make_articles(store, 2)
    # Repeated ids in one call are one delivery, not a conflict with itself.
    assert store.enqueue_digest(1, [ids[0], ids[0]], ["m"], False, NOW, LATER) is not None
    assert store.stats().deliveries == 1
    # Nothing to send: only the schedule moves.
    later_still = LATER + timedelta(days=1)
    assert store.enqueue_digest(1, [], [], False, LATER, later_still) is None
    assert store.get_chat(1).next_digest_at == later_still
    assert store.get_chat(1).last_digest_at == NOW
    with pytest.raises(ValueError, match="both be given"):
        store.enqueue_digest(1, [], ["text without articles"], False, NOW, LATER)
    with pytest.raises(ValueError, match="both be given"):
        store.enqueue_digest(1, ids[1:], [], False, NOW, LATER)
    assert store.stats().deliveries == 1


def test_enqueue_digest_for_a_chat_that_is_gone_or_inactive(store):
    ids = make_articles(store, 1)
    assert store.enqueue_digest(404, ids, ["m"], False, NOW, LATER) is None
    make_chat(store, 1)
    store.deactivate_chat(1, "kicked")
    assert store.enqueue_digest(1, ids, ["m"], False, NOW, LATER) is None
    assert store.stats().deliveries == 0


def test_advance_schedule(store):
    make_chat(store, 1)
    store.advance_schedule(1, LATER, NOW)
    chat = store.get_chat(1)
    assert (chat.next_digest_at, chat.last_digest_at) == (LATER, None)
    store.advance_schedule(404, LATER, NOW)  # a deleted chat is no error


def queue_three_messages(store, *, second_chat_preview: bool) -> list[OutboxMessage]:
    """Chat 1 gets a two-part digest ("1a", "1b"), chat 2 a one-part one ("2a"); all pending."""
    make_chat(store, 1)
    make_chat(store, 2)
    ids = make_articles(store, 2)
    store.enqueue_digest(1, ids[:1], ["1a", "1b"], False, NOW, LATER)
    store.enqueue_digest(2, ids[1:], ["2a"], second_chat_preview, NOW, LATER)
    return store.pending_messages(NOW, 10)


def test_pending_messages_order_readiness_and_marks(store, caplog):
    first, second, third = queue_three_messages(store, second_chat_preview=True)
    assert [m.text for m in (first, second, third)] == ["1a", "1b", "2a"]
    assert [m.text for m in store.pending_messages(NOW, 2)] == ["1a", "1b"]
    assert store.pending_messages(NOW - timedelta(seconds=1), 10) == []  # not before `now`

    store.mark_sent(first.id, 555, NOW)
    store.mark_retry(second.id, NOW + timedelta(minutes=1), "429: retry after 60")
    assert [m.text for m in store.pending_messages(NOW, 10)] == ["2a"]
    (retried, _) = store.pending_messages(NOW + timedelta(minutes=1), 10)
    assert (retried.id, retried.attempts) == (second.id, 1)
    store.mark_failed(third.id, "400: bad request")
    store.mark_retry(third.id, NOW, "ignored: already failed")
    assert store.count_pending() == 1
    stats = store.stats()
    assert (stats.outbox_pending, stats.outbox_sent, stats.outbox_failed) == (1, 1, 1)
    with store.engine.connect() as conn:
        row = conn.execute(select(outbox).where(outbox.c.id == first.id)).one()
    assert (row.status, row.telegram_message_id, row.sent_at) == ("sent", 555, NOW)

    store.mark_sent(999_999, 1, NOW)  # a message of a deleted chat: logged, no error
    assert "999999 no longer exists" in caplog.text


def test_deactivate_chat_fails_its_pending_messages_and_keeps_them_counted(store):
    make_chat(store, 1)
    make_chat(store, 2)
    ids = make_articles(store, 2)
    store.enqueue_digest(1, ids[:1], ["a", "b"], False, NOW, LATER)
    store.enqueue_digest(2, ids[1:], ["other"], False, NOW, LATER)
    store.mark_sent(store.pending_messages(NOW, 1)[0].id, 1, NOW)
    store.deactivate_chat(1, "403: bot was blocked by the user")
    assert [m.chat_id for m in store.pending_messages(NOW, 10)] == [2]
    stats = store.stats()
    assert (stats.outbox_pending, stats.outbox_sent, stats.outbox_failed) == (1, 1, 1)
    assert (stats.chats_total, stats.chats_active) == (2, 1)
    with store.engine.connect() as conn:
        errors = conn.scalars(select(outbox.c.last_error).where(outbox.c.status == "failed"))
        assert list(errors) == ["403: bot was blocked by the user"]
    assert store.due_chats(NOW) == []  # chat 2 was advanced to LATER, chat 1 is inactive


def test_migrate_chat_moves_everything_to_the_new_id(store):
    old, new = -4001, -1004001
    make_chat(store, old)
    store.add_subscription(old, SATELLITE)
    store.update_chat(old, bullets=5, frequency="weekly", weekday=2)
    ids = make_articles(store, 1)
    store.enqueue_digest(old, ids, ["pending"], False, NOW, LATER)
    store.migrate_chat(old, new)
    assert store.get_chat(old) is None
    chat = store.get_chat(new)
    assert (chat.chat_type, chat.bullets, chat.frequency, chat.weekday) == (
        "supergroup",
        5,
        "weekly",
        2,
    )
    assert (chat.next_digest_at, chat.last_digest_at) == (LATER, NOW)
    assert store.list_subscriptions(new) == [QUANTUM, SATELLITE]
    assert store.delivered_article_ids([new], ids) == {new: set(ids)}
    assert [(m.chat_id, m.text) for m in store.pending_messages(NOW, 10)] == [(new, "pending")]
    assert store.enqueue_digest(new, ids, ["again"], False, LATER, None) is None


def test_migrate_chat_merges_into_an_existing_new_chat(store):
    old, new = -4002, -1004002
    make_chat(store, old)
    store.update_chat(old, bullets=4)
    ids = make_articles(store, 2)
    store.enqueue_digest(old, ids, ["old digest"], False, NOW, LATER)
    make_chat(store, new)  # the supergroup spoke first: default settings, same subscription
    store.add_subscription(new, SATELLITE)
    store.migrate_chat(old, new)
    assert store.get_chat(new).bullets == 4  # the settings people chose win
    assert store.list_subscriptions(new) == [QUANTUM, SATELLITE]
    assert store.delivered_article_ids([new], ids)[new] == set(ids)
    assert store.stats().chats_total == 1
    store.migrate_chat(12345, 54321)  # unknown chat: nothing to do
    assert store.get_chat(54321) is None


def test_delete_chat_forgets_everything_about_it(store):
    make_chat(store, 1)
    make_chat(store, 2)
    ids = make_articles(store, 1)
    store.enqueue_digest(1, ids, ["m1"], False, NOW, LATER)
    store.enqueue_digest(2, ids, ["m2"], False, NOW, LATER)
    store.delete_chat(1)
    assert store.get_chat(1) is None
    assert store.list_subscriptions(1) == []
    assert store.delivered_article_ids([1, 2], ids) == {1: set(), 2: set(ids)}
    assert [m.chat_id for m in store.pending_messages(NOW, 10)] == [2]
    stats = store.stats()
    assert (stats.chats_total, stats.subscriptions, stats.deliveries, stats.outbox_pending) == (
        1,
        1,
        1,
        1,
    )
    assert stats.articles == 1  # articles are shared, not the chat's
    make_chat(store, 1)  # a new start is a clean slate
    assert store.enqueue_digest(1, ids, ["fresh"], False, NOW, LATER) is not None


def test_delivered_article_ids_in_batches(store, monkeypatch):
    monkeypatch.setattr(outbox_queries, "_IN_CHUNK", 2)  # several batches of chats and articles
    ids = make_articles(store, 5)
    for chat_id in range(1, 8):
        make_chat(store, chat_id)
        store.enqueue_digest(chat_id, ids[chat_id % 5 :][:2], ["m"], False, NOW, LATER)
    delivered = store.delivered_article_ids(list(range(1, 9)), ids)
    assert len(delivered) == 8 and delivered[8] == set()
    assert delivered[1] == {ids[1], ids[2]} and delivered[4] == {ids[4]}
    assert delivered[5] == {ids[0], ids[1]}
    assert store.delivered_article_ids([1], []) == {1: set()}


# -- sources and stats ------------------------------------------------------------------------


def test_record_fetch_tracks_failures_and_validators(store):
    assert store.get_source_state("feed") is None
    store.record_fetch(
        "feed",
        at=NOW,
        ok=True,
        etag='"v1"',
        last_modified="Mon, 02 Mar 2026 00:00:00 GMT",
        next_attempt_at=NOW + timedelta(minutes=15),
    )
    store.record_fetch(
        "feed", at=LATER, ok=False, error="timeout after 20 s", next_attempt_at=LATER
    )
    store.record_fetch("feed", at=LATER, ok=False, error="HTTP 503", next_attempt_at=LATER)
    state = store.get_source_state("feed")
    assert (state.consecutive_failures, state.last_error) == (2, "HTTP 503")
    assert (state.last_fetch_at, state.last_success_at) == (LATER, NOW)
    assert state.etag == '"v1"'  # a failure keeps the validators
    store.record_fetch("feed", at=LATER, ok=True)  # 304: no validators repeated
    state = store.get_source_state("feed")
    assert (state.consecutive_failures, state.last_error, state.etag) == (0, None, '"v1"')
    assert state.last_modified == "Mon, 02 Mar 2026 00:00:00 GMT"
    store.record_fetch("another", at=NOW, ok=True, etag='"new"')
    assert [s.name for s in store.source_states()] == ["another", "feed"]


def test_stats_counts_everything(store):
    make_chat(store, 1)
    make_chat(store, 2, subscribe=False)
    store.add_subscription(1, SATELLITE)
    ids = make_articles(store, 2)
    store.enqueue_digest(1, ids, ["a", "b"], False, NOW, LATER)
    stats = store.stats()
    assert (stats.chats_total, stats.chats_active, stats.subscriptions) == (2, 2, 2)
    assert (stats.articles, stats.deliveries, stats.outbox_pending) == (2, 2, 2)
    assert (stats.outbox_sent, stats.outbox_failed) == (0, 0)


# -- broken databases -------------------------------------------------------------------------


def test_a_corrupt_sqlite_file_is_reported_and_left_alone(tmp_path):
    path = tmp_path / "corrupt.db"
    garbage = b"this is not a database, just garbage bytes \x00\xff" * 200
    path.write_bytes(garbage)
    store = Store.from_url(f"sqlite:///{path}")
    try:
        with pytest.raises(StoreUnavailable) as caught:
            store.migrate()
        assert str(path) in str(caught.value)
        assert "corrupt or not an SQLite database" in str(caught.value)
        with pytest.raises(StoreUnavailable, match="corrupt"):
            store.get_chat(1)
    finally:
        store.close()
    assert path.read_bytes() == garbage


def test_a_locked_sqlite_file_is_reported_and_recovers(tmp_path):
    path = tmp_path / "locked.db"
    Store.from_url(f"sqlite:///{path}").migrate()
    store = Store.from_url(f"sqlite:///{path}", busy_timeout=0.1)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process writing
        with pytest.raises(StoreUnavailable) as caught:
            store.ensure_chat(1, "private", "x", ChatDefaults(), NOW)
        assert str(path) in str(caught.value) and "locked" in str(caught.value)
        assert store.get_chat(1) is None  # WAL: readers still read
        holder.execute("ROLLBACK")
        assert store.ensure_chat(1, "private", "x", ChatDefaults(), NOW).active
    finally:
        holder.close()
        store.close()


def test_an_exclusively_locked_sqlite_file_is_reported(tmp_path):
    path = tmp_path / "exclusive.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("CREATE TABLE hold (x)")  # takes and keeps the exclusive lock
    store = Store.from_url(f"sqlite:///{path}", busy_timeout=0.1)
    try:
        with pytest.raises(StoreUnavailable, match="locked") as caught:
            store.migrate()
        assert str(path) in str(caught.value)
    finally:
        holder.close()
        store.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_postgres_is_reported_without_the_password():
    password = "s3cret-Pa55word"  # noqa: S105
    url = f"postgresql://digest:{password}@127.0.0.1:{closed_port()}/news"
    store = Store.from_url(url, connect_timeout=2)
    try:
        assert password not in store.description
        assert password not in repr(store._db) and password not in repr(store.engine)
        with pytest.raises(StoreUnavailable) as caught:
            store.migrate()
    finally:
        store.close()
    message = str(caught.value)
    assert "PostgreSQL database news on 127.0.0.1" in message and "as digest" in message
    everything = "".join(traceback.format_exception(caught.value))
    assert password not in everything


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root:hunter2@localhost/db", "unsupported database URL scheme 'mysql'"),
        ("not a url hunter2", "cannot parse the database URL"),
        ("postgresql+asyncpg://u:hunter2@h/db", "unsupported database URL scheme"),
    ],
)
def test_bad_urls_are_refused_clearly(url, message):
    with pytest.raises(StoreError, match=message) as caught:
        Store.from_url(url)
    assert "hunter2" not in str(caught.value)


@pytest.mark.postgres
def test_postgres_reconnects_after_its_connections_are_killed(postgres_base_url):
    base_url = postgres_base_url
    with postgres_schema(base_url) as url:
        app_name = f"store-recovery-{secrets.token_hex(4)}"
        named = make_url(url).update_query_dict({"application_name": app_name})
        store = Store.from_url(named.render_as_string(hide_password=False))
        try:
            store.migrate()
            make_chat(store, 1)
            assert store.list_subscriptions(1) == [QUANTUM]
            with psycopg.connect(libpq_url(base_url), autocommit=True) as admin:
                killed = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = %s",
                    (app_name,),
                ).fetchone()[0]
            assert killed >= 1
            # pool_pre_ping replaces the dead connections: the very next calls work.
            assert store.get_chat(1).active
            assert store.add_subscription(1, SATELLITE)
            assert store.list_subscriptions(1) == [QUANTUM, SATELLITE]
        finally:
            store.close()


@pytest.mark.postgres
def test_postgres_killed_mid_transaction_fails_cleanly_then_recovers(postgres_base_url):
    base_url = postgres_base_url
    with postgres_schema(base_url) as url:
        store = Store.from_url(url)
        try:
            store.migrate()
            make_chat(store, 1)

            @event.listens_for(store.engine, "before_cursor_execute")
            def kill_own_backend(conn, cursor, statement, parameters, context, executemany):
                if statement.startswith("INSERT INTO subscriptions"):
                    event.remove(store.engine, "before_cursor_execute", kill_own_backend)
                    pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
                    with psycopg.connect(libpq_url(base_url), autocommit=True) as admin:
                        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

            with pytest.raises(StoreUnavailable, match="unreachable or went away"):
                store.add_subscription(1, SATELLITE)
            assert store.list_subscriptions(1) == [QUANTUM]  # rolled back, nothing half-done
            assert store.add_subscription(1, SATELLITE)
        finally:
            store.close()


# -- AsyncStore -------------------------------------------------------------------------------


def public_methods(cls) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def test_async_store_mirrors_every_store_method():
    # Store.transaction and AsyncStore.run serve query modules beside the store (user sources).
    sync_methods = {k: v for k, v in public_methods(Store).items() if k != "transaction"}
    async_methods = {k: v for k, v in public_methods(AsyncStore).items() if k != "run"}
    assert set(async_methods) == set(sync_methods)
    for name, signature in sync_methods.items():
        assert inspect.iscoroutinefunction(getattr(AsyncStore, name)), name
        assert str(async_methods[name]) == str(signature), name


async def test_async_store_runs_the_store_off_the_event_loop(async_store):
    loop_thread = threading.get_ident()
    seen_threads: set[int] = set()

    @event.listens_for(async_store.store.engine, "before_cursor_execute")
    def record_thread(*_args):
        seen_threads.add(threading.get_ident())

    await async_store.ensure_chat(1, "group", "Team", ChatDefaults(), NOW)
    subs = [Subscription("keywords", f"word {n}") for n in range(20)]
    added = await asyncio.gather(*(async_store.add_subscription(1, sub) for sub in subs))
    assert all(added)
    assert len(await async_store.list_subscriptions(1)) == 20
    assert (await async_store.stats()).subscriptions == 20
    assert loop_thread not in seen_threads
    with pytest.raises(UnknownChat):
        await async_store.update_chat(2, bullets=1)


async def test_async_store_works_with_an_in_memory_database():
    store = AsyncStore(Store.from_url("sqlite:///:memory:"))
    try:
        await store.migrate()
        await store.ensure_chat(1, "private", "me", ChatDefaults(), NOW)
        assert (await store.get_chat(1)).title == "me"
        assert await store.schema_version() == MIGRATIONS[-1].version
    finally:
        await store.close()
        await store.close()


def test_every_test_starts_from_an_empty_database_of_its_own(store):
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM chats")).scalar_one() == 0
        if store.dialect == "postgresql":
            assert conn.execute(text("SELECT current_schema()")).scalar_one().startswith("test_")


def test_a_later_part_waits_while_an_earlier_part_of_its_digest_is_held_back(store):
    from datetime import UTC, datetime, timedelta

    from bot.store import ChatDefaults
    from summaries.models import Article, Digest

    now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    store.ensure_chat(77, "private", "Reader", ChatDefaults(), now)
    article = Article.create(source="s", title="t", paragraphs=("Body text here.",))
    store.add_articles([(article, Digest(article.id, ("Body text here.",)))], now)
    digest_id = store.enqueue_digest(77, [article.id], ["part one", "part two"], False, now, None)
    assert digest_id is not None
    first, _second = store.digest_messages(digest_id)
    store.mark_retry(first.id, now + timedelta(minutes=5), "429")
    assert store.pending_messages(now + timedelta(minutes=1), 10) == []
    due = store.pending_messages(now + timedelta(minutes=6), 10)
    assert [message.text for message in due] == ["part one", "part two"]


def test_mark_sent_many_records_a_batch_whatever_the_status(store, caplog):
    first, second, third = queue_three_messages(store, second_chat_preview=False)
    store.deactivate_chat(2, "403: bot was blocked by the user")  # third failed meanwhile
    later = NOW + timedelta(seconds=1)
    store.mark_sent_many([(first.id, 7, NOW), (third.id, 9, later), (999_999, 1, NOW)])
    assert [m.id for m in store.pending_messages(NOW, 10)] == [second.id]
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.id, outbox.c.status, outbox.c.telegram_message_id, outbox.c.sent_at)
            .where(outbox.c.id.in_([first.id, third.id]))
            .order_by(outbox.c.id)
        ).all()
    assert [tuple(r) for r in rows] == [(first.id, "sent", 7, NOW), (third.id, "sent", 9, later)]
    assert "1 of 3 sent outbox messages no longer exist" in caplog.text
    store.mark_sent_many([])  # nothing to do


def test_a_transaction_postgres_broke_off_is_named_as_a_conflict_not_an_outage():
    """A deadlock or serialization failure is another transaction's doing, retried later like
    an outage, but the log must not say the database went away."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    from bot.store.engine import Database, translate_error

    database = Database(create_engine("sqlite://"), "postgresql", "PostgreSQL db", 5.0)
    for cause in (
        psycopg.errors.DeadlockDetected("deadlock detected"),
        psycopg.errors.SerializationFailure("could not serialize access"),
    ):
        error = translate_error(OperationalError("UPDATE outbox", {}, cause), database)
        assert isinstance(error, StoreUnavailable)
        assert "went away" not in str(error)
        assert "conflicted with another" in str(error) and str(cause) in str(error)
