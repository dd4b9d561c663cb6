"""Replies under faults, end to end: a dropped connection, a chat that answers 403, a huge
/start payload."""

from __future__ import annotations

import asyncio
import logging
import random

from tests.support import updates as build

ALICE = build.user(1001, "Alice")


def seed_dropping_only_the_first() -> int:
    """A seed for the fake's dropper (share 0.5) that drops the first send and not the next."""
    for seed in range(1000):
        draws = random.Random(seed)
        if draws.random() < 0.5 <= draws.random():
            return seed
    raise AssertionError("no such seed")


async def test_a_reply_on_a_dropped_connection_is_sent_again(running_bot):
    fake = running_bot.fake
    fake.drop_connections(0.5, seed=seed_dropping_only_the_first())
    reply = await running_bot.command(ALICE, "help")
    assert reply.text.startswith("<b>Commands</b>")
    assert fake.stats.dropped_before_recording == 1
    assert "something went wrong" not in " ".join(m.text for m in fake.sent(ALICE["id"]))


async def test_a_reply_refused_with_403_deactivates_the_chat_quietly(running_bot, caplog):
    fake, store = running_bot.fake, running_bot.services.store
    await running_bot.command(ALICE, "subscribe", "quantum")
    fake.block(ALICE["id"])  # blocked, but Telegram's my_chat_member update is not here yet
    caplog.clear()
    with caplog.at_level(logging.INFO):
        fake.command(build.private_chat(ALICE), ALICE, "list")

        async def inactive() -> bool:
            return not (await store.get_chat(ALICE["id"])).active

        for _ in range(1000):
            if await inactive():
                break
            await asyncio.sleep(0.01)
        assert await inactive()
    assert fake.stats.forbidden == 1  # no second message (an apology) was attempted
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]


async def test_a_huge_start_payload_is_quoted_short(running_bot):
    payload = "x" * 3900
    reply = await running_bot.command(ALICE, "start", payload)
    assert "bullet points" in reply.text
    assert "There is no topic “xxx" in reply.text
    assert len(reply.text) < 1500
    assert "something went wrong" not in reply.text


async def test_retry_counts_survive_a_restart(tmp_path):
    """Attempts stored by an earlier run count: after a restart the sender does not start
    over at zero and try a failing message another max_attempts times."""
    from datetime import UTC, datetime, timedelta

    from telegram.ext import ExtBot

    from bot.delivery import OutboxSender
    from bot.store import AsyncStore, ChatDefaults, Store
    from summaries.models import Article, Digest
    from tests.support.fake_bot_api import FakeBotApi

    now = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    store = Store.from_url(f"sqlite:///{tmp_path / 'restart.db'}")
    store.migrate()
    article = Article.create(source="t", title="T", paragraphs=["Body."], url=None)
    store.add_articles([(article, Digest(article.id, ("A bullet.",)))], now)
    store.ensure_chat(1, "private", "one", ChatDefaults(), now)
    store.enqueue_digest(1, [article.id], ["hello"], False, now, None)
    [message] = store.pending_messages(now, 10)
    for _ in range(2):  # the run before the restart failed twice
        store.mark_retry(message.id, now - timedelta(seconds=1), "502 Bad Gateway")
    async with FakeBotApi() as fake:
        bot = ExtBot(fake.token, base_url=fake.base_url)
        await bot.initialize()
        fake.fail_next(1000, status=502)
        sender = OutboxSender(
            bot,
            AsyncStore(store),
            max_attempts=3,
            backoff_base=0.01,
            backoff_cap=0.02,
            clock=lambda: datetime.now(UTC),
        )
        report = await sender.drain()
        await bot.shutdown()
    assert report.failed == 1
    assert fake.stats.requests["sendMessage"] == 1  # the third try, not three more
    store.close()
