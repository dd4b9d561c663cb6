"""Polish found by a new user's walkthrough (issue 9), end to end in English and Chinese: a
digest names each source once, /sources shows failures whole, groups are addressed as groups,
Chinese reads as Chinese, /frequency takes the words its buttons show, /timezone suggests only
close names, and re-adding a feed says the keyword filter is gone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.bot import test_e2e_user_sources as user_sources
from tests.bot.test_i18n import stray_spaces
from tests.summaries.sources.conftest import Answer
from tests.support import updates as build

ALICE = build.user(2101, "Alice")
LI = build.user(2102, "Li", language_code="zh-hans")
GROUP = build.group(-4101, "Harbour readers")
ZH_GROUP = build.group(-4102, "港口读者")
MENTION = "@DigestTestBot"
# The user-source tests' fixtures: a loopback site with a feed, and a bot allowed to reach it.
site = user_sources.site
bot = user_sources.bot
user_source_services_of = user_sources.user_source_services_of


def article_block(digest: str, title: str) -> str:
    """The lines of one article in a digest, from its title to the blank line after it."""
    return digest.split(title, 1)[1].split("\n\n", 1)[0]


# --- 1. one source line per article ----------------------------------------------------------


async def test_a_digest_names_each_articles_source_once(bot, site):
    await bot.command(ALICE, "add", site.url("/feed.xml") + " ferries")
    await bot.command(LI, "subscribe", "quantum")
    await bot.command(LI, "add", site.url("/feed.xml"))
    bot.clock.now += timedelta(days=1)
    await bot.round()
    [english] = await bot.fake.wait_for_messages(ALICE["id"])
    [chinese] = await bot.fake.wait_for_messages(LI["id"])
    ferry = article_block(english.text, "Ferry timetable changes")
    # What brought it (here the source's keyword filter), then where and when, once.
    assert ferry.endswith("\n🏷 <b>ferries</b>\n<i>Harbour &amp; Co News · 25 Nov 2026, 14:00</i>")
    assert ferry.count("Harbour &amp; Co News") == 1
    lab = article_block(chinese.text, "Harbour opens a quantum lab")
    assert lab.endswith("\n🏷 量子通信\n<i>Harbour &amp; Co News · 2026年11月26日 14:00</i>")
    assert lab.count("Harbour &amp; Co News") == 1
    whole = article_block(chinese.text, "Ferry timetable changes")  # just the source: no tag
    assert whole.endswith("price.\n<i>Harbour &amp; Co News · 2026年11月25日 14:00</i>")
    assert "🏷" not in whole and whole.count("Harbour &amp; Co News") == 1


# --- 2. /sources failure reasons whole --------------------------------------------------------


async def test_sources_show_a_failure_reason_whole(bot, site):
    for user in (ALICE, LI):
        await bot.command(user, "add", site.url("/feed.xml"))
    site.routes["/feed.xml"] = lambda _: Answer(503, b"busy")
    await user_source_services_of(bot).poller.poll_due(bot.clock.now + timedelta(hours=1))
    english = await bot.command(ALICE, "sources")
    assert "last fetch failed: the server had a problem (HTTP 503)" in english.text
    assert "…" not in english.text
    chinese = await bot.command(LI, "sources")
    assert "上次抓取失败：服务器出错（HTTP 503）" in chinese.text
    assert "…" not in chinese.text


# --- 3. groups are addressed as groups ---------------------------------------------------------


@pytest.mark.parametrize(
    ("admin", "group", "expected", "you"),
    [
        (
            ALICE,
            GROUP,
            {
                "add": "New articles come in this group's digests",
                "subscribe": "this group's next digest",
                "sources": "<b>This group's sources</b>",
                "help": f"/list{MENTION} — This group's subscriptions and digest schedule",
            },
            "your",
        ),
        (
            LI,
            ZH_GROUP,
            {
                "add": "新文章会出现在本群的摘要中",
                "subscribe": "本群的下一期摘要",
                "sources": "<b>本群的来源</b>",
                "help": f"/list{MENTION} — 本群的订阅和摘要时间安排",
            },
            "你",
        ),
    ],
    ids=["en", "zh"],
)
async def test_group_replies_speak_of_the_group_not_of_you(bot, site, admin, group, expected, you):
    bot.fake.set_admins(group["id"], [admin["id"]])
    arguments = {"add": site.url("/feed.xml"), "subscribe": "quantum", "sources": "", "help": ""}
    for command, args in arguments.items():
        reply = await bot.command(admin, command, args, chat=group)
        assert expected[command] in reply.text
        assert you not in reply.text.lower(), reply.text


async def test_the_group_command_menu_speaks_of_the_group(bot):
    group_scope = {"type": "all_group_chats"}
    english = {c["command"]: c["description"] for c in bot.fake.commands(group_scope)}
    assert english["list"] == "This group's subscriptions and digest schedule"
    chinese = {
        c["command"]: c["description"] for c in bot.fake.commands(group_scope, language_code="zh")
    }
    assert chinese["list"] == "本群的订阅和摘要时间安排"
    private = {c["command"]: c["description"] for c in bot.fake.commands()}
    assert private["list"] == "Your subscriptions and digest schedule"


async def test_members_help_leaves_out_adding_sources(bot):
    member = build.user(2103, "Bob")
    bot.fake.set_admins(GROUP["id"], [ALICE["id"]])
    text = (await bot.command(member, "help", chat=GROUP)).text
    assert f"/add{MENTION}" not in text
    assert f"/sources{MENTION}" in text


# --- 4 and 5. Chinese punctuation and examples ------------------------------------------------


async def test_chinese_replies_have_no_space_beside_full_width_quotes(bot):
    frequency = await bot.command(LI, "frequency", "sometimes")
    assert frequency.text.startswith("“sometimes”不是有效的频率。")
    add = await bot.command(LI, "add", "not a url")
    assert add.text.startswith("“not a url”不是网址。")
    timezone = await bot.command(LI, "timezone", "Mars/Base")
    assert timezone.text.startswith("我不认识“Mars/Base”这个时区。")
    # Names set off by 「」, not by spaces: "已订阅话题「量子通信」", not "已订阅话题 量子通信".
    replies = [
        frequency,
        add,
        timezone,
        await bot.command(LI, "subscribe", "quantum"),
        await bot.command(LI, "subscribe", "量子通信网"),
        await bot.command(LI, "list"),
        await bot.command(LI, "unsubscribe", "斑马"),
        await bot.command(LI, "unsubscribe", "quantum"),
    ]
    assert replies[3].text.startswith("已订阅话题「<b>量子通信</b>」。")
    for reply in replies:
        # CLDR's dates keep their space ("11月28日 周六").
        shown = re.sub(r"(\d+月\d+日) (周.)", r"\1\2", reply.plain_text)
        assert stray_spaces(shown) == [], reply.plain_text


async def test_chinese_language_list_and_add_hint_are_written_in_chinese(bot):
    language = await bot.command(LI, "language")
    assert "/language en（English）、/language zh（简体中文）" in language.text
    english = await bot.command(ALICE, "language")
    assert "/language en (English), /language zh (简体中文)" in english.text
    add = await bot.command(LI, "add")
    assert "/add https://example.org/feed 量子" in add.text
    assert "quantum" not in add.text


# --- 6. /frequency in the words the chat sees ------------------------------------------------


async def test_frequency_takes_the_words_the_chats_language_shows(bot):
    panel = await bot.command(LI, "settings")
    labels = [button["text"].removeprefix("✓ ") for button in panel.buttons()[:4]]
    assert labels == ["每小时", "每天", "每周", "关闭"]
    expected = {
        "每周": "推送频率：每星期一（原为每天）。",
        "每小时": "推送频率：每小时（原为每星期一）。",
        "关闭": "推送频率：关闭（原为每小时）。",
        "每天": "推送频率：每天（原为关闭）。",
        "每周五": "推送频率：每星期五（原为每天）。",
        "每周 周三": "推送频率：每星期三（原为每星期五）。",
        "每星期二": "推送频率：每星期二（原为每星期三）。",
        "daily": "推送频率：每天（原为每星期二）。",  # English always
    }
    for words, answer in expected.items():
        reply = await bot.command(LI, "frequency", words)
        assert reply.text.split("\n")[0] == answer, words
    preview = await bot.command(LI, "preview", "开启")
    assert preview.text == "链接预览：开启（原为关闭）。"
    weekly = await bot.command(ALICE, "frequency", "weekly fri")
    assert weekly.text.startswith("How often: weekly, on Friday (was daily).")


# --- 7. plausible timezone suggestions ------------------------------------------------------


async def test_timezone_suggests_only_close_names(bot):
    unknown = await bot.command(ALICE, "timezone", "Mars/Base")
    assert unknown.text.startswith("“Mars/Base” is not a timezone I know.")
    assert "Did you mean" not in unknown.text
    assert "Marquesas" not in unknown.text
    for example in ("/timezone UTC+8", "/timezone Asia/Shanghai", "/timezone London"):
        assert example in unknown.text
    typo = await bot.command(ALICE, "timezone", "Asia/Shangai")
    assert "Did you mean Asia/Shanghai?" in typo.text
    city = await bot.command(ALICE, "timezone", "Berlim")
    assert "Did you mean Europe/Berlin?" in city.text
    chinese = await bot.command(LI, "timezone", "Asia/Shangai")
    assert "你是不是想找 Asia/Shanghai？" in chinese.text


# --- 8. re-adding without keywords ------------------------------------------------------------


async def test_re_adding_without_keywords_says_the_filter_is_removed(bot, site):
    url = site.url("/feed.xml")
    await bot.command(ALICE, "add", url + " ferries")
    again = await bot.command(ALICE, "add", url)
    assert again.text.split("\n")[0] == (
        "The keyword filter “ferries” is removed: "
        "you now get every article from <b>Harbour &amp; Co News</b>."
    )
    await bot.command(LI, "add", url + " ferries")
    chinese = await bot.command(LI, "add", url)
    assert chinese.text.split("\n")[0] == (
        "已取消关键词筛选“ferries”：你现在会收到 <b>Harbour &amp; Co News</b> 的全部文章。"
    )
