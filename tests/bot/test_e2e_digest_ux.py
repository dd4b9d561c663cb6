"""A digest that explains itself (issue 9, items 1-3): why each article is here, where and when
it is from, what is left, every part numbered, "latest" lists in publication order."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.bot.conftest import (
    Clock,
    RunningBot,
    start_bot,
    stop_bot,
    write_articles,
    write_config,
)
from tests.support import updates as build

ALICE = build.user(1001, "Alice")

FEED = """\
<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
  <title>Shanghai Evening Wire</title>
  <link>https://wire.example.org/</link>
  <description>News</description>
  <item>
    <title>Quantum lab opens early in the week</title>
    <link>https://wire.example.org/early</link>
    <pubDate>Fri, 20 Nov 2026 10:00:00 GMT</pubDate>
    <description>A quantum lab opened its doors to students. It shows quantum key
    distribution to visitors every week.</description>
  </item>
  <item>
    <title>Quantum relay finished late at night</title>
    <link>https://wire.example.org/late</link>
    <pubDate>Sun, 29 Nov 2026 21:50:00 GMT</pubDate>
    <description>Engineers finished the quantum relay station late on Sunday. The quantum
    link carries keys between two districts.</description>
  </item>
</channel></rss>
"""
WIRE = """\
- name: evening-wire
  location: wire.xml
  kind: feed
"""


async def running(fake, tmp_path: Path, **config) -> RunningBot:
    (tmp_path / "wire.xml").write_text(FEED, encoding="utf-8")
    path = write_config(tmp_path, extra_sources=WIRE, **config)
    clock = Clock()
    bot = RunningBot(fake, await start_bot(fake, path, clock), clock, path)
    await bot.ingest()
    return bot


@pytest.fixture
async def wired_bot(fake, tmp_path, news_folder) -> AsyncIterator[RunningBot]:
    bot = await running(fake, tmp_path)
    try:
        yield bot
    finally:
        await stop_bot(bot.application)


async def test_each_article_says_which_topic_or_keywords_brought_it(wired_bot):
    await wired_bot.command(ALICE, "subscribe", "satellite")
    first = await wired_bot.command(ALICE, "digest")
    assert "Topics: Satellite internet · 1 article" in first.text
    await wired_bot.command(ALICE, "subscribe", "culture")
    await wired_bot.command(ALICE, "subscribe", '"nine cities"')
    digest = await wired_bot.command(ALICE, "digest")
    # The header lists what this digest holds: not Satellite, already read.
    assert "Satellite" not in digest.text.split("\n\n")[0]
    assert "Topics: Culture and arts · Keywords: <b>&quot;nine cities&quot;</b>" in digest.text
    museum = next(b for b in digest.text.split("\n\n") if "Museum opens" in b)
    assert "🏷 Culture and arts" in museum
    quantum = next(b for b in digest.text.split("\n\n") if "Quantum network links" in b)
    assert "🏷 <b>&quot;nine cities&quot;</b>" in quantum


async def test_a_keyword_only_digest_names_its_keywords(wired_bot):
    await wired_bot.command(ALICE, "subscribe", "museum")
    digest = await wired_bot.command(ALICE, "digest")
    assert "Keywords: <b>museum</b> · 1 article" in digest.text


async def test_the_source_is_named_and_dated_on_the_readers_clock(wired_bot):
    await wired_bot.command(ALICE, "subscribe", "quantum")
    digest = await wired_bot.command(ALICE, "digest")
    # 21:50 UTC on 29 Nov is 05:50 on 30 Nov in Shanghai.
    assert "<i>evening-wire · 30 Nov 2026, 05:50</i>" in digest.text
    assert "<i>local-news</i>" in digest.text
    assert "quantum.txt" not in digest.text and "wire.xml" not in digest.text


async def test_topic_commands_list_newest_publication_first_and_say_so(wired_bot):
    latest = await wired_bot.command(ALICE, "quantum")
    assert "Newest first, by publication time." in latest.text
    late = latest.text.index("Quantum relay finished late")
    early = latest.text.index("Quantum lab opens early")
    assert late < early
    assert "Quantum network links" in latest.text[early:]  # undated, after the dated ones


async def test_what_did_not_fit_is_counted(fake, tmp_path, news_folder):
    bot = await running(fake, tmp_path, extra_bot="  digest:\n    max_articles: 2\n")
    try:
        for topic in ("quantum", "culture"):
            await bot.command(ALICE, "subscribe", topic)
        digest = await bot.command(ALICE, "digest")
        assert "2 articles" in digest.text
        assert digest.text.endswith("<i>2 more: /digest</i>")
        rest = await bot.command(ALICE, "digest")
        assert "2 articles" in rest.text and "more: /digest" not in rest.text
    finally:
        await stop_bot(bot.application)


async def test_every_part_of_a_split_digest_is_numbered(fake, tmp_path):
    nouns = [
        "fibre",
        "keys",
        "cities",
        "bridges",
        "ports",
        "rivers",
        "towers",
        "labs",
        "parks",
        "roads",
        "schools",
        "docks",
    ]

    def sentence(n: int, k: int) -> str:
        # Distinct content words, so no bullet is dropped as a near-duplicate of another.
        words = " and ".join(f"{noun}{n}{k}" for noun in nouns)
        return f"The quantum team {n} reported on {words} in district {k}."

    articles = {
        f"q{n}.txt": f"Quantum story number {n}\n\n" + " ".join(sentence(n, k) for k in range(3))
        for n in range(10)
    }
    write_articles(tmp_path / "news", {k: textwrap.dedent(v) for k, v in articles.items()})
    bot = await running(fake, tmp_path)
    try:
        fake.private_command(ALICE, "subscribe", "quantum")
        await fake.wait_for_messages(ALICE["id"])
        fake.private_command(ALICE, "digest")
        first = (await fake.wait_for_messages(ALICE["id"]))[0]
        assert "(1/" in first.text, first.text
        parts = int(first.text.split("(1/", 1)[1].split(")", 1)[0])
        assert parts >= 2
        rest = await fake.wait_for_messages(ALICE["id"], count=parts - 1)
        for number, message in enumerate(rest, start=2):
            assert f"({number}/{parts})" in message.text.split("\n", 1)[0]
    finally:
        await stop_bot(bot.application)
