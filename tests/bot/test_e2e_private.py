"""A person in a private chat, driving the real bot over HTTP through the Bot API fake."""

from __future__ import annotations

from tests.support import updates as build

ALICE = build.user(1001, "Alice")


async def test_start_offers_topics_and_a_button_subscribes_in_place(running_bot):
    fake = running_bot.fake
    welcome = await running_bot.command(ALICE, "start")
    assert "bullet points" in welcome.text
    buttons = [button["text"] for row in welcome.reply_markup["inline_keyboard"] for button in row]
    assert buttons == ["➕ Quantum communication", "➕ Satellite internet", "➕ Culture and arts"]

    query_id = fake.press_button(
        ALICE["id"], welcome.message_id, welcome.callback_data()[0], ALICE
    )
    answer = await fake.wait_for_callback_answer(query_id)
    assert answer.text == "Subscribed to Quantum communication."
    edited = await fake.wait_for_edit(ALICE["id"], welcome.message_id)
    assert edited.buttons()[0]["text"] == "✅ Quantum communication"

    listing = await running_bot.command(ALICE, "list")
    assert "topic <b>Quantum communication</b>" in listing.text
    assert "Every day at 08:00 Asia/Shanghai." in listing.text


async def test_deep_link_subscribes_and_digest_sends_each_article_once(running_bot):
    welcome = await running_bot.command(ALICE, "start", "satellite")
    assert "Subscribed to topic <b>Satellite internet</b>" in welcome.text

    digest = await running_bot.command(ALICE, "digest")
    assert "Satellite internet cluster plan released" in digest.text
    assert "Quantum network" not in digest.text
    assert "• " in digest.text

    again = await running_bot.command(ALICE, "digest")
    assert again.text.startswith("Nothing new for you")


async def test_keywords_phrases_and_unsubscribe(running_bot):
    reply = await running_bot.command(ALICE, "subscribe", '"six centuries"')
    assert "Subscribed to keywords <b>&quot;six centuries&quot;</b>" in reply.text
    digest = await running_bot.command(ALICE, "digest")
    assert "Museum opens a painting show" in digest.text

    reply = await running_bot.command(ALICE, "unsubscribe", '"six centuries"')
    assert reply.text.startswith("Unsubscribed from keywords")
    reply = await running_bot.command(ALICE, "unsubscribe", "nothing-like-this")
    assert "You do not follow" in reply.text
    reply = await running_bot.command(ALICE, "unsubscribe", "all")
    assert reply.text.startswith("You follow nothing, so there is nothing to unsubscribe from.")
    await running_bot.command(ALICE, "subscribe", "quantum")
    reply = await running_bot.command(ALICE, "unsubscribe", "all")
    assert reply.text == "Unsubscribed from everything: 1 topic."


async def test_topic_command_shows_latest_articles_of_that_topic(running_bot):
    reply = await running_bot.command(ALICE, "quantum")
    assert "Latest: Quantum communication" in reply.text
    assert "Quantum network links nine cities" in reply.text
    assert "Museum" not in reply.text


async def test_search_pages_with_a_more_button_and_bolds_matches(running_bot):
    fake = running_bot.fake
    first = await running_bot.command(ALICE, "search", "nine cities")
    assert "<b>nine cities</b>" in first.text
    assert "1 of 2" in first.text
    more = first.callback_data()
    assert len(more) == 1
    fake.press_button(ALICE["id"], first.message_id, more[0], ALICE)
    second = (await fake.wait_for_messages(ALICE["id"]))[0]
    assert "2 of 2" in second.text
    assert second.callback_data() == []

    plain = await running_bot.say(ALICE, "museum")
    assert "Museum opens a painting show" in plain.text


async def test_malformed_commands_get_specific_help(running_bot):
    cases = {
        ("time", "25:00"): "/time 08:00",
        ("timezone", "Mars/Olympus"): "timezone",
        ("frequency", "sometimes"): "/frequency",
        ("bullets", "11"): "/bullets 3",
        ("search", ""): "/search",
        ("subscribe", "!!!"): "/subscribe",
        ("preview", "maybe"): "/preview on",
    }
    for (name, args), hint in cases.items():
        reply = await running_bot.command(ALICE, name, args)
        assert hint in reply.text, (name, args, reply.text)


async def test_settings_commands_and_buttons_change_the_schedule(running_bot):
    fake = running_bot.fake
    reply = await running_bot.command(ALICE, "timezone", "europe/london")
    assert "Europe/London" in reply.text
    reply = await running_bot.command(ALICE, "frequency", "weekly fri")
    assert "Every Friday at 08:00 Europe/London." in reply.text
    reply = await running_bot.command(ALICE, "time", "7:30")
    assert "07:30" in reply.text

    panel = await running_bot.command(ALICE, "settings")
    bullets_two = next(
        button["callback_data"]
        for row in panel.reply_markup["inline_keyboard"]
        for button in row
        if button["text"] == "2 bullets"
    )
    query_id = fake.press_button(ALICE["id"], panel.message_id, bullets_two, ALICE)
    answer = await fake.wait_for_callback_answer(query_id)
    assert answer.text == "Bullets per article: 2 (was 3)."
    edited = await fake.wait_for_edit(ALICE["id"], panel.message_id)
    assert "Bullets per article: 2" in edited.text
    chat = await running_bot.services.store.get_chat(ALICE["id"])
    assert chat.bullets == 2 and chat.frequency == "weekly" and chat.weekday == 4


async def test_forged_and_foreign_button_data_is_refused_without_effect(running_bot):
    fake = running_bot.fake
    bob = build.user(2002, "Bob")
    welcome = await running_bot.command(ALICE, "start")
    stolen = welcome.callback_data()[0]
    await running_bot.command(bob, "start")
    for data in (stolen, "tog|quantum|AAAAAAAAAAA", "garbage", "x" * 64):
        query_id = fake.press_button(bob["id"], 1, data, bob)
        answer = await fake.wait_for_callback_answer(query_id)
        assert "not valid" in answer.text
    assert await running_bot.services.store.list_subscriptions(bob["id"]) == []


async def test_stop_deletes_everything_about_the_chat(running_bot):
    await running_bot.command(ALICE, "subscribe", "quantum")
    question = await running_bot.command(ALICE, "stop")
    yes = question.callback_data()[0]
    query_id = running_bot.fake.press_button(ALICE["id"], question.message_id, yes, ALICE)
    await running_bot.fake.wait_for_callback_answer(query_id)
    edited = await running_bot.fake.wait_for_edit(ALICE["id"], question.message_id)
    assert "deleted" in edited.text
    store = running_bot.services.store
    assert await store.get_chat(ALICE["id"]) is None
    assert await store.list_subscriptions(ALICE["id"]) == []


async def test_admin_commands_refuse_everyone_else(running_bot):
    reply = await running_bot.command(ALICE, "stats")
    assert reply.text.startswith("Sorry, only the bot's administrators")
    admin = build.user(4242, "Root")
    stats = await running_bot.command(admin, "stats")
    assert "Articles: 3" in stats.text
    assert "local-news" in stats.text


async def test_help_lists_commands_and_menu_is_published(running_bot):
    reply = await running_bot.command(ALICE, "help")
    assert "/subscribe — " in reply.text and "/quantum — " in reply.text
    published = {command["command"] for command in running_bot.fake.commands()}
    assert {"start", "help", "digest", "quantum", "satellite", "culture"} <= published


async def test_a_user_flooding_searches_is_throttled_politely(running_bot):
    from bot.throttle import Throttle

    running_bot.services.search_throttle = Throttle(2, 60.0)
    for _ in range(2):
        reply = await running_bot.command(ALICE, "search", "quantum")
        assert "Results for" in reply.text
    reply = await running_bot.command(ALICE, "search", "quantum")
    assert "That's a lot of searches. Please wait" in reply.text
    bob = build.user(2002, "Bob")
    assert "Results for" in (await running_bot.command(bob, "search", "quantum")).text


async def test_pause_and_resume(running_bot):
    reply = await running_bot.command(ALICE, "pause")
    assert "paused" in reply.text
    assert (await running_bot.services.store.get_chat(ALICE["id"])).paused
    reply = await running_bot.command(ALICE, "resume")
    assert "Scheduled digests: active (was paused)." in reply.text
    assert "Next digest: Fri 27 Nov, 08:00 (Asia/Shanghai)." in reply.text


async def test_html_in_user_input_is_escaped(running_bot):
    reply = await running_bot.command(ALICE, "subscribe", "<script>alert(1)</script> & co")
    assert "&lt;script&gt;" in reply.text or "script" in reply.text
    assert "<script>" not in reply.text
    reply = await running_bot.command(ALICE, "search", "<b>unclosed")
    assert "<b>unclosed" not in reply.text


async def test_blocking_the_bot_deactivates_the_chat_and_writing_again_revives_it(running_bot):
    import asyncio

    store = running_bot.services.store
    await running_bot.command(ALICE, "subscribe", "quantum")
    running_bot.fake.user_blocks_bot(ALICE)
    for _ in range(500):
        if not (await store.get_chat(ALICE["id"])).active:
            break
        await asyncio.sleep(0.01)
    assert not (await store.get_chat(ALICE["id"])).active
    running_bot.fake.unblock(ALICE["id"])
    await running_bot.command(ALICE, "list")
    assert (await store.get_chat(ALICE["id"])).active
    assert await store.list_subscriptions(ALICE["id"]) != []


async def test_a_first_subscription_long_after_joining_waits_for_the_next_slot(running_bot):
    from datetime import timedelta

    await running_bot.command(ALICE, "list")  # joins, follows nothing
    running_bot.clock.now += timedelta(days=2)
    await running_bot.command(ALICE, "subscribe", "quantum")
    chat = await running_bot.services.store.get_chat(ALICE["id"])
    assert chat.next_digest_at > running_bot.clock.now
