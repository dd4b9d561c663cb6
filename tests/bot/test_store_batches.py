"""The article_topics index, window queries and batched digest recording, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from bot.store import ChatDefaults, QueuedDigest, Store, Subscription
from bot.store.schema import chat_digests, deliveries, outbox
from summaries.models import Article, Digest

NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def add(store: Store, number: int, topics: tuple[str, ...], at: datetime) -> str:
    article = Article.create(
        source="feed", title=f"Story {number}", paragraphs=[f"Body {number}."], url=f"u{number}"
    )
    store.add_articles([(article, Digest(article.id, ("B.",), topics))], at)
    return article.id


def make_chat(store: Store, chat_id: int) -> None:
    store.ensure_chat(chat_id, "private", "c", ChatDefaults(), NOW)
    store.add_subscription(chat_id, Subscription("topic", "quantum"))


def count(store: Store, table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_topics_are_indexed_when_stored_and_when_digests_change(store: Store):
    old = add(store, 1, ("quantum",), NOW - timedelta(days=10))
    first = add(store, 2, ("quantum", "ai"), NOW - timedelta(hours=2))
    second = add(store, 3, ("ai",), NOW - timedelta(hours=1))
    since = NOW - timedelta(days=7)
    assert store.topic_article_ids(["quantum", "ai", "art"], since) == {
        "quantum": [first],
        "ai": [second, first],
        "art": [],
    }
    assert store.window_article_ids(since) == [second, first]
    store.update_digests([Digest(second, ("B.",), ("quantum",))])
    assert store.topic_article_ids(["quantum", "ai"], since) == {
        "quantum": [second, first],
        "ai": [first],
    }
    assert store.topic_article_ids(["quantum"], NOW - timedelta(days=30))["quantum"][-1] == old


def test_delivered_in_window_counts_only_articles_still_in_the_window(store: Store):
    make_chat(store, 1)
    old = add(store, 1, ("quantum",), NOW - timedelta(days=10))
    new = add(store, 2, ("quantum",), NOW)
    store.enqueue_digest(1, [old, new], ["m"], False, NOW, None)
    assert store.delivered_in_window([1, 2], NOW - timedelta(days=7)) == {1: {new}, 2: set()}


def test_a_batch_records_each_chat_all_or_nothing(store: Store):
    for chat_id in (1, 2, 3, 4):
        make_chat(store, chat_id)
    store.deactivate_chat(4, "blocked")
    a, b = add(store, 1, ("quantum",), NOW), add(store, 2, ("quantum",), NOW)
    store.enqueue_digest(2, [b], ["earlier"], False, NOW, None)  # chat 2 already has b
    following = NOW + timedelta(days=1)
    items = [
        QueuedDigest(1, (a, b), ("one", "two"), True, following),
        QueuedDigest(2, (a, b), ("x",), False, following),  # b again: refused whole
        QueuedDigest(3, (), (), False, following),  # nothing new: the schedule moves
        QueuedDigest(4, (a,), ("y",), False, following),  # inactive
    ]

    recorded = store.enqueue_digests(items, NOW)

    assert recorded[1] is not None and recorded[2] is None
    assert recorded[3] is None and recorded[4] is None
    assert [m.text for m in store.digest_messages(recorded[1])] == ["one", "two"]
    assert store.delivered_article_ids([1, 2], [a, b]) == {1: {a, b}, 2: {b}}
    assert store.get_chat(1).next_digest_at == following
    assert store.get_chat(1).last_digest_at == NOW
    assert store.get_chat(2).next_digest_at is None  # as the earlier digest left it
    assert store.get_chat(3).next_digest_at == following
    assert (count(store, chat_digests), count(store, deliveries), count(store, outbox)) == (
        2,
        3,
        3,
    )


def test_a_batch_refuses_a_chat_twice_and_mismatched_articles(store: Store):
    make_chat(store, 1)
    item = QueuedDigest(1, (), (), False, None)
    try:
        store.enqueue_digests([item, item], NOW)
    except ValueError as error:
        assert "twice" in str(error)
    else:
        raise AssertionError("a chat twice in a batch was accepted")
    try:
        store.enqueue_digests([QueuedDigest(1, ("a",), (), False, None)], NOW)
    except ValueError as error:
        assert "both" in str(error)
    else:
        raise AssertionError("articles without messages were accepted")


def test_a_round_never_overwrites_a_schedule_changed_after_it_read_the_chat(store: Store):
    """Attack finding: /time during a big round kept the round's stale next digest time."""
    make_chat(store, 1)
    make_chat(store, 2)
    article = add(store, 1, ("quantum",), NOW)
    due = NOW
    for chat_id in (1, 2):
        store.update_chat(chat_id, next_digest_at=due)
    round_next = NOW + timedelta(days=1)
    user_next = NOW + timedelta(hours=15, minutes=59)
    # The round read both chats (due at NOW); then chat 1's owner sent /time.
    store.update_settings(1, {"digest_time": time(15, 59)}, lambda chat: user_next)
    recorded = store.enqueue_digests(
        [
            QueuedDigest(1, (article,), ("m",), False, round_next, read_due_at=due),
            QueuedDigest(2, (article,), ("m",), False, round_next, read_due_at=due),
        ],
        NOW,
    )
    assert recorded[1] is not None and recorded[2] is not None  # both were due: both sent
    chat_1, chat_2 = store.get_chat(1), store.get_chat(2)
    assert chat_1 is not None and chat_2 is not None
    assert chat_1.next_digest_at == user_next  # the owner's change stands
    assert chat_2.next_digest_at == round_next
    assert chat_1.last_digest_at == NOW == chat_2.last_digest_at


def test_a_single_enqueue_also_keeps_a_schedule_changed_after_the_read(store: Store):
    make_chat(store, 1)
    article = add(store, 1, ("quantum",), NOW)
    store.update_chat(1, next_digest_at=NOW)
    user_next = NOW + timedelta(hours=3)
    store.update_settings(1, {"digest_time": time(3, 0)}, lambda chat: user_next)
    store.enqueue_digest(1, [article], ["m"], False, NOW, NOW + timedelta(days=1), read_due_at=NOW)
    chat = store.get_chat(1)
    assert chat is not None and chat.next_digest_at == user_next
