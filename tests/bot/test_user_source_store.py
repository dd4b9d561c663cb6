"""User sources in the store, on SQLite and PostgreSQL: one row per URL, caps in-transaction."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from bot.store import ChatDefaults, Subscription
from bot.store.user_sources import SourceLimitReached, UserSourceStore

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
URL = "https://news.example/feed.xml"


@pytest.fixture
def sources(store) -> UserSourceStore:
    for chat_id in (1, 2, -5):
        kind = "private" if chat_id > 0 else "group"
        store.ensure_chat(chat_id, kind, f"chat {chat_id}", ChatDefaults(), NOW)
    return UserSourceStore(store)


def follow(sources: UserSourceStore, chat_id: int, url: str = URL, keywords: str = "", cap=10):
    return sources.follow(
        chat_id,
        url=url,
        kind="feed",
        title="News",
        keywords=keywords,
        added_by=chat_id,
        max_per_chat=cap,
        now=NOW,
    )


def test_many_chats_following_one_url_share_one_source(sources):
    first = follow(sources, 1)
    second = follow(sources, 2, keywords="quantum")
    again = follow(sources, 1, keywords="satellite")
    assert first.added and second.added and not again.added
    assert first.source.id == second.source.id == again.source.id
    assert sources.follower_ids(first.source.id) == [1, 2] or set(
        sources.follower_ids(first.source.id)
    ) == {1, 2}
    assert [(f.source.url, f.keywords) for f in sources.follows_of_chat(1)] == [(URL, "satellite")]
    assert sources.counts()[:2] == (1, 2)


def test_the_last_unfollow_removes_the_source(sources):
    source = follow(sources, 1).source
    follow(sources, 2)
    assert sources.unfollow(1, source.id) is not None
    assert sources.get(source.id) is not None
    assert sources.unfollow(1, source.id) is None  # not followed any more
    assert sources.unfollow(2, source.id) is not None
    assert sources.get(source.id) is None


def test_the_cap_per_chat_holds_under_concurrent_follows(sources):
    def one(index: int):
        try:
            return follow(sources, 1, url=f"https://s{index}.example/feed", cap=5)
        except SourceLimitReached:
            return None

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(40)))
    assert sum(result is not None for result in results) == 5
    assert len(sources.follows_of_chat(1)) == 5


def test_due_sources_skip_paused_and_wait_for_their_time(sources):
    source = follow(sources, 1).source
    assert [s.id for s in sources.due_sources(NOW, 10)] == [source.id]
    later = NOW + timedelta(minutes=30)
    sources.record_success(
        source.id,
        at=NOW,
        next_fetch_at=later,
        title="Better title",
        etag='"e1"',
        last_modified=None,
        seen_links=["https://news.example/a", "https://news.example/b"],
    )
    assert sources.due_sources(NOW, 10) == []
    stored = sources.get(source.id)
    assert (stored.title, stored.etag) == ("Better title", '"e1"')
    assert stored.seen_links == ("https://news.example/a", "https://news.example/b")
    assert sources.pause(source.id) is True
    assert sources.pause(source.id) is False  # only the first pause tells the followers
    assert sources.due_sources(later, 10) == []


def test_failures_remember_when_they_started(sources):
    source = follow(sources, 1).source
    first = sources.record_failure(source.id, at=NOW, error="HTTP 500", next_fetch_at=NOW)
    second = sources.record_failure(
        source.id, at=NOW + timedelta(hours=3), error="timed out", next_fetch_at=NOW
    )
    assert first.failing_since == second.failing_since == NOW
    assert second.last_error == "timed out"
    assert [s.id for s in sources.counts()[2]] == [source.id]


def test_adds_per_user_are_capped_per_hour(sources):
    assert all(sources.record_add_attempt(7, NOW, per_hour=3) for _ in range(3))
    assert not sources.record_add_attempt(7, NOW + timedelta(minutes=59), per_hour=3)
    assert sources.record_add_attempt(8, NOW, per_hour=3)
    assert sources.record_add_attempt(7, NOW + timedelta(minutes=61), per_hour=3)


def test_a_chat_that_only_follows_a_source_is_due(store, sources):
    assert 2 not in [chat.chat_id for chat in store.due_chats(NOW + timedelta(days=1))]
    follow(sources, 2, keywords="quantum")
    assert 2 in [chat.chat_id for chat in store.due_chats(NOW + timedelta(days=1))]
    assert store.list_subscriptions(2) == [Subscription("source", f"{URL} quantum")]
    assert store.remove_subscription(2, Subscription("source", f"{URL} quantum"))
    assert sources.follows_of_chat(2) == []


def test_unsubscribing_from_everything_includes_sources(store, sources):
    follow(sources, 1)
    store.add_subscription(1, Subscription("topic", "quantum"))
    assert store.clear_subscriptions(1) == 2
    assert store.list_subscriptions(1) == []


def test_deleting_a_chat_drops_its_follows(store, sources):
    source = follow(sources, 1).source
    store.add_subscription(1, Subscription("topic", "quantum"))
    store.delete_chat(1)
    assert sources.follows_of_chat(1) == []
    assert sources.follower_ids(source.id) == []


def test_a_migrated_group_keeps_its_sources(store, sources):
    follow(sources, -5)
    store.migrate_chat(-5, -1005)
    assert [f.source.url for f in sources.follows_of_chat(-1005)] == [URL]
