from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from summaries.sources import html_to_paragraphs, parse_html
from tests.summaries.sources.conftest import DATA

NEWS_PAGE = (DATA / "news_page.html").read_bytes()


def test_page_main_text_without_navigation_scripts_or_footer():
    result = parse_html(NEWS_PAGE, "page.html", url="https://news.example.com/world/42")
    (article,) = result.articles
    assert article.paragraphs == (
        "Engineers in Hefei linked two quantum networks across 300 km of fibre on Monday, "
        "the first link of its kind in the region.",
        "The link carries encryption keys between banks & government offices, officials said.",
        "It was built in 18 months.",
        "What comes next",
        "A satellite segment is planned for 2026.",
    )
    text = article.text
    for boilerplate in (
        "Home",
        "Subscribe",
        "tracking",
        "Share on",
        "Copyright",
        "Cookie",
        "Most read",
        "Photo:",
        "hidden",
        "Search",
        "comment",
    ):
        assert boilerplate not in text, boilerplate
    assert result.problems == ()


def test_page_metadata_title_canonical_url_published_and_tags():
    article = parse_html(NEWS_PAGE, "page.html", url="https://news.example.com/world/42").articles[
        0
    ]
    assert article.title == "Quantum link spans 300 km"
    assert article.url == "https://news.example.com/world/quantum-link"
    assert article.published == datetime(2024, 5, 24, 3, 48, tzinfo=UTC)
    assert article.tags == ("quantum", "networks")


def test_title_falls_back_to_og_title_then_title_element():
    og = b'<html><head><meta property="og:title" content="OG title"><title>T | Site</title>'
    og += b"</head><body><p>Some body text.</p></body></html>"
    assert parse_html(og, "p").articles[0].title == "OG title"
    plain = b"<html><head><title>Only title</title></head><body><p>Body.</p></body></html>"
    assert parse_html(plain, "p").articles[0].title == "Only title"


def test_without_canonical_link_the_fetch_url_is_kept():
    page = b"<html><head><title>T</title></head><body><p>Body.</p></body></html>"
    assert parse_html(page, "p", url="https://x.org/a").articles[0].url == "https://x.org/a"
    assert parse_html(page, "p").articles[0].url is None


def test_time_element_gives_published_and_naive_times_take_the_zone():
    page = (
        b"<html><body><article><h1>T</h1><time datetime='2024-06-01T09:30'>June 1</time>"
        b"<p>Body.</p></article></body></html>"
    )
    article = parse_html(page, "p", tz="Asia/Shanghai").articles[0]
    assert article.published == datetime(2024, 6, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))


def test_densest_paragraph_block_wins_without_article_markup():
    page = b"""<html><body>
    <div id="top"><p>Short promo.</p></div>
    <div id="story"><p>The first real paragraph has plenty of words in it.</p>
      <p>The second real paragraph carries the story further along.</p>
      <p>A third one closes it.</p></div>
    <div class="page-with-sidebar-layout"><p>Tiny.</p></div>
    </body></html>"""
    article = parse_html(page, "p").articles[0]
    assert article.paragraphs == (
        "The second real paragraph carries the story further along.",
        "A third one closes it.",
    )
    # No title markup: the first paragraph of the main block became the title.
    assert article.title == "The first real paragraph has plenty of words in it."


def test_a_wrapper_with_a_boilerplate_class_keeps_the_article_inside_it():
    page = b"""<html><body><div class="layout has-sidebar">
      <h1>Headline</h1><p>Main story text that matters.</p><p>More of the story.</p>
    </div><div class="sidebar"><p>Sidebar chatter.</p></div></body></html>"""
    article = parse_html(page, "p").articles[0]
    assert article.title == "Headline"
    assert article.paragraphs == ("Main story text that matters.", "More of the story.")


def test_charset_from_meta_decodes_legacy_bytes():
    page = (
        "<html><head><meta charset='windows-1252'><title>Caf\u00e9 news</title></head>"
        "<body><p>Cr\u00e8me br\u00fbl\u00e9e \u2014 \u20ac5.</p></body></html>"
    ).encode("cp1252")
    result = parse_html(page, "p")
    assert result.articles[0].title == "Caf\u00e9 news"
    assert result.articles[0].paragraphs == ("Cr\u00e8me br\u00fbl\u00e9e \u2014 \u20ac5.",)
    assert result.problems == ()


def test_undecodable_bytes_are_a_warning_and_the_page_still_loads():
    page = b"<html><head><title>T</title></head><body><p>Bad \xff byte.</p></body></html>"
    result = parse_html(page, "page.html")
    assert len(result.articles) == 1
    assert len(result.problems) == 1
    assert result.problems[0].startswith("page.html: not valid UTF-8 (byte 0xff at offset")


def test_page_without_text_is_skipped_with_a_warning():
    page = b"<html><head><title>Empty page</title><script>x()</script></head><body></body></html>"
    result = parse_html(page, "empty.html")
    assert result.articles == ()
    assert result.problems == ("empty.html: page 'Empty page' has no text; skipped",)


def test_empty_or_garbage_input_is_a_problem_not_an_exception():
    for data in (b"", b"   ", b"\x00\x01\x02"):
        result = parse_html(data, "junk.html")
        assert result.articles == ()
        assert len(result.problems) == 1 and result.problems[0].startswith("junk.html: ")


def test_fragment_paragraphs_and_plain_text():
    assert html_to_paragraphs("<p>One <b>two</b></p><p>Three</p>tail<br>after") == [
        "One two",
        "Three",
        "tail",
        "after",
    ]
    assert html_to_paragraphs("Plain &amp; simple\n\nSecond") == ["Plain & simple", "Second"]
    assert html_to_paragraphs("<p>Text</p><script>alert(1)</script><!-- c -->") == ["Text"]
    assert html_to_paragraphs("<p><a href='/x'>Read more</a></p><p>Kept</p>") == ["Kept"]


@settings(max_examples=60)
@given(st.text(alphabet=st.sampled_from("<>/p a=\"'!-&;") | st.characters(), max_size=200))
def test_any_markup_gives_clean_paragraphs_or_a_problem(markup):
    result = parse_html(markup, "fuzz")
    assert len(result.articles) + len(result.problems) >= 1
    for paragraph in html_to_paragraphs(markup):
        assert paragraph == paragraph.strip() and paragraph
