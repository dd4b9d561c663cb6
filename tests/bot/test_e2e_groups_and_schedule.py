"""Groups, scheduled digests on a driven clock, restarts, servers that refuse optional calls."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.app import Timing
from bot.ingest import ingest_due
from tests.bot.conftest import Clock, eventually, start_bot, stop_bot, ticking, write_config
from tests.support import updates as build

ALICE = build.user(1001, "Alice")


def rounds_every_tick(clock: Clock) -> Timing:
    """Digest rounds every 50 ms of real time (the clock decides what is due); no polling."""
    return Timing(
        round_seconds=0.05,
        poll_seconds=3600,
        first_round_seconds=0.01,
        first_poll_seconds=3600,
        clock=clock,
    )


BOB = build.user(1002, "Bob")
GROUP = build.group(-4001, "Shanghai readers")


async def test_only_group_admins_change_subscriptions(running_bot):
    fake = running_bot.fake
    fake.set_admins(GROUP["id"], [ALICE["id"]])
    refused = await running_bot.command(BOB, "subscribe", "quantum", chat=GROUP)
    assert "Only this group's administrators" in refused.text
    allowed = await running_bot.command(ALICE, "subscribe", "quantum", chat=GROUP)
    assert "Subscribed to topic" in allowed.text
    # Anyone may read: /list and /digest work for members too.
    listing = await running_bot.command(BOB, "list", chat=GROUP)
    assert "Quantum communication" in listing.text
    assert await running_bot.services.store.list_subscriptions(GROUP["id"]) != []


async def test_adding_the_bot_to_a_group_greets_it(running_bot):
    fake = running_bot.fake
    fake.bot_added_to_group(GROUP, ALICE)
    greeting = (await fake.wait_for_messages(GROUP["id"]))[0]
    assert "Hello, Shanghai readers!" in greeting.text
    assert greeting.reply_markup["inline_keyboard"]


async def test_scheduled_digest_arrives_at_local_time_once(fake, tmp_path, news_folder):
    clock = Clock(datetime(2026, 11, 25, 23, 0, tzinfo=UTC))  # 07:00 in Shanghai
    application = await start_bot(fake, write_config(tmp_path), clock, ticking(clock))
    try:
        # Fetched before the clock moves: a poll finishing after 08:00 would race the round.
        await ingest_due(application.bot_data["services"], clock(), force=True)
        fake.private_command(ALICE, "subscribe", "quantum")
        await fake.wait_for_messages(ALICE["id"])
        await asyncio.sleep(0.3)  # several rounds run: nothing is due before 08:00
        assert fake.sent(ALICE["id"])[-1].text.startswith("Subscribed")
        clock.now = datetime(2026, 11, 26, 0, 0, 30, tzinfo=UTC)  # 08:00:30 in Shanghai
        digest = (await fake.wait_for_messages(ALICE["id"], timeout=10))[0]
        assert "Quantum network links nine cities" in digest.text
        assert "Your digest" in digest.text
        await asyncio.sleep(0.3)
        assert len(fake.sent(ALICE["id"])) == 2  # no repeat in later rounds
    finally:
        await stop_bot(application)


async def test_a_digest_missed_while_down_comes_once_after_restart(fake, tmp_path, news_folder):
    clock = Clock(datetime(2026, 11, 25, 23, 0, tzinfo=UTC))
    config = write_config(tmp_path)
    application = await start_bot(fake, config, clock)
    fake.private_command(ALICE, "subscribe", "satellite")
    await fake.wait_for_messages(ALICE["id"])
    services = application.bot_data["services"]
    from bot.ingest import ingest_due

    await ingest_due(services, clock(), force=True)
    await stop_bot(application)

    clock.now += timedelta(days=3)  # down for three days: three 08:00 slots missed
    application = await start_bot(fake, config, clock, rounds_every_tick(clock))
    try:
        digest = (await fake.wait_for_messages(ALICE["id"], timeout=10))[0]
        assert "Satellite internet cluster plan" in digest.text
        await asyncio.sleep(0.3)
        assert len(fake.sent(ALICE["id"])) == 2
        chat = await application.bot_data["services"].store.get_chat(ALICE["id"])
        assert chat.next_digest_at > clock.now
    finally:
        await stop_bot(application)


async def test_bot_starts_when_the_server_refuses_optional_calls(fake, tmp_path, news_folder):
    fake.refuse("setMyCommands")
    fake.refuse("setMyDescription", 400)
    application = await start_bot(fake, write_config(tmp_path), Clock())
    try:
        fake.private_command(ALICE, "help")
        reply = (await fake.wait_for_messages(ALICE["id"]))[0]
        assert "/digest" in reply.text
    finally:
        await stop_bot(application)


async def test_restart_in_the_middle_of_a_round_delivers_each_article_once(
    fake, tmp_path, news_folder
):
    clock = Clock(datetime(2026, 11, 26, 0, 30, tzinfo=UTC))
    config = write_config(tmp_path)
    application = await start_bot(fake, config, clock)
    services = application.bot_data["services"]
    from bot.ingest import ingest_due
    from bot.rounds import digest_round
    from bot.store import Subscription

    await ingest_due(services, clock(), force=True)
    readers = [build.user(5000 + index, f"Reader{index}") for index in range(90)]
    for reader in readers:
        chat = await services.store.ensure_chat(
            reader["id"],
            "private",
            reader["first_name"],
            services.settings.bot.defaults,
            clock.now - timedelta(minutes=1),
        )
        await services.store.add_subscription(chat.chat_id, Subscription("topic", "quantum"))
        await services.store.add_subscription(chat.chat_id, Subscription("topic", "culture"))
    fake.slow_answers(0.05)
    await digest_round(services, clock())
    await eventually(lambda: len(fake.sent()) >= 8, what="part of the round")
    await stop_bot(application)  # mid-round: in-flight sends finish, the rest stays queued
    sent_before = len(fake.sent())
    assert sent_before < len(readers)

    fake.slow_answers(0)
    application = await start_bot(fake, config, clock, rounds_every_tick(clock))
    try:
        await eventually(lambda: len(fake.sent()) >= len(readers), 20, "the rest of the round")
        await asyncio.sleep(0.3)
        for reader in readers:
            texts = [message.text for message in fake.sent(reader["id"])]
            assert len(texts) == 1, (reader["id"], texts)
            assert texts[0].count("Quantum network links nine cities") == 1
            assert texts[0].count("Museum opens a painting show") == 1
        assert fake.stats.duplicates == 0
    finally:
        await stop_bot(application)


async def test_group_settings_and_stop_refuse_non_admins(running_bot):
    running_bot.fake.set_admins(GROUP["id"], [ALICE["id"]])
    for name, args in (("time", "09:00"), ("pause", ""), ("stop", ""), ("unsubscribe", "all")):
        running_bot.fake.command(GROUP, BOB, name, args)
    # One refusal, then silence: the group is not flooded with the same answer.
    reply = (await running_bot.fake.wait_for_messages(GROUP["id"]))[0]
    assert "Only this group's administrators" in reply.text
    await running_bot.command(BOB, "list", chat=GROUP)
    chat = await running_bot.services.store.get_chat(GROUP["id"])
    assert chat is not None and not chat.paused
    reply = await running_bot.command(ALICE, "time", "09:00", chat=GROUP)
    assert "09:00" in reply.text


async def test_a_group_that_follows_nothing_says_so_and_its_digest_is_not_yours(running_bot):
    fake = running_bot.fake
    fake.set_admins(GROUP["id"], [ALICE["id"]])
    nothing = await running_bot.command(BOB, "digest", chat=GROUP)
    assert nothing.text == (
        "This group follows nothing yet; an administrator can /subscribe to topics or keywords."
    )
    await running_bot.command(ALICE, "subscribe", "quantum", chat=GROUP)
    digest = await running_bot.command(BOB, "digest", chat=GROUP)
    assert digest.text.startswith("<b>📰 Digest</b> — ")
    chinese = build.group(-4002, "上海读者")
    fake.set_admins(chinese["id"], [ALICE["id"]])
    await running_bot.command(ALICE, "language", "zh", chat=chinese)
    nothing = await running_bot.command(BOB, "digest", chat=chinese)
    assert nothing.text == "本群还没有关注任何内容；管理员可以用 /subscribe 关注话题或关键词。"
    await running_bot.command(ALICE, "subscribe", "quantum", chat=chinese)
    digest = await running_bot.command(BOB, "digest", chat=chinese)
    assert digest.text.startswith("<b>📰 摘要</b> — ")
