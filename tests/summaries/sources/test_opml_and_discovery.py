"""OPML in and out, parsed as hostile input; feeds and article links found on pages."""

from __future__ import annotations

import pytest

from summaries.sources.discovery import announced_feeds, article_links, common_feed_urls
from summaries.sources.opml import (
    MAX_OUTLINES,
    OpmlError,
    OpmlFeed,
    parse_opml,
    write_opml,
)

OPML = b"""<?xml version="1.0"?>
<opml version="2.0"><head><title>Mine</title></head><body>
  <outline text="Tech">
    <outline type="rss" text="Quantum &amp; Co" xmlUrl="https://q.example/feed.xml"/>
    <outline type="rss" title="Space" xmlUrl="https://space.example/rss"/>
  </outline>
  <outline type="rss" text="again" xmlUrl="https://q.example/feed.xml"/>
  <outline text="a folder without a feed"/>
</body></opml>"""


def test_opml_lists_each_feed_once_with_its_title():
    assert parse_opml(OPML) == [
        OpmlFeed("https://q.example/feed.xml", "Quantum & Co"),
        OpmlFeed("https://space.example/rss", "Space"),
    ]


def test_written_opml_reads_back_the_same_feeds():
    feeds = [OpmlFeed("https://a.example/f?x=1&y=2", 'A "quoted" <feed>'), OpmlFeed("https://b/")]
    assert parse_opml(write_opml(feeds, "Chat <1>")) == [
        feeds[0],
        OpmlFeed("https://b/", "https://b/"),
    ]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<opml><body><outline xmlUrl="&lol2;"/></body></opml>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml><body><outline text="&secret;" xmlUrl="https://x.example/"/></body></opml>"""


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (BILLION_LAUGHS, "document type"),
        (EXTERNAL_ENTITY, "document type"),
        (b"<opml><body><outline", "not well-formed"),
        (b"<rss><channel/></rss>", "not OPML"),
        (b"not xml at all", "not well-formed"),
        (b"<opml>" + b" " * (1024 * 1024) + b"</opml>", "larger than"),
    ],
)
def test_hostile_or_broken_opml_is_refused_with_a_reason(data, reason):
    with pytest.raises(OpmlError, match=reason):
        parse_opml(data)


def test_an_opml_with_too_many_outlines_is_refused():
    outlines = b"".join(
        b'<outline xmlUrl="https://x.example/%d"/>' % i for i in range(MAX_OUTLINES + 1)
    )
    with pytest.raises(OpmlError, match="more than"):
        parse_opml(b"<opml><body>" + outlines + b"</body></opml>")


PAGE = """<html><head><meta charset="utf-8">
<link rel="alternate" type="application/rss+xml" href="/news/rss.xml">
<link rel="alternate" type="application/atom+xml; charset=utf-8" href="https://cdn.example/atom">
<link rel="stylesheet" href="/style.css">
<link rel="alternate" hreflang="fr" href="/fr/">
</head><body>
<nav><a href="/about">About us and the team here</a></nav>
<a href="/news/2025/quantum-network-opens">Shanghai opens a quantum network to firms</a>
<a href="/news/2025/quantum-network-opens#comments">Shanghai opens a quantum network to firms</a>
<a href="/news/2025/g60">G60</a>
<a href="https://other.example/story/1">A story on another site entirely here</a>
<a href="/tag/science">Everything we wrote about science lately</a>
<a href="/news/2025/report.pdf">The full report as a PDF download file</a>
<a href="/news/2025/art">上海博物馆新展开幕了</a>
<a href="javascript:void(0)">Click here to load more of the stories</a>
</body></html>""".encode()


def test_announced_feeds_are_absolute_and_only_feeds():
    assert announced_feeds(PAGE, "https://site.example/news/") == [
        "https://site.example/news/rss.xml",
        "https://cdn.example/atom",
    ]


def test_common_feed_paths_are_on_the_pages_site():
    urls = common_feed_urls("https://site.example/news/today?x=1")
    assert "https://site.example/feed" in urls
    assert all(url.startswith("https://site.example/") for url in urls)


def test_article_links_are_headlines_on_the_same_site():
    links = article_links(PAGE, "https://site.example/news/")
    assert [link.url for link in links] == [
        "https://site.example/news/2025/quantum-network-opens",
        "https://site.example/news/2025/art",
    ]
    assert links[0].text == "Shanghai opens a quantum network to firms"


def test_garbage_pages_give_nothing_rather_than_an_error():
    assert announced_feeds(b"", "https://x.example/") == []
    assert article_links(b"\x00\x01", "https://x.example/") == []
