"""A round's per-chat work reuses what the chats of a round share, with the same result."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date as format_local_date
from babel.dates import format_datetime as format_local_datetime

from bot.config import load_settings
from bot.i18n import Catalogs
from bot.render import format_reader_day, format_reader_moment, render_digest, render_entry
from bot.rounds import DigestRenderer, following_slot
from bot.schedule import next_digest_at, zone_of
from bot.selection import MatchUnions, choose_articles, count_left, count_more
from bot.services import Services, callback_key
from bot.store import ChatSettings, StoredArticle, Subscription
from summaries.matching import TopicMatcher
from summaries.models import Article, Digest
from tests.bot.conftest import write_config

QUANTUM = Subscription("topic", "quantum")
SPACE = Subscription("topic", "space")
DRUG = Subscription("keywords", "drug")


def naive_count_more(subscriptions, matches, already_sent, chosen) -> int:
    """The definition: matching ids neither sent before nor chosen now."""
    return len(
        {
            article_id
            for sub in subscriptions
            for article_id in matches.get(sub, ())
            if article_id not in already_sent and article_id not in chosen
        }
    )


def test_count_more_with_shared_unions_agrees_with_its_definition():
    shuffle = random.Random(8)  # fixed seed: the same cases every run
    ids = [f"a{number}" for number in range(60)]
    rank = {article_id: place for place, article_id in enumerate(ids)}
    matches = {
        QUANTUM: ids[0:40],
        SPACE: ids[30:55:2],  # overlaps QUANTUM
        DRUG: [],
    }
    unions = MatchUnions(matches)
    kinds = [[QUANTUM], [SPACE], [QUANTUM, SPACE], [SPACE, QUANTUM], [DRUG], [], [QUANTUM, DRUG]]
    for _ in range(300):
        subs = shuffle.choice(kinds)
        sent = set(shuffle.sample(ids, shuffle.randint(0, 30)))
        sent.add("gone-from-every-list")
        chosen = choose_articles(subs, matches, rank, sent, shuffle.randint(0, 12))
        expected = naive_count_more(subs, matches, sent, chosen)
        assert count_more(subs, matches, sent, chosen, unions=unions) == expected
        assert count_more(subs, matches, sent, chosen) == expected


def test_unions_are_made_once_per_set_of_subscriptions_in_any_order():
    matches = {QUANTUM: ["a", "b"], SPACE: ["b", "c"]}
    unions = MatchUnions(matches)
    first = unions.of([QUANTUM, SPACE])
    assert first == {"a", "b", "c"}
    assert unions.of([SPACE, QUANTUM, SPACE]) is first
    assert unions.of([QUANTUM]) == {"a", "b"}
    assert unions.of([]) == frozenset()


def test_unions_see_subscriptions_added_to_the_matches_later():
    matches: dict[Subscription, list[str]] = {QUANTUM: ["a"]}
    unions = MatchUnions(matches)
    assert unions.of([QUANTUM]) == {"a"}
    matches[SPACE] = ["s"]  # a later batch loads another subscription's matches
    assert unions.of([QUANTUM, SPACE]) == {"a", "s"}


def test_count_left_ignores_ids_outside_the_union_and_counts_each_once():
    union = frozenset({"a", "b", "c", "d"})
    assert count_left(union, {"a", "x"}, ["a", "b", "y"]) == 2
    assert count_left(union, set(), []) == 4
    assert count_left(frozenset(), {"a"}, ["b"]) == 0


# -- rendering: what the chats of a round share is rendered once --------------------------------


def _services(tmp_path):
    settings = load_settings(write_config(tmp_path), environ={})
    return Services(
        settings=settings,
        store=None,  # rendering does no I/O
        http=None,
        sender=None,
        callback_key=callback_key("x"),
        topic_commands={},
        matcher=TopicMatcher(settings.app.topics),
    )


def _chat(chat_id: int, timezone: str, language: str | None = "en", bullets: int = 2):
    return ChatSettings(
        chat_id, "private", "c", timezone, time(8), "daily", 0, bullets, False, False, True,
        None, None, NOW, language,
    )  # fmt: skip


def _stored(number: int, published: datetime, topics=("quantum",)) -> StoredArticle:
    article = Article.create(
        source="https://example.org/feed",
        title=f"Quantum story <{number}> & more",
        paragraphs=(f"Quantum key distribution reached city {number}.", "A second sentence."),
        url=f"https://example.org/{number}",
        published=published,
    )
    bullets = (f"Quantum key distribution reached city {number}.", "A second sentence.")
    return StoredArticle(article, Digest(article.id, bullets, topics), published)


NOW = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)
# 23:50 UTC on 1 March: already 2 March in Shanghai, still 1 March in New York.
LATE = datetime(2026, 3, 1, 23, 50, tzinfo=UTC)


ENGLISH, CHINESE = Catalogs.load().get("en"), Catalogs.load().get("zh")


def test_chats_in_one_zone_and_language_share_article_blocks_others_get_their_own(tmp_path):
    renderer = DigestRenderer(_services(tmp_path))
    story = _stored(1, LATE)
    subs = [QUANTUM]
    chats = {
        1: (_chat(1, "Asia/Shanghai", "en"), ENGLISH),
        2: (_chat(2, "Asia/Shanghai", "en"), ENGLISH),
        3: (_chat(3, "America/New_York", "en"), ENGLISH),
        4: (_chat(4, "Asia/Shanghai", "zh"), CHINESE),
    }
    blocks = {}
    for chat_id, (chat, reader) in chats.items():
        entry = renderer.entry(story, subs, reader)
        blocks[chat_id] = renderer.block(entry, chat.bullets, chat.timezone, reader)
    assert blocks[1] is blocks[2]
    assert "2 Mar 2026, 07:50" in blocks[1]
    assert "1 Mar 2026, 18:50" in blocks[3]
    assert "2026年3月2日" in blocks[4] and "07:50" in blocks[4]
    for chat_id, (chat, reader) in chats.items():
        entry = renderer.entry(story, subs, reader)
        fresh = render_entry(entry, bullets=2, tz=ZoneInfo(chat.timezone), t=reader)
        assert blocks[chat_id] == fresh
    # Another bullet count is another block.
    one = renderer.block(renderer.entry(story, subs, ENGLISH), 1, "Asia/Shanghai", ENGLISH)
    assert one.count("•") == 1


def test_an_articles_labels_follow_each_chats_own_subscriptions(tmp_path):
    renderer = DigestRenderer(_services(tmp_path))
    story = _stored(1, LATE)
    by_topic = renderer.entry(story, [QUANTUM], ENGLISH)
    by_word = renderer.entry(story, [Subscription("keywords", "distribution")], ENGLISH)
    assert (by_topic.topics, by_topic.keywords) == (("Quantum communication",), ())
    assert (by_word.topics, by_word.keywords) == ((), ("distribution",))
    assert renderer.entry(story, [QUANTUM], ENGLISH) is by_topic
    first = renderer.block(by_topic, 2, "UTC", ENGLISH)
    assert "Quantum communication" in first and "distribution" not in first.split("🏷")[1]
    assert renderer.block(by_word, 2, "UTC", ENGLISH) != first


def _uncached_messages(services, chat, chosen, subs, now, more=0):
    """The digest as rendered before rounds shared pieces: every block and date made anew."""
    reader = services.catalogs.get(chat.language)
    zone = ZoneInfo(chat.timezone)
    entries = [DigestRenderer(services).entry(stored, subs, reader) for stored in chosen]
    blocks = [render_entry(entry, bullets=chat.bullets, tz=zone, t=reader) for entry in entries]
    day = format_local_date(now.astimezone(zone), reader.gettext("EEE d MMM y"), reader.locale)
    messages = render_digest(
        entries, title=reader.gettext("Your digest"), when=now.astimezone(zone),
        bullets=chat.bullets, tz=zone, more=more, t=reader,
    )  # fmt: skip
    assert messages == render_digest(
        entries, title=reader.gettext("Your digest"), when=now.astimezone(zone),
        bullets=chat.bullets, tz=zone, more=more, t=reader, blocks=blocks,
    )  # fmt: skip
    assert day in messages[0]
    return messages


def test_a_rounds_shared_rendering_gives_every_chat_the_digest_it_would_get_alone(tmp_path):
    services = _services(tmp_path)
    renderer = DigestRenderer(services, max_blocks=7)  # small: the bound is crossed too
    stories = [_stored(n, LATE - timedelta(hours=n)) for n in range(12)]
    zones = ["Asia/Shanghai", "America/New_York", "UTC", "Asia/Kolkata"]
    subscriptions = [[QUANTUM], [Subscription("keywords", "distribution")], [QUANTUM, SPACE]]
    chat_id = 0
    for zone in zones:
        for language in ("en", "zh", None):
            for bullets in (1, 2):
                for subs in subscriptions:
                    chat_id += 1
                    chat = _chat(chat_id, zone, language, bullets)
                    chosen = stories[chat_id % 5 : chat_id % 5 + 6]
                    expected = _uncached_messages(services, chat, chosen, subs, NOW, more=2)
                    got = renderer.messages(chat, chosen, subs, NOW, more=2)
                    assert got == expected


def test_render_digest_refuses_blocks_that_do_not_match_its_entries(tmp_path):
    renderer = DigestRenderer(_services(tmp_path))
    entry = renderer.entry(_stored(1, LATE), [QUANTUM], ENGLISH)
    with pytest.raises(ValueError, match="2 blocks given for 1 entries"):
        render_digest([entry], title="T", when=NOW, blocks=["a", "b"])


def test_the_header_day_is_the_readers_day_in_each_language():
    moment = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    english_day = format_reader_day(moment, ENGLISH)
    chinese_day = format_reader_day(moment, CHINESE)
    assert english_day == "Thu 26 Nov 2026"
    assert chinese_day.startswith("2026年11月26日")
    shanghai = moment.astimezone(ZoneInfo("Asia/Shanghai"))
    assert format_reader_day(shanghai, ENGLISH) == "Fri 27 Nov 2026"
    # The same instant on two clocks is two moments (aware datetimes compare by instant).
    assert format_reader_moment(moment, ENGLISH) == "26 Nov 2026, 23:30"
    assert format_reader_moment(shanghai, ENGLISH) == "27 Nov 2026, 07:30"
    assert format_reader_moment(shanghai, CHINESE) == format_local_datetime(
        shanghai, CHINESE.gettext("d MMM y, HH:mm"), locale=CHINESE.locale
    )


def test_zones_and_next_slots_are_kept_and_agree_with_the_schedule():
    assert zone_of("Europe/Berlin") is zone_of("Europe/Berlin")
    assert zone_of("Europe/Berlin") == ZoneInfo("Europe/Berlin")
    for zone in ("Europe/Berlin", "Asia/Shanghai", "America/New_York"):
        chat = _chat(1, zone)
        assert following_slot(chat, NOW) == next_digest_at("daily", time(8), zone, 0, NOW)
        assert following_slot(chat, NOW) == following_slot(_chat(2, zone), NOW)
