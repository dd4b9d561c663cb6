from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from summaries.sources import feeds as feeds_module
from summaries.sources import looks_like_feed, parse_feed
from summaries.sources.base import FeedError
from summaries.sources.feeds import read_feed_entries

RSS2 = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
  <title>Example News</title><link>https://news.example.com/</link><description>d</description>
  <item>
    <title>Quantum link &amp; more</title>
    <link>https://news.example.com/quantum</link>
    <pubDate>Fri, 24 May 2024 11:48:00 +0800</pubDate>
    <category>Science</category><category>Quantum</category>
    <description>&lt;p&gt;First &lt;b&gt;para&lt;/b&gt;.&lt;/p&gt;&lt;p&gt;Second para.&lt;/p&gt;
      &lt;script&gt;alert(1)&lt;/script&gt;</description>
  </item>
  <item>
    <title>Teaser only</title>
    <link>https://news.example.com/teaser</link>
    <description>Just a teaser.</description>
  </item>
  <item><title>No text at all</title><link>https://news.example.com/empty</link></item>
</channel></rss>"""

RSS1_RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example.com/"><title>RDF news</title>
    <link>https://rdf.example.com/</link><description>d</description>
    <items><rdf:Seq><rdf:li resource="https://rdf.example.com/1"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://rdf.example.com/1">
    <title>RDF item</title><link>https://rdf.example.com/1</link>
    <description>Body of the RDF item.</description>
    <dc:date>2024-06-01T08:00:00+00:00</dc:date>
    <dc:subject>Trade</dc:subject>
  </item>
</rdf:RDF>"""

RSS091 = b"""<?xml version="1.0"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
  "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel>
  <title>Old news</title><link>https://old.example.com/</link><description>d</description>
  <language>en</language>
  <item><title>Old item</title><link>https://old.example.com/1</link>
    <description>Text of the old item.</description></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Atom news</title><id>urn:x</id><updated>2024-06-02T10:00:00Z</updated>
  <entry>
    <title type="html">Atom &lt;em&gt;entry&lt;/em&gt;</title>
    <link rel="alternate" href="https://atom.example.com/e1"/>
    <id>urn:e1</id>
    <published>2024-06-02T09:30:00+02:00</published><updated>2024-06-02T10:00:00Z</updated>
    <category term="Culture"/>
    <summary>Short summary.</summary>
    <content type="html">&lt;p&gt;Full content paragraph one.&lt;/p&gt;
      &lt;p&gt;Paragraph two, with &lt;a href="x"&gt;a link&lt;/a&gt; inside.&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>Naive date</title><link href="https://atom.example.com/e2"/><id>urn:e2</id>
    <updated>2024-06-02 10:00:00</updated>
    <content type="text">Plain text content.</content>
  </entry>
</feed>"""


def test_rss2_entries_with_html_stripped_and_categories_as_tags():
    result = parse_feed(RSS2, "https://news.example.com/rss")
    first, teaser = result.articles
    assert first.title == "Quantum link & more"
    assert first.url == "https://news.example.com/quantum"
    assert first.paragraphs == ("First para.", "Second para.")
    assert first.published == datetime(2024, 5, 24, 11, 48, tzinfo=timezone(timedelta(hours=8)))
    assert first.tags == ("Science", "Quantum")
    assert first.source == "https://news.example.com/rss"
    assert teaser.paragraphs == ("Just a teaser.",)


def test_entry_with_no_text_is_skipped_with_a_warning_naming_it():
    result = parse_feed(RSS2, "feed.xml")
    assert "No text at all" not in [a.title for a in result.articles]
    assert result.problems == (
        "feed.xml: entry 3 'No text at all' has no text; skipped",
        "feed.xml: skipped 1 of 3 entries",
    )


def test_rss1_rdf():
    (article,) = parse_feed(RSS1_RDF, "rdf.xml").articles
    assert (article.title, article.url) == ("RDF item", "https://rdf.example.com/1")
    assert article.paragraphs == ("Body of the RDF item.",)
    assert article.published == datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
    assert article.tags == ("Trade",)


def test_rss091():
    result = parse_feed(RSS091, "old.xml")
    (article,) = result.articles
    assert (article.title, article.url) == ("Old item", "https://old.example.com/1")
    assert article.paragraphs == ("Text of the old item.",)
    assert result.problems == ()


def test_atom_prefers_full_content_over_summary():
    first, second = parse_feed(ATOM, "atom.xml").articles
    assert first.title == "Atom entry"
    assert first.url == "https://atom.example.com/e1"
    assert first.paragraphs == (
        "Full content paragraph one.",
        "Paragraph two, with a link inside.",
    )
    assert first.published == datetime(2024, 6, 2, 7, 30, tzinfo=UTC)
    assert first.tags == ("Culture",)
    assert second.paragraphs == ("Plain text content.",)


def test_naive_feed_dates_take_the_source_timezone():
    second = parse_feed(ATOM, "atom.xml", tz="Asia/Shanghai").articles[1]
    assert second.published == datetime(2024, 6, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert parse_feed(ATOM, "atom.xml").articles[1].published == datetime(
        2024, 6, 2, 10, 0, tzinfo=UTC
    )


def test_reparsing_gives_the_same_ids_from_the_links():
    ids = [a.id for a in parse_feed(RSS2, "a").articles]
    assert ids == [a.id for a in parse_feed(RSS2, "b").articles]
    assert len(set(ids)) == len(ids)


def test_not_xml_not_a_feed_and_empty_are_problems_not_exceptions():
    for data, reason in (
        (b"this is not xml at all", "not an RSS or Atom feed"),
        (b"<html><body><p>A web page</p></body></html>", "not an RSS or Atom feed"),
        (b"<?xml version='1.0'?><catalog><book/></catalog>", "not an RSS or Atom feed"),
        (b"", "empty document"),
        (b"/etc/passwd", "not an RSS or Atom feed"),  # never opened as a file name
    ):
        result = parse_feed(data, "bad.xml")
        assert result.articles == ()
        assert len(result.problems) == 1
        assert result.problems[0].startswith(f"bad.xml: {reason}"), result.problems


def test_truncated_feed_is_parsed_leniently_with_a_warning():
    result = parse_feed(RSS2[: RSS2.index(b"<item><title>No text")], "cut.xml")
    assert [a.title for a in result.articles] == ["Quantum link & more", "Teaser only"]
    assert any(p.startswith("cut.xml: malformed feed XML") for p in result.problems)


def test_feed_in_a_declared_legacy_encoding():
    feed = (
        '<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><title>x</title>'
        "<item><title>Caf\u00e9</title><link>https://x.org/1</link>"
        "<description>Cr\u00e8me br\u00fbl\u00e9e.</description></item></channel></rss>"
    ).encode("iso-8859-1")
    (article,) = parse_feed(feed, "latin.xml").articles
    assert (article.title, article.paragraphs) == ("Caf\u00e9", ("Cr\u00e8me br\u00fbl\u00e9e.",))


def test_undecodable_bytes_in_a_utf8_feed_are_a_warning():
    feed = RSS091.replace(b"Text of the old item.", b"Text \xff\xfe of the old item.")
    result = parse_feed(feed, "broken.xml")
    assert len(result.articles) == 1
    assert result.problems and all(p.startswith("broken.xml: ") for p in result.problems)


def test_an_entry_without_a_title_is_titled_from_its_text():
    feed = b"""<rss version="2.0"><channel><title>x</title>
      <item><link>https://x.org/1</link><description>A body sentence that serves.</description>
      </item></channel></rss>"""
    (article,) = parse_feed(feed, "untitled.xml").articles
    assert article.title == "A body sentence that serves."


def test_looks_like_feed():
    assert all(looks_like_feed(data) for data in (RSS2, RSS1_RDF, RSS091, ATOM))
    assert not looks_like_feed(b"<html><body>x</body></html>")
    assert not looks_like_feed(b"plain text")


@settings(max_examples=50)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_give_articles_or_problems_never_an_exception(data):
    result = parse_feed(data, "fuzz")
    for article in result.articles:
        assert article.title and article.paragraphs


MULTILINGUAL = [
    ("\u91cf\u5b50\u901a\u4fe1\u7f51\u7edc\u5728\u4e0a\u6d77\u5f00\u901a", "1"),
    ("\u0413\u043e\u0440\u043e\u0434\u0441\u043a\u043e\u0439 \u0441\u043e\u0432\u0435\u0442", "2"),
    ("Stra\u00dfenbahn f\u00e4hrt \u00fcber die Br\u00fccke", "3"),
    ("One stray byte here", "4"),
]


def multilingual_feed(prolog: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>https://m.example/{n}</link>"
        f"<description>{title}. More text about it.</description></item>"
        for title, n in MULTILINGUAL
    )
    feed = f'{prolog}<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    return feed.encode().replace(b"One stray byte", b"One stray \xff byte")


@pytest.mark.parametrize(
    ("prolog", "content_type"),
    [
        ('<?xml version="1.0" encoding="utf-8"?>', "application/rss+xml; charset=utf-8"),
        ('<?xml version="1.0" encoding="utf-8"?>', "application/rss+xml"),
        ('<?xml version="1.0"?>', "application/rss+xml; charset=UTF-8"),
        ('<?xml version="1.0"?>', "application/rss+xml"),  # undeclared: mostly valid UTF-8
        ("", "text/xml"),
    ],
)
def test_one_stray_byte_in_a_utf8_feed_costs_only_that_byte(prolog, content_type):
    result = parse_feed(multilingual_feed(prolog), "m.xml", content_type=content_type)
    assert [a.title for a in result.articles] == [
        *(title for title, _ in MULTILINGUAL[:3]),
        "One stray \ufffd byte here",
    ]
    assert all(p.startswith("m.xml: ") for p in result.problems)
    assert not any("MacRoman" in p or "declared encoding was wrong" in p for p in result.problems)


def test_a_stray_byte_in_an_otherwise_ascii_feed_declared_utf8_is_replaced():
    feed = RSS091.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="utf-8"?>')
    feed = feed.replace(b"Old item", b"Old \xff item")
    (article,) = parse_feed(feed, "old.xml").articles
    assert article.title == "Old \ufffd item"


def test_an_undeclared_windows_1251_feed_is_detected():
    russian = (
        "\u041a\u0432\u0430\u043d\u0442\u043e\u0432\u0430\u044f \u0441\u0435\u0442\u044c "
        "\u0441\u0432\u044f\u0437\u0430\u043b\u0430 \u0434\u0435\u0432\u044f\u0442\u044c "
        "\u0433\u043e\u0440\u043e\u0434\u043e\u0432. \u0411\u0430\u043d\u043a\u0438 \u0438 "
        "\u0431\u043e\u043b\u044c\u043d\u0438\u0446\u044b \u0431\u0443\u0434\u0443\u0442 "
        "\u043f\u0435\u0440\u0432\u044b\u043c\u0438."
    )
    feed = (
        '<rss version="2.0"><channel><title>x</title>'
        f"<item><title>{russian[:20]}</title><link>https://r.example/1</link>"
        f"<description>{russian}</description></item></channel></rss>"
    ).encode("cp1251")
    (article,) = parse_feed(feed, "ru.xml", content_type="application/rss+xml").articles
    assert (article.title, article.paragraphs) == (russian[:20], (russian,))


def test_a_feed_declared_utf8_in_the_header_but_cp1251_in_its_prolog():
    russian = (
        "\u0413\u043e\u0440\u043e\u0434\u0441\u043a\u043e\u0439 \u0441\u043e\u0432\u0435\u0442"
    )
    feed = (
        '<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel><title>x</title>'
        f"<item><title>{russian}</title><link>https://r.example/1</link>"
        f"<description>{russian} \u0443\u0442\u0432\u0435\u0440\u0434\u0438\u043b.</description>"
        "</item></channel></rss>"
    ).encode("cp1251")
    result = parse_feed(feed, "ru.xml", content_type="application/rss+xml; charset=utf-8")
    assert [a.title for a in result.articles] == [russian]


SURROGATE_FEED = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>n</title>'
    + b"".join(
        f"<item><title>Item {n}</title><link>https://n.example/{n}</link>"
        f"<description>Text of item {n}.</description></item>".encode()
        for n in range(1, 5)
    )
    + b"<item><title>Lone &#xD800; and &#55296; refs</title><link>https://n.example/5</link>"
    b"<description>Market &#x0dfff; tower &#X0D800; &#x110000; &#99999999999; rises.</description>"
    b"</item></channel></rss>"
)


def test_a_lone_surrogate_reference_costs_no_item():
    result = parse_feed(SURROGATE_FEED, "s.xml")
    titles = [a.title for a in result.articles]
    assert titles == [*(f"Item {n}" for n in range(1, 5)), "Lone \ufffd and \ufffd refs"]
    assert result.articles[-1].paragraphs == ("Market \ufffd tower \ufffd \ufffd \ufffd rises.",)


def test_a_crash_inside_the_feed_parser_is_a_problem_of_that_feed(monkeypatch):
    def explode(*args, **kwargs):
        raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

    monkeypatch.setattr(feeds_module.feedparser, "parse", explode)
    with pytest.raises(FeedError, match="feed parser failed .*UnicodeEncodeError"):
        read_feed_entries(RSS2, "x.xml")
    result = parse_feed(RSS2, "x.xml")
    assert not result.articles
    assert len(result.problems) == 1 and result.problems[0].startswith("x.xml: the feed parser")


def test_a_crash_on_one_entry_costs_only_that_entry(monkeypatch):
    real = feeds_module._entry

    def fragile(raw, position, zone):
        if position == 2:
            raise ValueError("odd entry")
        return real(raw, position, zone)

    monkeypatch.setattr(feeds_module, "_entry", fragile)
    entries, problems = read_feed_entries(RSS2, "x.xml")
    assert [e.title for e in entries] == ["Quantum link & more", "No text at all"]
    assert any("x.xml: entry 2" in p and "ValueError" in p for p in problems)


def test_a_utf16_feed_without_a_byte_order_mark_is_sniffed():
    text = RSS2.decode().replace('encoding="utf-8"', 'encoding="utf-16"')
    for codec in ("utf-16-le", "utf-16-be"):
        result = parse_feed(text.encode(codec), "u16.xml")
        assert [a.title for a in result.articles] == ["Quantum link & more", "Teaser only"]
