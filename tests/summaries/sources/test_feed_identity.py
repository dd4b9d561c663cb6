"""Feed items are identified by their guid, else their link, else their text (issue 9 #14)."""

from __future__ import annotations

from summaries.models import make_article_id
from summaries.sources.feeds import parse_feed


def rss(*items: str) -> bytes:
    body = "".join(f"<item>{item}</item>" for item in items)
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{body}</channel></rss>'
    ).encode()


def item(title: str, *, guid: str | None = None, link: str | None = None, text: str = "") -> str:
    parts = [f"<title>{title}</title>", f"<description>{text or title + ' body.'}</description>"]
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{guid}</guid>')
    if link is not None:
        parts.append(f"<link>{link}</link>")
    return "".join(parts)


def test_items_with_different_guids_but_the_same_link_are_all_kept():
    data = rss(
        item("Live: first update", guid="live-1", link="https://news.example/live"),
        item("Live: second update", guid="live-2", link="https://news.example/live"),
    )
    result = parse_feed(data, "https://news.example/rss")
    assert [a.title for a in result.articles] == ["Live: first update", "Live: second update"]
    assert len({a.id for a in result.articles}) == 2
    assert not [p for p in result.problems if "repeats" in p]


def test_a_repeated_guid_is_skipped_counted_and_named():
    data = rss(
        item("Story", guid="g-1", link="https://news.example/a"),
        item("Story again", guid="g-1", link="https://news.example/a"),
        item("Other", guid="g-2", link="https://news.example/b"),
    )
    result = parse_feed(data, "https://news.example/rss")
    assert [a.title for a in result.articles] == ["Story", "Other"]
    repeats = [p for p in result.problems if "repeats" in p]
    assert len(repeats) == 1
    assert repeats[0].startswith("https://news.example/rss: entry 2 'Story again' repeats entry 1")
    assert any("skipped 1 of 3 entries" in p for p in result.problems)


def test_without_guid_the_link_and_without_link_the_text_identifies_an_item():
    data = rss(
        item("A", link="https://news.example/a"),
        item("A copy", link="https://news.example/a"),
        item("No link", text="Same words."),
        item("No link", text="Same words."),
        item("No link", text="Other words."),
    )
    result = parse_feed(data, "https://news.example/rss")
    assert [a.title for a in result.articles] == ["A", "No link", "No link"]
    assert sum("repeats" in p for p in result.problems) == 2


def test_a_permalink_guid_keeps_the_id_articles_had_before():
    link = "https://news.example/a"
    data = rss(
        f"<title>A</title><description>Body.</description><guid>{link}</guid><link>{link}</link>",
        item("B", guid="urn:b", link="https://news.example/b"),
    )
    first, second = parse_feed(data, "https://news.example/rss").articles
    assert first.id == make_article_id(link, "A", ["Body."])
    assert second.id != make_article_id("https://news.example/b", "B", ["B body."])
