"""Managing subscriptions by tapping, no silence, no surprises, and groups that behave
(issue 9, items 9-11)."""

from __future__ import annotations

from tests.support import updates as build

ALICE = build.user(1001, "Alice")
BOB = build.user(1002, "Bob")
GROUP = build.group(-4001, "Shanghai readers")


def buttons(message) -> dict[str, str]:
    return {
        button["text"]: button["callback_data"]
        for row in (message.reply_markup or {}).get("inline_keyboard", [])
        for button in row
    }


# --- item 9: subscriptions -------------------------------------------------------------------


async def test_list_shows_a_remove_button_per_subscription(running_bot):
    fake = running_bot.fake
    await running_bot.command(ALICE, "subscribe", "quantum")
    await running_bot.command(ALICE, "subscribe", '"satellite internet"')
    listing = await running_bot.command(ALICE, "list")
    assert set(buttons(listing)) == {
        "✖ Quantum communication",
        '✖ "satellite internet"',
    }
    query_id = fake.press_button(
        ALICE["id"], listing.message_id, buttons(listing)["✖ Quantum communication"], ALICE
    )
    answer = await fake.wait_for_callback_answer(query_id)
    assert answer.text == "Unsubscribed from Quantum communication."
    edited = await fake.wait_for_edit(ALICE["id"], listing.message_id)
    assert "Quantum communication" not in edited.text
    assert set(buttons(edited)) == {'✖ "satellite internet"'}
    subscriptions = await running_bot.services.store.list_subscriptions(ALICE["id"])
    assert [sub.value for sub in subscriptions] == ['"satellite internet"']


async def test_unsubscribe_alone_offers_the_remove_buttons(running_bot):
    await running_bot.command(ALICE, "subscribe", "museum")
    reply = await running_bot.command(ALICE, "unsubscribe")
    assert "Tap" in reply.text
    assert set(buttons(reply)) == {"✖ museum"}


async def test_unsubscribe_without_quotes_removes_the_phrase_it_matches(running_bot):
    await running_bot.command(ALICE, "subscribe", '"satellite internet"')
    reply = await running_bot.command(ALICE, "unsubscribe", "satellite internet")
    assert reply.text.startswith("Unsubscribed from keywords <b>&quot;satellite internet&quot;")
    assert await running_bot.services.store.list_subscriptions(ALICE["id"]) == []


async def test_a_keyword_of_only_stop_words_is_refused_with_a_hint(running_bot):
    for words in ("the", "a the of"):
        reply = await running_bot.command(ALICE, "subscribe", words)
        assert "only common words" in reply.text, reply.text
        assert "/subscribe" in reply.text
    assert await running_bot.services.store.list_subscriptions(ALICE["id"]) == []
    reply = await running_bot.command(ALICE, "subscribe", '"the who"')
    assert "Subscribed" in reply.text


# --- item 10: no silence, no surprises --------------------------------------------------------


async def test_an_unknown_command_points_to_help(running_bot):
    reply = await running_bot.command(ALICE, "frobnicate")
    assert reply.text == "I don't know /frobnicate. /help lists what I can do."


async def test_in_groups_only_unknown_commands_addressed_to_this_bot_are_answered(running_bot):
    fake = running_bot.fake
    fake.command(GROUP, ALICE, "othercommand", mention_bot=False)
    reply = await running_bot.command(ALICE, "frobnicate", chat=GROUP)
    assert reply.text.startswith("I don't know /frobnicate")
    assert len(fake.sent(GROUP["id"])) == 1


async def test_stop_asks_before_deleting(running_bot):
    fake = running_bot.fake
    await running_bot.command(ALICE, "subscribe", "quantum")
    question = await running_bot.command(ALICE, "stop")
    assert "delete" in question.text
    assert await running_bot.services.store.get_chat(ALICE["id"]) is not None
    query_id = fake.press_button(
        ALICE["id"], question.message_id, buttons(question)["Cancel"], ALICE
    )
    await fake.wait_for_callback_answer(query_id)
    assert await running_bot.services.store.get_chat(ALICE["id"]) is not None
    question = await running_bot.command(ALICE, "stop")
    confirm = buttons(question)["Yes, delete everything"]
    query_id = fake.press_button(ALICE["id"], question.message_id, confirm, ALICE)
    await fake.wait_for_callback_answer(query_id)
    edited = await fake.wait_for_edit(ALICE["id"], question.message_id)
    assert "deleted" in edited.text
    assert await running_bot.services.store.get_chat(ALICE["id"]) is None


async def test_digest_of_an_unknown_topic_suggests_the_closest(running_bot):
    reply = await running_bot.command(ALICE, "digest", "quantom")
    assert "no topic “quantom”" in reply.text
    assert "/quantum" in reply.text
    assert "Nothing new" not in reply.text
    reply = await running_bot.command(ALICE, "digest", "nosuch")
    assert "no topic “nosuch”" in reply.text
    assert "/topics" in reply.text


# --- item 11: groups --------------------------------------------------------------------------


async def test_members_read_without_consuming_the_groups_digest(running_bot):
    fake = running_bot.fake
    fake.set_admins(GROUP["id"], [ALICE["id"]])
    await running_bot.command(ALICE, "subscribe", "quantum", chat=GROUP)
    shown = await running_bot.command(BOB, "digest", chat=GROUP)
    assert "Quantum network links nine cities" in shown.text
    store = running_bot.services.store
    assert await store.delivered_article_ids([GROUP["id"]], ["x"]) in ({}, {GROUP["id"]: set()})
    digest = await running_bot.command(ALICE, "digest", chat=GROUP)
    assert "Quantum network links nine cities" in digest.text
    searched = await running_bot.command(BOB, "search", "quantum", chat=GROUP)
    assert "Results for" in searched.text
    latest = await running_bot.command(BOB, "quantum", chat=GROUP)
    assert "Quantum network links" in latest.text


async def test_refusals_to_members_do_not_flood_the_group(running_bot):
    fake = running_bot.fake
    fake.set_admins(GROUP["id"], [ALICE["id"]])
    refused = await running_bot.command(BOB, "subscribe", "quantum", chat=GROUP)
    assert "Only this group's administrators" in refused.text
    for name, args in (("subscribe", "quantum"), ("time", "09:00"), ("pause", "")):
        fake.command(GROUP, BOB, name, args)
    listing = await running_bot.command(BOB, "list", chat=GROUP)
    assert "This group follows" in listing.text  # the next reply: the refusals stayed silent
    welcome = await running_bot.command(ALICE, "topics", chat=GROUP)
    query_id = fake.press_button(GROUP, welcome.message_id, welcome.callback_data()[0], BOB)
    answer = await fake.wait_for_callback_answer(query_id)
    assert "administrators" in answer.text and not answer.show_alert


async def test_help_in_a_group_shows_commands_for_this_bot_and_admin_commands_to_admins(
    running_bot,
):
    fake = running_bot.fake
    fake.set_admins(GROUP["id"], [ALICE["id"]])
    member = await running_bot.command(BOB, "help", chat=GROUP)
    assert "/digest@DigestTestBot" in member.text
    assert "/subscribe@DigestTestBot" not in member.text
    admin = await running_bot.command(ALICE, "help", chat=GROUP)
    assert "/subscribe@DigestTestBot" in admin.text
    assert "/settings@DigestTestBot" in admin.text
