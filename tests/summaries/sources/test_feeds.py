from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from summaries.sources import looks_like_feed, parse_feed

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
