"""The loopback Bot API fake, proven with the real python-telegram-bot over real HTTP."""

import asyncio
import json
import socket

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    ChatFullInfo,
    ChatMemberAdministrator,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.support import updates as build
from tests.support.fake_bot_api import FakeBotApi, RateLimits, SlidingWindowLimiter

ALICE = build.user(1001, "Alice", username="alice")
BOB = build.user(1002, "Bob")
GROUP = build.group(-4001, "Readers")

# A scale this small makes every window 1000 s long, so two quick sends always share a window
# however slow the machine is: the limit tests never race the clock.
SLOW_TIME = 0.001


@pytest.fixture
async def fake():
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
async def bot(fake):
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as bot:
        yield bot


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d) for d in data]])


# -- identity and transport ---------------------------------------------------------------


async def test_bot_initialises_against_the_fake(fake, bot) -> None:
    assert bot.username == fake.bot_username
    assert bot.id == fake.bot_id
    assert fake.url.startswith("http://127.0.0.1:")
    assert fake.stats.requests["getMe"] == 1


async def test_a_wrong_token_is_refused_as_unauthorized(fake) -> None:
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot("999:wrong", base_url=fake.base_url):
            pass


async def test_json_and_form_bodies_both_work_and_unknown_methods_are_404(fake) -> None:
    api = f"{fake.base_url}{fake.token}"
    async with httpx.AsyncClient() as client:
        as_json = await client.post(f"{api}/sendMessage", json={"chat_id": 7, "text": "json"})
        as_form = await client.post(
            f"{api}/sendMessage",
            data={
                "chat_id": "7",
                "text": "form",
                "reply_markup": json.dumps(
                    {"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]}
                ),
            },
        )
        unknown = await client.post(f"{api}/noSuchMethod")

    assert as_json.json()["result"]["text"] == "json"
    assert as_form.json()["result"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "a"
    assert (unknown.status_code, unknown.json()) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    assert [m.message_id for m in fake.sent(7)] == [1, 2]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"chat_id": 1, "text": "\\ud800 lone surrogate"}', "application/json"),
        (b"chat_id=1&text=%FF%FE+not+utf8", "application/x-www-form-urlencoded"),
        (b'{"chat_id": 0, "text": "x"}', "application/json"),
        (b'{"chat_id": "@nobody", "text": "x"}', "application/json"),
        (b'{"chat_id": 1, "text": "x", "reply_markup": "{broken"}', "application/json"),
        (
            b'{"chat_id": 1, "text": "x", "reply_markup": {"inline_keyboard": 5}}',
            "application/json",
        ),
        (b"[1, 2]", "application/json"),
        (b"{not json", "application/json"),
    ],
)
async def test_hostile_requests_get_a_400_never_a_crash(fake, body, content_type) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{fake.base_url}{fake.token}/sendMessage",
            content=body,
            headers={"Content-Type": content_type},
        )

    assert answer.status_code == 400
    assert answer.json()["description"].startswith("Bad Request: ")
    assert fake.sent() == []


async def test_hostile_text_that_is_valid_is_stored_exactly(fake, bot) -> None:
    text = "\u202eRTL e\u0301 \x00 👩\u200d💻 " + "&lt;script&gt;alert(1)&lt;/script&gt;"
    sent = await bot.send_message(1, text, parse_mode=ParseMode.HTML)

    assert sent.text == "\u202eRTL e\u0301 \x00 👩\u200d💻 <script>alert(1)</script>"
    assert fake.sent(1)[0].text == text


# -- messages -----------------------------------------------------------------------------


async def test_send_edit_delete_round_trip(fake, bot) -> None:
    sent = await bot.send_message(
        ALICE["id"],
        "<b>Hello</b> &amp; welcome",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard("a", "b"),
    )

    assert sent.text == "Hello & welcome"
    assert sent.entities[0].type == "bold"
    assert sent.reply_markup == keyboard("a", "b")
    record = fake.sent(ALICE["id"])[0]
    assert (record.text, record.parse_mode, record.callback_data()) == (
        "<b>Hello</b> &amp; welcome",
        "HTML",
        ["a", "b"],
    )

    edited = await bot.edit_message_text(
        "<i>Edited</i>",
        ALICE["id"],
        sent.message_id,
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard("c"),
    )
    assert edited.text == "Edited"
    assert fake.message(ALICE["id"], sent.message_id).plain_text == "Edited"

    await bot.edit_message_reply_markup(ALICE["id"], sent.message_id, reply_markup=None)
    record = fake.message(ALICE["id"], sent.message_id)
    assert record.reply_markup is None
    assert [edit.text for edit in record.edits] == ["<i>Edited</i>", "<i>Edited</i>"]
    assert fake.stats.edits == 2

    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text(
            "<i>Edited</i>", ALICE["id"], sent.message_id, parse_mode="HTML"
        )

    assert await bot.delete_message(ALICE["id"], sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(ALICE["id"], sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("gone", ALICE["id"], sent.message_id)


async def test_message_ids_increase_per_chat(fake, bot) -> None:
    ids = [(await bot.send_message(chat, "x")).message_id for chat in (1, 2, 1, 1, 2)]

    assert ids == [1, 1, 2, 3, 2]


async def test_incoming_and_outgoing_messages_share_a_chats_numbering(fake, bot) -> None:
    incoming = fake.private_message(ALICE, "hi")["message"]["message_id"]
    outgoing = (await bot.send_message(ALICE["id"], "hello")).message_id

    assert outgoing == incoming + 1


async def test_edits_without_a_keyboard_drop_it_like_telegram(fake, bot) -> None:
    sent = await bot.send_message(1, "x", reply_markup=keyboard("a"))
    await bot.edit_message_text("y", 1, sent.message_id)

    assert fake.message(1, sent.message_id).reply_markup is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<p>x</p>", 'Can\'t parse entities: unsupported start tag "p" at byte offset 0'),
        ("<b>x", "Can't parse entities: can't find end tag"),
        ("Q&A", "Can't parse entities: unescaped"),
        ("&nbsp;", "Can't parse entities: unsupported html entity"),
        ("<b> </b>", "Message text is empty"),
        ("a" * 4097, "Message is too long"),
        ("😀" * 2049, "Message is too long"),
    ],
)
async def test_invalid_text_is_a_bad_request_like_telegram(fake, bot, text, reason) -> None:
    with pytest.raises(BadRequest) as refused:
        await bot.send_message(1, text, parse_mode=ParseMode.HTML)

    assert refused.value.message.startswith(reason)
    assert fake.sent(1) == []
    assert fake.stats.bad_requests == 1


async def test_the_length_limit_counts_visible_utf16_units(fake, bot) -> None:
    await bot.send_message(1, "<b>" + "a" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    await bot.send_message(1, "😀" * 2048)

    assert fake.stats.accepted == 2


async def test_empty_message_text_is_refused(fake) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{fake.base_url}{fake.token}/sendMessage", json={"chat_id": 1})

    assert answer.json()["description"] == "Bad Request: message text is empty"


@pytest.mark.parametrize(
    ("data", "accepted"), [("x" * 64, True), ("x" * 65, False), ("é" * 33, False)]
)
async def test_callback_data_is_limited_to_64_bytes(fake, bot, data, accepted) -> None:
    send = bot.send_message(1, "pick", reply_markup=keyboard(data))
    if accepted:
        await send
        assert fake.sent(1)[0].callback_data() == [data]
    else:
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await send


async def test_link_preview_options_are_recorded(fake, bot) -> None:
    await bot.send_message(
        1, "https://e.org", link_preview_options=LinkPreviewOptions(is_disabled=True)
    )
    await bot.send_message(1, "https://e.org/2")

    assert [m.link_preview_disabled for m in fake.sent(1)] == [True, False]


async def test_identical_texts_to_a_chat_count_as_duplicates(fake, bot) -> None:
    for chat in (1, 1, 2, 1):
        await bot.send_message(chat, "digest")

    stats = fake.stats
    assert (stats.accepted, stats.duplicates, dict(stats.per_chat)) == (4, 2, {1: 3, 2: 1})


async def test_callback_press_and_answer_round_trip(fake, bot) -> None:
    sent = await bot.send_message(ALICE["id"], "pick", reply_markup=keyboard("topic:quantum"))
    query_id = fake.press_button(ALICE["id"], sent.message_id, "topic:quantum", ALICE)

    [raw] = await bot.get_updates(timeout=0)
    assert raw.callback_query.data == "topic:quantum"
    assert raw.callback_query.message.message_id == sent.message_id
    await raw.callback_query.answer("Subscribed")

    answer = await fake.wait_for_callback_answer(query_id)
    assert (answer.text, answer.show_alert) == ("Subscribed", False)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query_id)


async def test_chat_action_and_bot_settings_are_recorded(fake, bot) -> None:
    commands = [BotCommand("start", "Start here"), BotCommand("help", "What I can do")]
    await bot.set_my_commands(commands)
    await bot.set_my_description("Digests of regional news")
    await bot.set_my_short_description("News digests")
    await bot.send_chat_action(1, "typing")

    assert await bot.get_my_commands() == tuple(commands)
    assert fake.commands() == [c.to_dict() for c in commands]
    assert fake.description() == "Digests of regional news"
    assert fake.description("short_description") == "News digests"
    assert fake.chat_actions == [(1, "typing")]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])


@pytest.mark.parametrize(("code", "error"), [(400, BadRequest), (404, InvalidToken)])
async def test_set_my_commands_can_be_refused(fake, bot, code, error) -> None:
    # PTB turns a 404 into InvalidToken: a bot that tolerates a refused menu must catch both.
    fake.refuse("setMyCommands", code)

    with pytest.raises(error):
        await bot.set_my_commands([BotCommand("start", "Start")])
    fake.allow("setMyCommands")
    assert await bot.set_my_commands([BotCommand("start", "Start")])


async def test_group_admins_and_chat_info_are_configurable(fake, bot) -> None:
    fake.group_message(GROUP, ALICE, "hello")
    fake.set_admins(GROUP["id"], [BOB["id"]], owner_id=ALICE["id"])

    owner = await bot.get_chat_member(GROUP["id"], ALICE["id"])
    admin = await bot.get_chat_member(GROUP["id"], BOB["id"])
    member = await bot.get_chat_member(GROUP["id"], 5)
    admins = await bot.get_chat_administrators(GROUP["id"])
    chat = await bot.get_chat(GROUP["id"])

    assert isinstance(owner, ChatMemberOwner)
    assert isinstance(admin, ChatMemberAdministrator)
    assert isinstance(member, ChatMemberMember)
    assert {m.user.id for m in admins} == {ALICE["id"], BOB["id"]}
    assert isinstance(chat, ChatFullInfo)
    assert (chat.type, chat.title) == ("group", "Readers")


# -- faults -------------------------------------------------------------------------------


async def test_blocked_missing_and_migrated_chats(fake, bot) -> None:
    fake.block(1)
    fake.set_chat_missing(2)
    fake.migrate_group(-3, -1_001_000_000_003)

    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(1, "x")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(2, "x")
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(-3, "x")
    assert migrated.value.new_chat_id == -1_001_000_000_003
    await bot.send_message(migrated.value.new_chat_id, "x")

    stats = fake.stats
    assert (stats.forbidden, stats.chat_not_found, stats.migrated, stats.accepted) == (1, 1, 1, 1)


@pytest.mark.parametrize("after_recording", [False, True])
async def test_dropped_connections_surface_as_network_errors(fake, bot, after_recording) -> None:
    fake.drop_connections(1.0, after_recording=after_recording)

    with pytest.raises(NetworkError):
        await bot.send_message(1, "lost answer")

    assert len(fake.sent(1)) == (1 if after_recording else 0)
    fake.drop_connections(0.0)
    await bot.send_message(1, "next")  # the client recovers on a fresh connection


async def test_a_share_of_drops_is_seeded(fake, bot) -> None:
    async def outcomes() -> list[bool]:
        results = []
        for index in range(20):
            try:
                await bot.send_message(1, f"m{index}")
            except NetworkError:
                results.append(False)
            else:
                results.append(True)
        return results

    fake.drop_connections(0.3, seed=7)
    first = await outcomes()
    fake.drop_connections(0.3, seed=7)
    second = await outcomes()

    assert first == second
    assert 0 < first.count(False) < 20
    assert fake.stats.dropped_before_recording == 2 * first.count(False)


async def test_a_slow_answer_times_out(fake, bot) -> None:
    fake.slow_answers(30.0)

    with pytest.raises(TimedOut):
        await bot.send_message(1, "x", read_timeout=0.2)


@pytest.mark.parametrize("status", [502, 500])
async def test_the_next_requests_can_fail_with_a_server_error(fake, bot, status) -> None:
    fake.fail_next(2, status=status)

    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(1, "x")
    await bot.send_message(1, "x")

    assert (fake.stats.injected_failures, fake.stats.accepted) == (2, 1)


# -- rate limits --------------------------------------------------------------------------


async def test_flood_answers_the_next_sends_429_whatever_the_pace(fake, bot) -> None:
    fake.flood(2, retry_after=3)

    for chat_id in (1, 2):
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(chat_id, "x")
        assert refused.value._retry_after.total_seconds() == 3
    await bot.send_message(3, "x")

    stats = fake.stats
    assert (stats.rate_limited_chat, stats.accepted) == (2, 1)
    assert [event.chat_id for event in stats.rate_limit_events] == [1, 2]


async def test_a_second_message_to_a_chat_within_the_window_is_429(fake, bot) -> None:
    fake.set_rate_limits(
        RateLimits(global_per_second=None, per_chat_per_second=1, scale=SLOW_TIME)
    )
    await bot.send_message(1, "first")
    await bot.send_message(2, "other chat is fine")

    with pytest.raises(RetryAfter) as refused:
        await bot.send_message(1, "second")

    assert refused.value._retry_after.total_seconds() == 1000
    stats = fake.stats
    assert (stats.rate_limited_chat, stats.rate_limited_global, stats.accepted) == (1, 0, 2)
    assert stats.rate_limit_events[0].chat_id == 1


async def test_the_global_limit_refuses_across_chats(fake, bot) -> None:
    fake.set_rate_limits(
        RateLimits(global_per_second=3, per_chat_per_second=None, scale=SLOW_TIME)
    )
    for chat in (1, 2, 3):
        await bot.send_message(chat, "x")

    with pytest.raises(RetryAfter):
        await bot.send_message(4, "x")
    assert fake.stats.rate_limited_global == 1


async def test_raw_429_answer_has_telegrams_shape(fake) -> None:
    fake.set_rate_limits(RateLimits(scale=1 / 60))  # windows of 60 s: no race
    async with httpx.AsyncClient() as client:
        url = f"{fake.base_url}{fake.token}/sendMessage"
        await client.post(url, json={"chat_id": 1, "text": "a"})
        answer = await client.post(url, json={"chat_id": 1, "text": "b"})

    assert answer.status_code == 429
    assert answer.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 60",
        "parameters": {"retry_after": 60},
    }


def test_a_burst_of_31_within_one_second_is_a_violation() -> None:
    limiter = SlidingWindowLimiter(RateLimits(per_chat_per_second=None, per_group_per_minute=None))
    for index in range(30):
        assert limiter.check(index, now=index * 0.03) is None
        limiter.record(index, now=index * 0.03)

    refusal = limiter.check(99, now=0.95)

    assert refusal is not None
    assert (refusal.scope, refusal.retry_after) == ("global", 1)


def test_sends_during_the_retry_after_window_are_refused_too() -> None:
    limiter = SlidingWindowLimiter(RateLimits(global_per_second=None, per_group_per_minute=None))
    limiter.record(1, now=0.0)
    assert limiter.check(1, now=0.5) is not None  # window allows again at 1.0, penalty to 1.5

    refusal = limiter.check(1, now=1.2)

    assert refusal is not None
    assert refusal.retry_after == 1  # 0.3 s left, stated in whole seconds
    assert limiter.check(1, now=1.5) is None
    assert limiter.check(2, now=1.2) is None  # other chats were never paused


def test_groups_get_20_messages_a_minute() -> None:
    limiter = SlidingWindowLimiter(RateLimits(global_per_second=None, per_chat_per_second=None))
    for index in range(20):
        assert limiter.check(-5, now=index * 2.0) is None
        limiter.record(-5, now=index * 2.0)

    refusal = limiter.check(-5, now=40.0)

    assert refusal is not None
    assert (refusal.scope, refusal.retry_after) == ("group", 20)
    assert limiter.check(5, now=40.0) is None  # private chats have no per-minute limit


def test_scale_shortens_windows_and_retry_after() -> None:
    limiter = SlidingWindowLimiter(RateLimits(global_per_second=None, scale=10))
    limiter.record(1, now=0.0)

    refusal = limiter.check(1, now=0.05)

    assert refusal is not None
    assert refusal.retry_after == pytest.approx(0.1)
    assert limiter.check(1, now=0.151) is None


# -- updates and long polling -------------------------------------------------------------


async def test_long_polling_returns_as_soon_as_an_update_is_queued(fake, bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=60))
    await fake.wait_for_parked_poll()  # the update must wake it, not the 60 s timeout

    fake.private_message(ALICE, "hello")
    received = await asyncio.wait_for(poll, 10)

    assert [u.message.text for u in received] == ["hello"]


async def test_offset_confirms_updates_and_timeout_returns_empty(fake, bot) -> None:
    fake.private_message(ALICE, "one")
    fake.private_message(ALICE, "two")

    first = await bot.get_updates(timeout=0)
    rest = await bot.get_updates(offset=first[-1].update_id + 1, timeout=0.05)

    assert [u.message.text for u in first] == ["one", "two"]
    assert rest == ()
    assert fake.pending_updates == 0


async def test_allowed_updates_filters_kinds(fake, bot) -> None:
    fake.bot_added_to_group(GROUP, ALICE)
    fake.private_message(ALICE, "text")

    received = await bot.get_updates(timeout=0, allowed_updates=["message"])

    assert [u.message.text for u in received] == [None, "text"]  # the service message, the text


async def test_a_second_poll_terminates_the_first_with_conflict(fake, bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await fake.wait_for_parked_poll()
    async with Bot(fake.token, base_url=fake.base_url) as second_bot:
        second = asyncio.create_task(second_bot.get_updates(timeout=30))
        with pytest.raises(Conflict, match="terminated by other getUpdates"):
            await asyncio.wait_for(first, 10)
        fake.private_message(ALICE, "for the survivor")
        assert len(await asyncio.wait_for(second, 10)) == 1


async def test_a_webhook_blocks_get_updates(fake, bot) -> None:
    await bot.set_webhook("https://example.invalid/hook", secret_token="s3cret")

    assert (await bot.get_webhook_info()).url == "https://example.invalid/hook"
    assert fake.webhook["secret_token"] == "s3cret"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates(timeout=0)
    await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == ()


async def test_injected_updates_parse_as_ptb_updates(fake, bot) -> None:
    fake.private_command(ALICE, "subscribe", "quantum")
    fake.command(GROUP, BOB, "digest")
    fake.bot_added_to_group(GROUP, ALICE)
    fake.user_blocks_bot(BOB)

    updates = await bot.get_updates(timeout=0, allowed_updates=[])
    private, group, member, service, blocked = updates

    assert private.message.text == "/subscribe quantum"
    assert private.message.parse_entities(["bot_command"]).popitem()[1] == "/subscribe"
    assert group.message.text == "/digest@DigestTestBot"
    assert group.message.chat.type == "group"
    assert member.my_chat_member.new_chat_member.status == "member"
    assert service.message.new_chat_members[0].username == fake.bot_username
    assert blocked.my_chat_member.new_chat_member.status == "kicked"
    with pytest.raises(Forbidden):
        await bot.send_message(BOB["id"], "x")


def test_update_builders_are_valid_ptb_json() -> None:
    chat = build.supergroup()
    command = build.command_message(chat, ALICE, "help", message_id=3, bot_username="B")
    update = Update.de_json(build.update(1, "message", command), None)

    assert update.message.text == "/help@B"
    assert update.effective_chat.type == "supergroup"
    assert update.message.entities[0].length == len("/help@B")
    with pytest.raises(ValueError, match="negative"):
        build.group(5)


# -- the whole loop with a real Application ----------------------------------------------


async def test_an_application_answers_commands_and_buttons_over_polling(fake) -> None:
    async def ping(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text("pong", reply_markup=keyboard("again"))

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer("pressed")
        await update.callback_query.edit_message_text("pong!")

    app = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("ping", ping))
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0.0, timeout=5)
        try:
            fake.private_command(ALICE, "ping")
            [reply] = await fake.wait_for_messages(ALICE["id"])
            fake.command(GROUP, BOB, "ping")
            [group_reply] = await fake.wait_for_messages(GROUP["id"])

            query_id = fake.press_button(ALICE["id"], reply.message_id, "again", ALICE)
            answer = await fake.wait_for_callback_answer(query_id)
            edited = await fake.wait_for_edit(ALICE["id"], reply.message_id)
        finally:
            await app.updater.stop()
            await app.stop()

    assert (reply.text, group_reply.text, answer.text) == ("pong", "pong", "pressed")
    assert edited.plain_text == "pong!"


async def _pong(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text("pong")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_updates_are_pushed_to_a_loopback_webhook_with_its_secret(fake) -> None:
    app = fake.application_builder().build()
    app.add_handler(CommandHandler("ping", _pong))
    port = _free_port()
    async with app:
        await app.start()
        await app.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="hook",
            webhook_url=f"http://127.0.0.1:{port}/hook",
            secret_token="s3cret",
        )
        try:
            fake.private_command(ALICE, "ping")
            [reply] = await fake.wait_for_messages(ALICE["id"])
        finally:
            await app.updater.stop()
            await app.stop()

    assert reply.text == "pong"
    assert fake.webhook["secret_token"] == "s3cret"
    assert (fake.stats.webhook_deliveries, fake.pending_updates) == (1, 0)


# -- running in a background thread -------------------------------------------------------


async def test_the_fake_runs_in_its_own_thread() -> None:
    with FakeBotApi() as fake:
        async with Bot(fake.token, base_url=fake.base_url) as bot:
            fake.private_message(ALICE, "from another thread")
            [update] = await bot.get_updates(timeout=5)
            await bot.send_message(ALICE["id"], "reply")
        [reply] = await fake.wait_for_messages(ALICE["id"])

    assert update.message.text == "from another thread"
    assert reply.text == "reply"


async def test_waiting_for_messages_that_never_come_names_the_chat(fake, bot) -> None:
    await bot.send_message(1, "already read")
    await fake.wait_for_messages(1)

    with pytest.raises(TimeoutError, match="expected 1 new message.*chat 1.*got 0"):
        await fake.wait_for_messages(1, timeout=0.05)


# -- files --------------------------------------------------------------------------------------


async def test_documents_go_both_ways(fake, bot) -> None:
    from telegram import InputFile

    sent = await bot.send_document(
        5,
        InputFile(b"<opml/>", filename="mine.opml"),
        caption="Your <b>sources</b>",
        parse_mode="HTML",
    )
    assert sent.document.file_name == "mine.opml"
    (message,) = fake.sent(5)
    assert message.document == ("mine.opml", b"<opml/>")
    assert message.plain_text == "Your sources"

    update = fake.private_document({"id": 9, "is_bot": False, "first_name": "U"}, "in.opml", b"x1")
    file_id = update["message"]["document"]["file_id"]
    remote = await bot.get_file(file_id)
    assert bytes(await remote.download_as_bytearray()) == b"x1"
    with pytest.raises(BadRequest, match="invalid file_id"):
        await bot.get_file("nope")
