"""Settings that say what they did, and when the next digest comes (issue 9, items 5-8)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.ingest import ingest_due
from tests.bot.conftest import Clock, start_bot, stop_bot, ticking, write_config
from tests.support import updates as build

ALICE = build.user(1001, "Alice")
# The fixture's clock: Thu 26 Nov 2026 07:00 UTC, 15:00 in Shanghai (the default zone).
NEXT_DEFAULT = "Next digest: Fri 27 Nov, 08:00 (Asia/Shanghai)."


def button_texts(message) -> list[str]:
    return [button["text"] for row in message.reply_markup["inline_keyboard"] for button in row]


def button_data(message, text: str) -> str:
    for row in message.reply_markup["inline_keyboard"]:
        for button in row:
            if button["text"] == text:
                return button["callback_data"]
    raise AssertionError(f"no button {text!r} in {button_texts(message)}")


async def test_each_change_names_the_setting_its_new_and_old_value(running_bot):
    reply = await running_bot.command(ALICE, "bullets", "10")  # 1-10, as in the config
    assert "Bullets per article: 10 (was 3)." in reply.text
    reply = await running_bot.command(ALICE, "bullets", "5")
    assert "Bullets per article: 5 (was 10)." in reply.text
    assert "Schedule" not in reply.text
    reply = await running_bot.command(ALICE, "preview", "on")
    assert "Link previews: on (was off)." in reply.text
    reply = await running_bot.command(ALICE, "preview", "on")
    assert "Link previews: on (unchanged)." in reply.text
    reply = await running_bot.command(ALICE, "frequency", "weekly fri")
    assert "How often: weekly, on Friday (was daily)." in reply.text


async def test_every_schedule_change_tells_the_next_digest_in_local_time(running_bot):
    reply = await running_bot.command(ALICE, "time", "7:30")
    assert "Digest time: 07:30 (was 08:00)." in reply.text
    assert "Next digest: Fri 27 Nov, 07:30 (Asia/Shanghai)." in reply.text
    reply = await running_bot.command(ALICE, "timezone", "Europe/London")
    assert "Timezone: Europe/London (was Asia/Shanghai)." in reply.text
    # 07:00 UTC is 07:00 in London: 07:30 today is still to come.
    assert "Next digest: Thu 26 Nov, 07:30 (Europe/London)." in reply.text
    reply = await running_bot.command(ALICE, "frequency", "weekly mon")
    assert "Next digest: Mon 30 Nov, 07:30 (Europe/London)." in reply.text
    reply = await running_bot.command(ALICE, "pause")
    assert "Scheduled digests: paused (was active)." in reply.text
    assert "/resume" in reply.text
    reply = await running_bot.command(ALICE, "resume")
    assert "Scheduled digests: active (was paused)." in reply.text
    assert "Next digest: Mon 30 Nov, 07:30 (Europe/London)." in reply.text
    listing = await running_bot.command(ALICE, "list")
    assert "Next digest: Mon 30 Nov, 07:30 (Europe/London)." in listing.text
    panel = await running_bot.command(ALICE, "settings")
    assert "Next digest: Mon 30 Nov, 07:30 (Europe/London)." in panel.text


async def test_start_tells_the_default_schedule(running_bot):
    welcome = await running_bot.command(ALICE, "start")
    assert "Every day at 08:00 Asia/Shanghai." in welcome.text
    assert NEXT_DEFAULT in welcome.text


async def test_timezone_without_argument_shows_zone_and_local_time(running_bot):
    reply = await running_bot.command(ALICE, "timezone")
    assert "Your timezone is Asia/Shanghai; the time there is Thu 26 Nov, 15:00." in reply.text
    assert "/timezone UTC+8" in reply.text


async def test_utc_offsets_read_as_written(running_bot):
    reply = await running_bot.command(ALICE, "timezone", "UTC+8")
    assert "Timezone: UTC+08:00 (was Asia/Shanghai)." in reply.text
    assert "Etc/GMT" not in reply.text
    assert "Next digest: Fri 27 Nov, 08:00 (UTC+08:00)." in reply.text
    reply = await running_bot.command(ALICE, "timezone", "UTC-5")
    assert "Timezone: UTC-05:00 (was UTC+08:00)." in reply.text
    panel = await running_bot.command(ALICE, "settings")
    assert "Every day at 08:00 UTC-05:00." in panel.text


async def test_a_digest_comes_at_0800_in_a_utc_offset_zone(fake, tmp_path, news_folder):
    clock = Clock(datetime(2026, 11, 25, 22, 0, tzinfo=UTC))  # 06:00 at UTC+8
    application = await start_bot(fake, write_config(tmp_path), clock, ticking(clock))
    try:
        await ingest_due(application.bot_data["services"], clock(), force=True)
        fake.private_command(ALICE, "timezone", "UTC+8")
        await fake.wait_for_messages(ALICE["id"])
        fake.private_command(ALICE, "subscribe", "quantum")
        await fake.wait_for_messages(ALICE["id"])
        clock.now = datetime(2026, 11, 25, 23, 59, 0, tzinfo=UTC)  # 07:59 at UTC+8
        await asyncio.sleep(0.3)
        assert len(fake.sent(ALICE["id"])) == 2
        clock.now = datetime(2026, 11, 26, 0, 0, 5, tzinfo=UTC)  # 08:00:05 at UTC+8
        digest = (await fake.wait_for_messages(ALICE["id"], timeout=10))[0]
        assert "Quantum network links nine cities" in digest.text
    finally:
        await stop_bot(application)


async def test_hourly_mode_explains_itself_and_offers_minutes(running_bot):
    fake = running_bot.fake
    await running_bot.command(ALICE, "frequency", "hourly")
    reply = await running_bot.command(ALICE, "time", "8:30am")
    assert "every hour at minute :30" in reply.text
    assert "Next digest: Thu 26 Nov, 15:30 (Asia/Shanghai)." in reply.text
    panel = await running_bot.command(ALICE, "settings")
    texts = button_texts(panel)
    assert [t for t in texts if t.endswith((":00", ":30"))] == ["at :00", "✓ at :30"]
    assert "every hour at the minute you choose" in panel.text
    query_id = fake.press_button(
        ALICE["id"], panel.message_id, button_data(panel, "at :45"), ALICE
    )
    answer = await fake.wait_for_callback_answer(query_id)
    assert answer.text == "Every hour at minute :45 (was :30)."
    chat = await running_bot.services.store.get_chat(ALICE["id"])
    assert chat.digest_time.minute == 45


async def test_settings_buttons_say_what_they_do(running_bot):
    fake = running_bot.fake
    panel = await running_bot.command(ALICE, "settings")
    texts = button_texts(panel)
    assert "Turn link previews on" in texts and "Pause digests" in texts
    assert "✓ Daily" in texts and "✓ 08:00" in texts
    assert {f"{hour:02d}:00" for hour in range(24)} - {"08:00"} <= set(texts)
    assert not any(text in texts for text in ("Mon", "Fri"))  # weekdays only for weekly

    query_id = fake.press_button(
        ALICE["id"], panel.message_id, button_data(panel, "Weekly"), ALICE
    )
    assert (await fake.wait_for_callback_answer(query_id)).text.startswith(
        "How often: weekly, on Monday (was daily)."
    )
    weekly = await fake.wait_for_edit(ALICE["id"], panel.message_id)
    query_id = fake.press_button(ALICE["id"], panel.message_id, button_data(weekly, "Fri"), ALICE)
    assert (await fake.wait_for_callback_answer(query_id)).text.startswith(
        "How often: weekly, on Friday (was weekly, on Monday)."
    )
    friday = await fake.wait_for_edit(ALICE["id"], panel.message_id, edits=2)
    assert "✓ Fri" in button_texts(friday)
    query_id = fake.press_button(
        ALICE["id"], panel.message_id, button_data(friday, "Turn link previews on"), ALICE
    )
    assert (await fake.wait_for_callback_answer(query_id)).text == "Link previews: on (was off)."
    edited = await fake.wait_for_edit(ALICE["id"], panel.message_id, edits=3)
    assert "Turn link previews off" in button_texts(edited)
    chat = await running_bot.services.store.get_chat(ALICE["id"])
    assert chat.weekday == 4 and chat.link_preview and chat.frequency == "weekly"
