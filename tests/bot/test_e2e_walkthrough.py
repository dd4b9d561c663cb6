"""What a new user's walkthrough of every command found (issue 9, second pass), end to end in
English and Chinese: Chinese function words are not keywords, another form of a followed word
is already followed, the setting commands alone show the current value, the minute buttons of
hourly digests speak of minutes, search counts read naturally, a new group hears its schedule,
and the settings screen offers no pause for digests that are off."""

from __future__ import annotations

import pytest

from tests.support import updates as build

ALICE = build.user(2201, "Alice")
LI = build.user(2202, "Li", language_code="zh-hans")
GROUP = build.group(-4201, "Harbour readers")
SCHEDULE = "Every day at 08:00 Asia/Shanghai."
NEXT = "Next digest: Fri 27 Nov, 08:00 (Asia/Shanghai)."  # the fixture's clock: Thu 15:00 there


def button_data(message, label: str) -> str:
    return next(b["callback_data"] for b in message.buttons() if b["text"].endswith(label))


async def press(bot, user, message, label: str):
    """Taps the button ending with `label`; the toast, and the message as edited."""
    edits = len(bot.fake.message(user["id"], message.message_id).edits)
    data = button_data(message, label)
    query_id = bot.fake.press_button(user["id"], message.message_id, data, user)
    answer = await bot.fake.wait_for_callback_answer(query_id)
    edited = await bot.fake.wait_for_edit(user["id"], message.message_id, edits=edits + 1)
    return answer.text, edited


# --- keywords -------------------------------------------------------------------------------


@pytest.mark.parametrize("words", ["的", "的 了", "我们 的"])
@pytest.mark.parametrize(
    ("user", "refusal"),
    [(LI, "只包含几乎每篇文章都有的常用词"), (ALICE, "has only common words")],
    ids=["zh", "en"],
)
async def test_chinese_function_words_alone_are_not_keywords(running_bot, words, user, refusal):
    reply = await running_bot.command(user, "subscribe", words)
    assert refusal in reply.text
    assert await running_bot.services.store.list_subscriptions(user["id"]) == []


async def test_chinese_keywords_with_a_content_word_are_followed(running_bot):
    reply = await running_bot.command(LI, "subscribe", "新药 的")
    assert reply.text.startswith("已订阅关键词「<b>新药 的</b>」")


@pytest.mark.parametrize(
    ("first", "again", "shown"),
    [
        ("museum", "museums", "museum"),
        ("drug approval", "approvals drugs", "drug approval"),
        ('"quantum network"', '"Quantum networks"', "&quot;quantum network&quot;"),
    ],
)
async def test_another_form_of_followed_keywords_is_already_followed(
    running_bot, first, again, shown
):
    await running_bot.command(ALICE, "subscribe", first)
    reply = await running_bot.command(ALICE, "subscribe", again)
    assert reply.text == f"You already follow keywords <b>{shown}</b>."
    assert len(await running_bot.services.store.list_subscriptions(ALICE["id"])) == 1


async def test_a_phrase_and_the_same_words_apart_are_two_subscriptions(running_bot):
    await running_bot.command(ALICE, "subscribe", '"satellite launch"')
    reply = await running_bot.command(ALICE, "subscribe", "satellite launch")
    assert reply.text.startswith("Subscribed to keywords <b>satellite launch</b>")


async def test_a_group_hears_that_it_already_follows_another_form(running_bot):
    running_bot.fake.set_admins(GROUP["id"], [ALICE["id"]])
    await running_bot.command(ALICE, "subscribe", "museum", chat=GROUP)
    reply = await running_bot.command(ALICE, "subscribe", "Museums", chat=GROUP)
    assert reply.text == "This group already follows keywords <b>museum</b>."


@pytest.mark.parametrize(
    ("user", "quantum", "subscribed"),
    [(ALICE, "Quantum communication", "Subscribed to"), (LI, "量子通信", "已订阅")],
    ids=["en", "zh"],
)
async def test_a_chat_with_digests_off_can_still_subscribe(running_bot, user, quantum, subscribed):
    """Each command refreshes the chat; with digests off that once stored a due time without
    its timezone, and /subscribe then failed ("Sorry, something went wrong")."""
    await running_bot.command(user, "frequency", "off")
    await running_bot.command(user, "list")
    reply = await running_bot.command(user, "subscribe", "museum")
    assert reply.text.startswith(subscribed)
    panel = await running_bot.command(user, "topics")
    answer, _ = await press(running_bot, user, panel, quantum)
    assert answer.startswith(subscribed)
    assert (await running_bot.services.store.get_chat(user["id"])).next_digest_at is None


# --- setting commands without a value --------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("time", f"Schedule: {SCHEDULE}\n{NEXT}\nSend the time of day as HH:MM: /time 08:00"),
        (
            "frequency",
            f"Schedule: {SCHEDULE}\n{NEXT}\nChoose one: /frequency daily, "
            "/frequency weekly mon, /frequency hourly or /frequency off",
        ),
        ("bullets", "Bullets per article: 3\nHow many bullets per article, 1 to 10: /bullets 3"),
        ("preview", "Link previews: off\nLink previews on or off: /preview on"),
    ],
)
async def test_a_setting_command_alone_shows_the_current_value(running_bot, command, expected):
    reply = await running_bot.command(ALICE, command)
    assert reply.text == expected


async def test_a_setting_command_alone_speaks_chinese_and_says_when_digests_are_off(running_bot):
    await running_bot.command(LI, "frequency", "off")
    reply = await running_bot.command(LI, "time")
    assert reply.text == (
        "未开启定时摘要：发送 /frequency 每天 即可开启。\n请以 HH:MM 格式发送时间：/time 08:00"
    )
    bullets = await running_bot.command(LI, "bullets")
    assert bullets.text.startswith("每篇要点数：3\n")


# --- the settings screen ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "hourly", "minute", "toast"),
    [
        (ALICE, "Hourly", "at :15", "Every hour at minute :15 (was :00)."),
        (LI, "每小时", "第 15 分", "每小时第 15 分钟（原为第 00 分钟）。"),
    ],
    ids=["en", "zh"],
)
async def test_a_minute_button_of_hourly_digests_says_the_minute(
    running_bot, user, hourly, minute, toast
):
    panel = await running_bot.command(user, "settings")
    _, hourly_panel = await press(running_bot, user, panel, hourly)
    answer, _ = await press(running_bot, user, hourly_panel, minute)
    assert answer == toast


async def test_digests_that_are_off_offer_no_pause_button(running_bot):
    panel = await running_bot.command(ALICE, "settings")
    assert "Pause digests" in [b["text"] for b in panel.buttons()]
    _, off = await press(running_bot, ALICE, panel, "Off")
    labels = [b["text"] for b in off.buttons()]
    assert "Pause digests" not in labels and "Resume digests" not in labels
    assert "Turn link previews on" in labels
    assert "or pause" not in off.text


async def test_paused_digests_turned_off_can_still_be_resumed(running_bot):
    await running_bot.command(ALICE, "pause")
    await running_bot.command(ALICE, "frequency", "off")
    panel = await running_bot.command(ALICE, "settings")
    assert "Resume digests" in [b["text"] for b in panel.buttons()]


# --- search counts ----------------------------------------------------------------------------


async def test_search_counts_read_naturally(running_bot):
    """page_size is 1 in the fixture: "1 of 2", then "2 of 2"; one result is "1 result"."""
    first = await running_bot.command(ALICE, "search", "nine cities")
    assert "🔎 <b>Results for “nine cities”</b> · 1 of 2\n" in first.text
    running_bot.fake.press_button(ALICE["id"], first.message_id, first.callback_data()[0], ALICE)
    [second] = await running_bot.fake.wait_for_messages(ALICE["id"])
    assert " · 2 of 2\n" in second.text
    single = await running_bot.command(ALICE, "search", "museum")
    assert "🔎 <b>Results for “museum”</b> · 1 result\n" in single.text
    chinese = await running_bot.command(LI, "search", "museum")
    assert "🔎 <b>“museum”的搜索结果</b> · 共 1 条\n" in chinese.text


# --- a new group ------------------------------------------------------------------------------


async def test_a_new_group_hears_its_schedule_and_next_digest(running_bot):
    running_bot.fake.bot_added_to_group(GROUP, ALICE)
    [greeting] = await running_bot.fake.wait_for_messages(GROUP["id"])
    assert greeting.text.endswith(
        f"Digests come on this schedule: {SCHEDULE} {NEXT} /settings changes it."
    )
    assert greeting.link_preview_disabled
