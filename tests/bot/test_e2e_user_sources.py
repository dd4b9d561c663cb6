"""Chats bring their own sources: /add, /sources, /export, OPML files and bare URLs, end to end.

The real Application talks to the Bot API fake over HTTP; the sites are a real HTTP server on
loopback, which the config allows explicitly (user URLs may never reach loopback otherwise).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.handlers.sources import user_source_services
from summaries.sources.opml import parse_opml
from tests.bot.conftest import Clock, RunningBot, start_bot, stop_bot, write_config
from tests.summaries.sources.conftest import Answer, LoopbackServer
from tests.support import updates as build

ALICE = build.user(2001, "Alice")
BOB = build.user(2002, "Bob")

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour &amp; Co News</title>
<item><title>Harbour opens a quantum lab</title><link>https://harbour.example/a</link>
<guid>a</guid><pubDate>Thu, 26 Nov 2026 06:00:00 GMT</pubDate>
<description>The harbour district opened a quantum lab on Thursday. The lab will train two
hundred engineers a year. City officials said the lab cost forty million yuan.</description>
</item>
<item><title>Ferry timetable changes</title><link>https://harbour.example/b</link>
<guid>b</guid><pubDate>Wed, 25 Nov 2026 06:00:00 GMT</pubDate>
<description>Ferries to the islands leave every twenty minutes from Monday. The operator
added three boats for the winter season. Tickets stay at the same price.</description>
</item></channel></rss>"""
PAGE = b"""<html><head><title>Harbour</title>
<link rel="alternate" type="application/rss+xml" href="/feed.xml"></head>
<body><p>Welcome to the harbour.</p></body></html>"""


@pytest.fixture
def site() -> AsyncIterator[LoopbackServer]:
    server = LoopbackServer()
    server.routes["/feed.xml"] = lambda _: Answer(
        200, FEED, {"Content-Type": "application/rss+xml"}
    )
    server.routes["/page.html"] = lambda _: Answer(200, PAGE, {"Content-Type": "text/html"})
    server.start()
    yield server
    server.close()


@pytest.fixture
async def bot(fake, tmp_path: Path, news_folder: Path, site) -> AsyncIterator[RunningBot]:
    extra = "  user_sources:\n    allowed_hosts: [127.0.0.1]\n    max_per_chat: 2\n"
    config = write_config(tmp_path, extra_bot=extra)
    clock = Clock()
    application = await start_bot(fake, config, clock)
    running = RunningBot(fake, application, clock, config)
    try:
        yield running
    finally:
        await stop_bot(application)
        await asyncio.sleep(0)


async def test_a_page_is_followed_by_its_feed_and_the_reply_shows_the_newest(bot, site):
    reply = await bot.command(ALICE, "add", site.url("/page.html"))
    assert "Now following <b>Harbour &amp; Co News</b> (feed)." in reply.text
    assert "It has 2 articles now." in reply.text
    assert "Newest: <b>Harbour opens a quantum lab</b>" in reply.text
    assert "• " in reply.text
    assert site.requests_to("/feed.xml")


async def test_own_sources_arrive_whole_in_the_scheduled_digest(bot, site):
    await bot.command(ALICE, "add", site.url("/feed.xml"))
    bot.clock.now += timedelta(days=1)  # past the next 08:00 Asia/Shanghai
    await bot.round()
    digest = (await bot.fake.wait_for_messages(ALICE["id"]))[0]
    assert "Harbour opens a quantum lab" in digest.text
    assert "Ferry timetable changes" in digest.text


async def test_keywords_after_the_url_filter_the_source(bot, site):
    reply = await bot.command(BOB, "add", site.url("/feed.xml") + " ferries")
    assert "Only articles matching: <b>ferries</b>" in reply.text
    bot.clock.now += timedelta(days=1)
    await bot.round()
    digest = (await bot.fake.wait_for_messages(BOB["id"]))[0]
    assert "Ferry timetable changes" in digest.text
    assert "quantum lab" not in digest.text


async def test_sources_lists_health_and_a_remove_button_edits_in_place(bot, site):
    await bot.command(ALICE, "add", site.url("/feed.xml"))
    listing = await bot.command(ALICE, "sources")
    assert "<b>Harbour &amp; Co News</b>" in listing.text
    assert "fetched Thu 26 Nov, 15:00" in listing.text  # 07:00 UTC on the chat's Shanghai clock
    [remove] = listing.callback_data()
    query = bot.fake.press_button(ALICE["id"], listing.message_id, remove, ALICE)
    answer = await bot.fake.wait_for_callback_answer(query)
    assert answer.text == "Removed Harbour & Co News."
    edited = await bot.fake.wait_for_edit(ALICE["id"], listing.message_id)
    assert "no sources of its own" in edited.plain_text


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.org/feed", "only http:// and https://"),
        ("http://10.0.0.7/feed", "private or reserved address"),
        ("http://169.254.169.254/latest/meta-data/", "private or reserved address"),
        ("http://[::1]:8080/", "private or reserved address"),
    ],
)
async def test_urls_that_reach_inside_are_refused_with_the_reason(bot, url, reason):
    reply = await bot.command(ALICE, "add", url)
    assert reply.text.startswith("Cannot follow")
    assert reason in reply.text


async def test_a_host_name_that_resolves_to_loopback_is_refused(bot, site):
    port = site.url("/").rsplit(":", 1)[1].rstrip("/")
    reply = await bot.command(ALICE, "add", f"http://localhost:{port}/feed.xml")
    assert "Cannot follow" in reply.text
    assert "localhost resolves to a private or reserved address" in reply.text
    assert "Error" not in reply.text  # no exception class names shown to users
    assert site.requests == []


async def test_the_cap_per_chat_is_enforced(bot, site):
    site.routes["/other.xml"] = site.routes["/feed.xml"]
    site.routes["/third.xml"] = site.routes["/feed.xml"]
    for path in ("/feed.xml", "/other.xml"):
        assert "Now following" in (await bot.command(ALICE, "add", site.url(path))).text
    reply = await bot.command(ALICE, "add", site.url("/third.xml"))
    assert "follows 2 sources already" in reply.text


async def test_opml_in_and_out(bot, site):
    opml = (
        '<?xml version="1.0"?><opml version="2.0"><body>'
        f'<outline text="Harbour" xmlUrl="{site.url("/feed.xml")}"/>'
        '<outline text="Secret" xmlUrl="http://10.1.1.1/feed"/>'
        "</body></opml>"
    ).encode()
    bot.fake.private_document(ALICE, "mine.opml", opml)
    report = (await bot.fake.wait_for_messages(ALICE["id"]))[-1]
    assert "Added: 1" in report.text and "Failed: 1" in report.text
    assert "Secret" in report.text and "private or reserved" in report.text

    bot.fake.command(build.private_chat(ALICE), ALICE, "export")
    [exported] = await bot.fake.wait_for_messages(ALICE["id"])
    name, content = exported.document
    assert name == "sources.opml"
    assert [feed.url for feed in parse_opml(content)] == [site.url("/feed.xml")]


async def test_a_hostile_opml_is_refused_without_following_anything(bot):
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body><outline xmlUrl="&a;"/></body></opml>'
    bot.fake.private_document(ALICE, "bomb.opml", bomb)
    reply = (await bot.fake.wait_for_messages(ALICE["id"]))[-1]
    assert "Cannot read that OPML file" in reply.text
    assert await user_source_services_of(bot).store.follows_of_chat(ALICE["id"]) == []


async def test_a_bare_url_in_a_private_chat_offers_an_add_button(bot, site):
    offer = await bot.say(ALICE, site.url("/feed.xml"))
    assert "Follow this address as a source?" in offer.text
    [add] = offer.callback_data()
    bot.fake.press_button(ALICE["id"], offer.message_id, add, ALICE)
    edited = await bot.fake.wait_for_edit(ALICE["id"], offer.message_id)
    assert "Now following" in edited.plain_text


async def test_only_group_admins_add_sources(bot, site):
    group = build.group(-4001, "Readers")
    bot.fake.set_admins(-4001, [ALICE["id"]])
    bot.fake.command(group, BOB, "add", site.url("/feed.xml"))
    refusal = (await bot.fake.wait_for_messages(-4001))[0]
    assert "administrators" in refusal.text
    bot.fake.command(group, ALICE, "add", site.url("/feed.xml"))
    accepted = (await bot.fake.wait_for_messages(-4001))[0]
    assert "Now following" in accepted.text


def user_source_services_of(bot: RunningBot):
    class Context:
        bot_data = bot.application.bot_data

    return user_source_services(Context())  # type: ignore[arg-type]


async def test_stats_show_user_sources_and_the_failing_ones(bot, site):
    from tests.bot.conftest import ADMIN_ID

    admin = build.user(ADMIN_ID, "Admin")
    await bot.command(ALICE, "add", site.url("/feed.xml"))
    site.routes["/feed.xml"] = lambda _: Answer(500, b"down")
    sources = user_source_services_of(bot)
    await sources.poller.poll_due(bot.clock.now + timedelta(hours=1))
    stats = await bot.command(admin, "stats")
    assert "<b>User sources</b>: 1, followed 1 times; 1 failing" in stats.text
    assert "HTTP 500" in stats.text


async def test_the_operator_can_turn_user_sources_off(fake, tmp_path, news_folder):
    config = write_config(tmp_path, extra_bot="  user_sources:\n    enabled: false\n")
    application = await start_bot(fake, config, Clock())
    try:
        running = RunningBot(fake, application, Clock(), config)
        reply = await running.command(ALICE, "add", "https://example.org/feed")
        assert "turned off" in reply.text
    finally:
        await stop_bot(application)


async def test_a_chats_own_source_reaches_no_other_chat(bot, site):
    await bot.command(BOB, "subscribe", "quantum")  # the topic: the feed's lead item is about it
    await bot.command(BOB, "subscribe", "ferries")  # and a keyword of its other item
    reply = await bot.command(ALICE, "add", site.url("/feed.xml"))
    assert "Now following" in reply.text
    search = await bot.command(BOB, "search", "harbour quantum lab")
    assert "Harbour opens a quantum lab" not in search.text
    bot.clock.now += timedelta(days=1)
    await bot.round()
    alice = (await bot.fake.wait_for_messages(ALICE["id"]))[0]
    assert "Harbour opens a quantum lab" in alice.text
    await asyncio.sleep(0.2)
    assert all("Harbour" not in sent.text for sent in bot.fake.sent(BOB["id"]))


async def test_a_configured_source_is_not_followed_as_ones_own(fake, tmp_path, news_folder, site):
    extra = "  user_sources:\n    allowed_hosts: [127.0.0.1]\n"
    config = write_config(tmp_path, extra_bot=extra)
    text = config.read_text()
    config.write_text(
        text.replace(
            "sources:\n",
            f"sources:\n  - name: harbour\n    location: {site.url('/feed.xml')}\n",
            1,
        )
    )
    application = await start_bot(fake, config, Clock())
    try:
        running = RunningBot(fake, application, Clock(), config)
        reply = await running.command(ALICE, "add", site.url("/page.html"))
        assert "already one of this bot's sources" in reply.text
    finally:
        await stop_bot(application)


async def test_other_files_get_a_hint_and_re_adding_says_what_changed(bot, site):
    bot.fake.private_document(ALICE, "notes.txt", b"hello")
    hint = (await bot.fake.wait_for_messages(ALICE["id"]))[-1]
    assert "I can read .opml files" in hint.text
    await bot.command(ALICE, "add", site.url("/feed.xml") + " ferries")
    again = await bot.command(ALICE, "add", site.url("/feed.xml"))
    assert "keyword filter “ferries” is removed" in again.text


# --- QA findings: a chat's own source as a subscription ---------------------------------------


async def test_list_names_an_own_source_by_its_title_and_its_button_too(bot, site):
    await bot.command(ALICE, "subscribe", "quantum")
    await bot.command(ALICE, "add", site.url("/feed.xml") + " ferries")
    listing = await bot.command(ALICE, "list")
    assert "• source <b>Harbour &amp; Co News</b> (only: ferries)" in listing.text
    assert "keywords" not in listing.text
    labels = [button["text"] for button in listing.buttons()]
    assert labels == ["✖ Quantum communication", "✖ Harbour & Co News"]
    [_, remove] = listing.callback_data()
    query = bot.fake.press_button(ALICE["id"], listing.message_id, remove, ALICE)
    answer = await bot.fake.wait_for_callback_answer(query)
    assert answer.text == "Unsubscribed from Harbour & Co News."
    assert await user_source_services_of(bot).store.follows_of_chat(ALICE["id"]) == []


async def test_list_in_chinese_says_source(bot, site):
    zh_user = build.user(2003, "张", language_code="zh-CN")
    await bot.command(zh_user, "add", site.url("/feed.xml") + " ferries")
    listing = await bot.command(zh_user, "list")
    assert "• 来源「<b>Harbour &amp; Co News</b>」（仅限：ferries）" in listing.text


async def test_unsubscribe_by_the_url_removes_the_source(bot, site):
    await bot.command(ALICE, "add", site.url("/feed.xml"))
    reply = await bot.command(ALICE, "unsubscribe", site.url("/feed.xml"))
    assert reply.text == "Unsubscribed from source <b>Harbour &amp; Co News</b>."
    assert await user_source_services_of(bot).store.follows_of_chat(ALICE["id"]) == []
    again = await bot.command(ALICE, "unsubscribe", site.url("/feed.xml"))
    assert again.text.startswith("You do not follow the source " + site.url("/feed.xml"))
    assert "keywords" not in again.text


async def test_unsubscribe_all_says_what_it_removed(bot, site):
    await bot.command(ALICE, "subscribe", "quantum")
    await bot.command(ALICE, "subscribe", "ferries")
    await bot.command(ALICE, "subscribe", "museum")
    await bot.command(ALICE, "add", site.url("/feed.xml"))
    reply = await bot.command(ALICE, "unsubscribe", "all")
    assert reply.text == (
        "Unsubscribed from everything: 1 topic, 2 keyword subscriptions, 1 source."
    )
    assert await user_source_services_of(bot).store.follows_of_chat(ALICE["id"]) == []


async def test_a_digest_says_which_own_source_brought_an_article(bot, site):
    await bot.ingest()  # the configured local news: a quantum article
    await bot.command(ALICE, "subscribe", "quantum")
    await bot.command(ALICE, "add", site.url("/feed.xml") + " ferries")
    bot.clock.now += timedelta(days=1)
    await bot.round()
    [digest] = await bot.fake.wait_for_messages(ALICE["id"])
    assert (
        "Topics: Quantum communication · Sources: Harbour &amp; Co News · 2 articles"
        in digest.text
    )
    ferry = digest.text.split("Ferry timetable changes", 1)[1].split("\n\n", 1)[0]
    # The source is named once: the tag says what let it through, the source line where from.
    assert "🏷 <b>ferries</b>\n<i>Harbour &amp; Co News · 25 Nov 2026, 14:00</i>" in ferry
    assert "127.0.0.1" not in digest.text


async def test_a_digest_of_own_sources_only_names_them_in_the_header(bot, site):
    await bot.command(ALICE, "add", site.url("/feed.xml"))
    bot.clock.now += timedelta(days=1)
    await bot.round()
    [digest] = await bot.fake.wait_for_messages(ALICE["id"])
    assert "Sources: Harbour &amp; Co News · 2 articles" in digest.text
    assert "🏷" not in digest.text  # brought whole by the source its source line names
    assert digest.text.count("<i>Harbour &amp; Co News · ") == 2


# --- QA findings: what /add answers -------------------------------------------------------------


async def test_a_broken_feed_without_items_is_refused(bot, site):
    site.routes["/garbage.xml"] = lambda _: Answer(
        200, b"<rss><channel><item>", {"Content-Type": "application/rss+xml"}
    )
    url = site.url("/garbage.xml")
    reply = await bot.command(ALICE, "add", url)
    assert reply.text == f"Cannot follow {url}: this does not look like a readable feed"
    assert await user_source_services_of(bot).store.follows_of_chat(ALICE["id"]) == []


async def test_a_well_formed_empty_feed_is_followed_and_says_it_is_empty(bot, site):
    empty = b'<?xml version="1.0"?><rss version="2.0"><channel></channel></rss>'
    site.routes["/empty.xml"] = lambda _: Answer(
        200, empty, {"Content-Type": "application/rss+xml"}
    )
    url = site.url("/empty.xml")
    reply = await bot.command(ALICE, "add", url)
    assert reply.text.startswith(f"Now following <b>{url}</b> (feed).")
    assert "It has no articles yet." in reply.text
    listing = await bot.command(ALICE, "sources")
    assert listing.text.count(url) == 1


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_fetch_failures_are_told_plainly_and_name_the_url_once(bot, site):
    site.routes["/secret.xml"] = lambda _: Answer(403, b"go away")
    zh_user = build.user(2003, "张", language_code="zh-CN")
    down = f"http://127.0.0.1:{closed_port()}/feed"
    expected = [
        (ALICE, site.url("/missing.xml"), "Cannot follow {url}: page not found (HTTP 404)"),
        (ALICE, site.url("/secret.xml"), "Cannot follow {url}: the server refused (HTTP 403)"),
        (ALICE, down, "Cannot follow {url}: the server did not answer"),
        (zh_user, down, "无法关注 {url}：服务器没有响应"),
        (zh_user, site.url("/missing.xml"), "无法关注 {url}：找不到该页面（HTTP 404）"),
    ]
    for user, url, text in expected:
        reply = await bot.command(user, "add", url)
        assert reply.text == text.format(url=url)


async def test_add_with_keywords_shows_the_newest_matching_article(bot, site):
    reply = await bot.command(ALICE, "add", site.url("/feed.xml") + " ferries")
    assert "Newest matching: <b>Ferry timetable changes</b>" in reply.text
    assert "quantum lab" not in reply.text
    none = await bot.command(BOB, "add", site.url("/feed.xml") + " tram")
    assert "None of its articles matches <b>tram</b> yet." in none.text
    assert "Newest" not in none.text


async def test_re_adding_without_change_says_so_and_names_the_feed_found(bot, site):
    first = await bot.command(ALICE, "add", site.url("/page.html"))
    feed = site.url("/feed.xml")
    assert f"Found its feed at {feed}." in first.text
    again = await bot.command(ALICE, "add", feed)
    assert again.text == "You already follow <b>Harbour &amp; Co News</b> (feed)."
    via_page = await bot.command(ALICE, "add", site.url("/page.html"))
    assert via_page.text == (
        f"You already follow <b>Harbour &amp; Co News</b> (feed).\nFound its feed at {feed}."
    )


async def test_add_with_words_but_no_address_explains_the_usage(bot):
    reply = await bot.command(ALICE, "add", "not a url")
    assert reply.text.startswith("“not a url” is not a web address. Send a web address to follow:")
    assert "/add https://example.org/feed quantum" in reply.text
    zh = await bot.command(build.user(2003, "张", language_code="zh-CN"), "add", "量子 通信")
    assert zh.text.startswith("“量子 通信”不是网址。发送要关注的网址：")
    no_scheme = await bot.command(ALICE, "add", "example.org/feed")
    assert no_scheme.text.startswith("Cannot follow example.org/feed: only http://")
