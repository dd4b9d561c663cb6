"""Retention: old message texts, deliveries and articles go; at most once stays true."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.config import Retention, load_settings
from bot.retention import prune_store
from bot.store import AsyncStore, ChatDefaults, Store, Subscription
from bot.store.schema import article_topics, articles, chat_digests, deliveries, outbox
from summaries.models import Article, Digest
from summaries.yamlfile import ConfigError

NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
POLICY = Retention(articles_days=30, deliveries_days=8, sent_messages_days=2)


def add(store: Store, number: int, at: datetime) -> str:
    article = Article.create(
        source="feed", title=f"Story {number}", paragraphs=[f"Body {number}."], url=f"u{number}"
    )
    store.add_articles([(article, Digest(article.id, ("B.",), ("quantum",)))], at)
    return article.id


def count(store: Store, table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def send(store: Store, chat_id: int, article_ids: list[str], at: datetime) -> int:
    digest_id = store.enqueue_digest(chat_id, article_ids, ["text"], False, at, None)
    assert digest_id is not None
    for message in store.digest_messages(digest_id):
        store.mark_sent(message.id, 1, at)
    return digest_id


async def test_pruning_keeps_the_window_pending_parts_and_named_articles(store: Store):
    store.ensure_chat(1, "private", "c", ChatDefaults(), NOW)
    store.add_subscription(1, Subscription("topic", "quantum"))
    ancient = add(store, 1, NOW - timedelta(days=40))  # delivered 39 days ago
    old = add(store, 2, NOW - timedelta(days=10))  # delivered 9 days ago
    recent = add(store, 3, NOW - timedelta(days=3))  # delivered 3 days ago, text kept 2 days
    fresh = add(store, 4, NOW - timedelta(hours=1))  # delivered now, still pending
    never_sent = add(store, 5, NOW - timedelta(days=31))  # no delivery: old enough to go
    send(store, 1, [ancient], NOW - timedelta(days=39))
    send(store, 1, [old], NOW - timedelta(days=9))
    send(store, 1, [recent], NOW - timedelta(days=3))
    store.enqueue_digest(1, [fresh], ["pending"], False, NOW, None)
    async_store = AsyncStore(store)
    try:
        report = await prune_store(async_store, POLICY, NOW, batch=1)
    finally:
        await async_store.close()

    assert (report.messages, report.digests, report.articles) == (3, 2, 2)
    with store.engine.connect() as conn:
        kept = set(conn.scalars(select(articles.c.id)))
        delivered = set(conn.scalars(select(deliveries.c.article_id)))
        texts = list(conn.scalars(select(outbox.c.text)))
    assert kept == {old, recent, fresh}  # `old` went out of the deliveries, stays 30 days
    assert ancient not in kept and never_sent not in kept
    assert delivered == {recent, fresh}
    assert texts == ["pending"]
    assert count(store, chat_digests) == 2
    assert count(store, article_topics) == 3
    # At most once holds for what is left in the window: the recent article is refused again.
    assert store.enqueue_digest(1, [recent], ["again"], False, NOW, None) is None


def write_config(tmp_path, retention: str):
    config = tmp_path / "config.yaml"
    body = f"""\
        bot:
          digest: {{lookback_days: 7}}
          retention: {retention}
        """
    config.write_text(textwrap.dedent(body), encoding="utf-8")
    return config


def test_retention_is_configured_and_checked_against_the_look_back_window(tmp_path):
    config = write_config(tmp_path, "{articles_days: 60, deliveries_days: 9, every_hours: 12}")
    retention = load_settings(config, environ={}).bot.retention
    assert retention == Retention(60, 9, 3, 12)
    config = write_config(tmp_path, "{deliveries_days: 3}")
    with pytest.raises(ConfigError, match=r"deliveries_days.*at least digest.lookback_days \(7\)"):
        load_settings(config, environ={})
    config = write_config(tmp_path, "{every_hours: 0}")
    with pytest.raises(ConfigError, match="every_hours"):
        load_settings(config, environ={})
    config = write_config(tmp_path, "{keep_forever: true}")
    with pytest.raises(ConfigError, match="keep_forever"):
        load_settings(config, environ={})
