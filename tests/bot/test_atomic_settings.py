"""Caps and settings hold under concurrency: checks and writes share one transaction."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, time, timedelta

from bot.handlers.settings import apply_changes
from bot.handlers.subscriptions import MAX_SUBSCRIPTIONS, subscribe
from bot.rounds import send_now
from bot.schedule import next_digest_at
from bot.store import ChatDefaults, Store, Subscription
from tests.support import updates as build

ALICE = build.user(1001, "Alice")
NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def test_racing_threads_never_pass_the_subscription_cap(store: Store) -> None:
    store.ensure_chat(7, "private", "chat 7", ChatDefaults(), NOW)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def subscribe_many(worker: int) -> None:
        barrier.wait()
        for number in range(20):
            sub = Subscription("keywords", f"word{worker}x{number}")
            try:
                store.add_subscription(7, sub, limit=MAX_SUBSCRIPTIONS)
                outcomes.append("added")
            except Exception as error:  # noqa: BLE001 - the test counts refusals by name
                outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=subscribe_many, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.list_subscriptions(7)) == MAX_SUBSCRIPTIONS
    assert outcomes.count("added") == MAX_SUBSCRIPTIONS
    assert set(outcomes) == {"added", "SubscriptionLimitReached"}


async def test_concurrent_subscribe_commands_respect_the_cap(running_bot) -> None:
    running_bot.fake.command(build.private_chat(ALICE), ALICE, "start")
    await running_bot.fake.wait_for_messages(ALICE["id"])
    services = running_bot.services
    english = services.catalogs.get("en")
    chat = await services.store.get_chat(ALICE["id"])
    assert chat is not None
    answers = await asyncio.gather(
        *(
            subscribe(services, chat, Subscription("keywords", f"word{number}"), english)
            for number in range(120)
        )
    )
    assert len(await services.store.list_subscriptions(ALICE["id"])) == MAX_SUBSCRIPTIONS
    assert sum(answer.startswith("Subscribed") for answer in answers) == MAX_SUBSCRIPTIONS
    assert sum("/unsubscribe some first" in answer for answer in answers) == 70


async def test_concurrent_settings_keep_the_due_time_in_step(running_bot) -> None:
    running_bot.fake.command(build.private_chat(ALICE), ALICE, "start")
    await running_bot.fake.wait_for_messages(ALICE["id"])
    services = running_bot.services
    stale = await services.store.get_chat(ALICE["id"])
    assert stale is not None and stale.timezone == "Asia/Shanghai"
    # Both handlers read the chat before either writes, as concurrent commands do.
    await asyncio.gather(
        apply_changes(services, stale, timezone="UTC"),
        apply_changes(services, stale, digest_time=time(22, 17)),
    )
    chat = await services.store.get_chat(ALICE["id"])
    assert chat is not None
    assert (chat.timezone, chat.digest_time) == ("UTC", time(22, 17))
    expected = next_digest_at("daily", time(22, 17), "UTC", 0, running_bot.clock())
    assert chat.next_digest_at == expected


async def test_an_on_demand_digest_keeps_a_due_time_a_round_moved(running_bot) -> None:
    running_bot.fake.command(build.private_chat(ALICE), ALICE, "subscribe", "quantum")
    await running_bot.fake.wait_for_messages(ALICE["id"])
    services, now = running_bot.services, running_bot.clock()
    stale = await services.store.get_chat(ALICE["id"])
    assert stale is not None
    # A round runs between /digest reading the chat and recording its digest.
    moved = now + timedelta(days=1, hours=3)
    await services.store.advance_schedule(ALICE["id"], moved, now)
    [article] = [
        s for s in await services.store.recent_articles(None, 10) if "quantum" in s.digest.topics
    ]
    await send_now(
        running_bot.application.bot, services.store, stale, [article.article.id], ["digest"], now
    )
    chat = await services.store.get_chat(ALICE["id"])
    assert chat is not None and chat.next_digest_at == moved
