"""What a reader of a Chinese (or any) chat still saw in English or wrong (issue 9), end to end:
dates on the chat's clock and in its language, Chinese matches in bold, walkthrough findings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.bot.conftest import RunningBot, stop_bot, write_articles
from tests.bot.test_e2e_digest_ux import running
from tests.support import updates as build

ALICE = build.user(3001, "Alice", language_code="en")
LI = build.user(3002, "Li", language_code="zh-hans")


@pytest.fixture
async def wired_bot(fake, tmp_path, news_folder) -> AsyncIterator[RunningBot]:
    bot = await running(fake, tmp_path)
    try:
        yield bot
    finally:
        await stop_bot(bot.application)
        await asyncio.sleep(0)


# --- dates in the chat's language and timezone ---------------------------------------------


async def test_the_digest_footer_date_is_in_the_chats_language(wired_bot):
    await wired_bot.command(LI, "subscribe", "quantum")
    digest = await wired_bot.command(LI, "digest")
    # 21:50 UTC on 29 Nov is 05:50 on 30 Nov in Shanghai.
    assert "<i>evening-wire · 2026年11月30日 05:50</i>" in digest.text
    assert "Nov" not in digest.text


async def test_search_results_are_dated_like_digests_with_the_source_name(wired_bot):
    english = await wired_bot.command(ALICE, "search", "relay")
    assert "<i>evening-wire · 30 Nov 2026, 05:50</i>" in english.text
    chinese = await wired_bot.command(LI, "search", "relay")
    assert "<i>evening-wire · 2026年11月30日 05:50</i>" in chinese.text
    await wired_bot.command(ALICE, "timezone", "Europe/London")
    london = await wired_bot.command(ALICE, "search", "relay")
    assert "<i>evening-wire · 29 Nov 2026, 21:50</i>" in london.text


# --- Chinese matches in bold ---------------------------------------------------------------


async def test_chinese_search_matches_are_bold_and_the_rest_escaped(running_bot):
    folder = running_bot.config.parent / "news"
    write_articles(
        folder,
        {"shanghai.txt": "上海量子网络<测试>\n\n长三角量子通信网络A&B正式开通。量子通信很快。\n"},
    )
    await running_bot.ingest()
    reply = await running_bot.command(LI, "search", "量子通信")
    assert "<b>量子通信</b>网络A&amp;B正式开通" in reply.text
    assert "上海量子网络&lt;测试&gt;" in reply.text
    mixed = await running_bot.command(LI, "search", "通信 网络")
    assert "<b>通信网络</b>" in mixed.text


# --- walkthrough findings ------------------------------------------------------------------


async def test_a_topic_title_in_any_case_subscribes_to_the_topic(running_bot):
    reply = await running_bot.command(ALICE, "subscribe", "Culture and arts")
    assert reply.text.startswith("Subscribed to topic <b>Culture and arts</b>.")
    again = await running_bot.command(ALICE, "subscribe", "CULTURE AND ARTS")
    assert again.text == "You already follow topic <b>Culture and arts</b>."
    gone = await running_bot.command(ALICE, "unsubscribe", "culture and arts")
    assert gone.text == "Unsubscribed from topic <b>Culture and arts</b>."


async def test_settings_with_digests_off_say_so_once(running_bot):
    await running_bot.command(ALICE, "frequency", "off")
    panel = await running_bot.command(ALICE, "settings")
    lines = panel.text.split("\n")
    offs = [line for line in lines if "off" in line.lower() and "digest" in line.lower()]
    assert len(offs) == 1, panel.text
    assert "/frequency daily" in offs[0]


async def test_the_hour_keyboard_ticks_the_chosen_hour(running_bot):
    await running_bot.command(ALICE, "time", "20:30")
    panel = await running_bot.command(ALICE, "settings")
    ticked = [b["text"] for b in panel.buttons() if b["text"].startswith("✓ ")]
    assert "✓ 20:30" in ticked, ticked
    labels = [b["text"] for b in panel.buttons()]
    assert "08:30" in labels  # the other hours keep the chosen minutes


async def test_chinese_replies_translate_or_set_off_topic_titles(running_bot):
    reply = await running_bot.command(LI, "subscribe", "quantum")
    assert reply.text.startswith("已订阅话题「<b>量子通信</b>」。")
    panel = await running_bot.command(LI, "topics")
    quantum = next(b for b in panel.buttons() if "量子通信" in b["text"])
    query_id = running_bot.fake.press_button(
        LI["id"], panel.message_id, quantum["callback_data"], LI
    )
    answer = await running_bot.fake.wait_for_callback_answer(query_id)
    assert answer.text == "已取消订阅「量子通信」。"
    culture = next(b for b in panel.buttons() if "Culture and arts" in b["text"])
    query_id = running_bot.fake.press_button(
        LI["id"], panel.message_id, culture["callback_data"], LI
    )
    answer = await running_bot.fake.wait_for_callback_answer(query_id)
    assert answer.text == "已订阅「Culture and arts」。"


async def test_a_text_that_finds_nothing_quotes_it_and_says_what_to_do(running_bot):
    english = await running_bot.say(ALICE, "hello there")
    assert "“hello there”" in english.text
    assert "/subscribe" in english.text and "/help" in english.text
    chinese = await running_bot.say(LI, "你好")
    assert "“你好”" in chinese.text and "/subscribe" in chinese.text
    assert "No stored" not in chinese.text


async def test_unsubscribe_all_with_nothing_followed_says_so(running_bot):
    reply = await running_bot.command(ALICE, "unsubscribe", "all")
    assert "0 subscription" not in reply.text
    assert reply.text.startswith("You follow nothing, so there is nothing to unsubscribe from.")
    chinese = await running_bot.command(LI, "unsubscribe", "all")
    assert chinese.text.startswith("你还没有关注任何内容，无需取消订阅。")


# --- reasons from adding sources, in the reader's language ---------------------------------


async def test_add_refusals_and_opml_errors_are_in_chinese(running_bot):
    reply = await running_bot.command(LI, "add", "ftp://example.org/feed")
    assert reply.text.startswith("无法关注 ftp://example.org/feed：")
    assert "只能关注 http:// 和 https:// 开头的地址" in reply.text
    reply = await running_bot.command(LI, "add", "http://10.0.0.1/feed")
    assert "10.0.0.1 是私有或保留地址" in reply.text
    running_bot.fake.private_document(LI, "bad.opml", b"<html><body/></html>")
    answer = (await running_bot.fake.wait_for_messages(LI["id"]))[0]
    assert answer.text.startswith("无法读取该 OPML 文件：")
    assert "不是 OPML" in answer.text


def test_config_topic_titles_per_language(tmp_path: Path):
    from summaries.config import load_config

    path = tmp_path / "config.yaml"
    path.write_text(
        "sources: []\ntopics:\n  - name: quantum\n    title: Quantum\n"
        "    titles: {zh: 量子通信}\n    description: Q\n    keywords: [quantum]\n",
        encoding="utf-8",
    )
    topic = load_config(path).topics[0]
    assert topic.title == "Quantum"
    assert topic.title_in("zh") == "量子通信"
    assert topic.title_in("zh-hans") == "量子通信"
    assert topic.title_in("fr") == "Quantum"
