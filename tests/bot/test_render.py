"""Rendering to Telegram HTML: examples, then properties over hostile text of any length."""

import itertools
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.render import (
    ELLIPSIS,
    MAX_ENTITIES,
    MAX_TITLE_CHARS,
    DigestEntry,
    clean_text,
    collapse_whitespace,
    digest_header,
    entity_count,
    escape,
    fit_message,
    highlight_html,
    render_digest,
    render_entry,
    render_search_results,
    safe_link,
    short_source,
    split_messages,
    truncate_html,
    truncate_text,
    utf16_len,
)
from summaries.models import Article, Digest
from tests.support.telegram_html import parse_telegram_html, utf16_length

_ids = itertools.count()
WHEN = datetime(2026, 11, 26, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def make_entry(
    title: str = "Quantum link spans 1,000 km",
    bullets: tuple[str, ...] = ("First point.", "Second point.", "Third point."),
    *,
    url: str | None = "https://news.example.com/quantum",
    source: str = "https://www.example.com/feed.xml",
    published: datetime | None = datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
) -> DigestEntry:
    # Built directly: Article.create hashes the URL, which lone surrogates cannot be encoded for.
    article = Article(
        id=f"a{next(_ids)}",
        source=source,
        title=title,
        paragraphs=("Body.",),
        url=url,
        published=published,
    )
    return DigestEntry(article, Digest(article.id, bullets))


def plain(message: str) -> str:
    return parse_telegram_html(message).plain_text


def assert_valid_message(message: str, limit: int = 4096) -> None:
    parsed = parse_telegram_html(message)  # raises TelegramHTMLError if Telegram would refuse it
    assert utf16_length(message) <= limit
    assert len(parsed.entities) <= MAX_ENTITIES
    assert parsed.plain_text.strip(), "Telegram refuses an empty message"
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", parsed.plain_text)
    for entity in parsed.entities:
        if entity["type"] == "text_link":
            assert str(entity["url"]).lower().startswith(("http://", "https://"))


# --- examples -----------------------------------------------------------------------------


def test_entry_has_linked_bold_title_bullets_and_source_line():
    html = render_entry(make_entry())
    assert html == (
        '<b><a href="https://news.example.com/quantum">Quantum link spans 1,000 km</a></b>\n'
        "• First point.\n• Second point.\n• Third point.\n"
        "<i>example.com · 25 Nov 2026, 09:30</i>"
    )
    assert_valid_message(html)


def test_entry_says_why_it_is_here_and_names_its_source():
    entry = make_entry()
    tagged = DigestEntry(
        entry.article,
        entry.digest,
        topics=("Quantum", "<AI>"),
        keywords=('"six centuries"',),
        source_name="Evening Wire",
    )
    html = render_entry(tagged)
    assert "\n🏷 Quantum · &lt;AI&gt; · <b>&quot;six centuries&quot;</b>\n" in html
    assert html.endswith("<i>Evening Wire · 25 Nov 2026, 09:30</i>")
    assert_valid_message(html)


def test_header_lists_only_what_the_digest_holds_and_counts_what_is_left():
    entry = make_entry()
    entries = [
        DigestEntry(entry.article, entry.digest, topics=("Quantum",)),
        DigestEntry(entry.article, entry.digest, keywords=("drug",)),
    ]
    [message] = render_digest(entries, title="Your digest", when=WHEN, more=3)
    assert plain(message).startswith(
        "📰 Your digest — Thu 26 Nov 2026\nTopics: Quantum · Keywords: drug · 2 articles"
    )
    assert message.endswith("<i>3 more: /digest</i>")
    assert_valid_message(message)


def test_entry_escapes_html_in_title_bullets_and_url():
    entry = make_entry(
        '<script>alert("x")</script> & co',
        ("a < b > c & d", "<b>not bold</b>"),
        url='https://ex.com/?q="><script>&x=1',
    )
    html = render_entry(entry)
    assert "<script" not in html
    assert_valid_message(html)
    text = plain(html)
    assert '<script>alert("x")</script> & co' in text
    assert "• <b>not bold</b>" in text
    [link] = [e for e in parse_telegram_html(html).entities if e["type"] == "text_link"]
    assert link["url"] == 'https://ex.com/?q="><script>&x=1'


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://example.com/file",
        "/relative/path",
        "https://",
        "https://exa mple.com/",
        "https://example.com/\nx",
        "http://[::1",
    ],
)
def test_only_http_urls_become_links(url):
    html = render_entry(make_entry(url=url))
    assert safe_link(url) is None
    assert "<a " not in html
    assert_valid_message(html)


def test_bullets_are_capped_and_blank_bullets_skipped():
    entry = make_entry(bullets=("One.", "   ", "Two.", "Three."))
    assert plain(render_entry(entry, bullets=2)).count("•") == 1
    assert plain(render_entry(entry)).count("•") == 3


def test_source_line_is_short_and_date_follows_the_chat_timezone():
    entry = make_entry(
        source="/srv/news/2026/seed-articles.txt",
        url=None,
        published=datetime(2026, 11, 26, 20, 0, tzinfo=UTC),
    )
    html = render_entry(entry, tz=ZoneInfo("Asia/Shanghai"))
    assert html.endswith("<i>seed-articles.txt · 27 Nov 2026, 04:00</i>")
    assert "<a " not in html
    no_date = make_entry(published=None)
    assert render_entry(no_date).endswith("<i>example.com</i>")


def test_short_source_forms():
    assert short_source("https://www.bbc.co.uk/news/rss.xml") == "bbc.co.uk"
    assert short_source("config/samples/seed.txt") == "seed.txt"
    assert short_source("C:\\news\\today.md") == "today.md"
    assert short_source("http://[::1") == "[::1"  # an unparsable URL falls back to the path form


def test_title_is_truncated_at_a_word_boundary():
    title = " ".join(["word"] * 200)
    text = plain(render_entry(make_entry(title))).split("\n")[0]
    assert len(text) <= MAX_TITLE_CHARS
    assert text.endswith("word" + ELLIPSIS)


def test_empty_title_gets_a_placeholder():
    assert plain(render_entry(make_entry("\x00 \t "))).startswith("(untitled)")


def test_digest_header_and_single_message():
    entries = [make_entry(f"Story {n}") for n in range(4)]
    messages = render_digest(entries, title="Your digest", when=WHEN, topics=["Quantum", "AI"])
    assert len(messages) == 1
    assert plain(messages[0]).startswith(
        "📰 Your digest — Thu 26 Nov 2026\nTopics: Quantum, AI · 4 articles\n\nStory 0"
    )
    assert_valid_message(messages[0])


def test_header_without_topics_and_singular_count():
    header = digest_header("Your digest", WHEN, [], 1)
    assert plain(header) == "📰 Your digest — Thu 26 Nov 2026\n1 article"


def test_empty_digest_renders_no_message():
    assert render_digest([], title="Your digest", when=WHEN, topics=["AI"]) == []


def test_long_digest_splits_between_articles_with_continuation_headers():
    bullets = tuple(f"Sentence {n} " + "detail " * 60 for n in range(3))
    entries = [make_entry(f"Story {n}", bullets) for n in range(30)]
    messages = render_digest(entries, title="Your digest", when=WHEN, topics=["AI"])
    assert len(messages) > 2
    for number, message in enumerate(messages, start=1):
        assert_valid_message(message)
        assert plain(message).startswith(f"📰 Your digest ({number}/{len(messages)})")
    blocks = [render_entry(entry) for entry in entries]
    for block in blocks:
        assert sum(block in message for message in messages) == 1
    titles = re.findall(r"Story \d+", "".join(plain(m) for m in messages))
    assert titles == [f"Story {n}" for n in range(30)]


def test_a_chinese_digest_numbers_its_parts_and_lists_topics_the_chinese_way():
    from bot.i18n import Catalogs

    zh = Catalogs.load().get("zh")
    bullets = tuple(f"Sentence {n} " + "detail " * 60 for n in range(3))
    entries = [make_entry(f"Story {n}", bullets) for n in range(30)]
    messages = render_digest(
        entries, title="你的摘要", when=WHEN, topics=["卫星互联网与航天", "生物医药"], t=zh
    )
    assert len(messages) > 2
    assert plain(messages[0]).startswith(f"📰 你的摘要（1/{len(messages)}） — ")
    assert "话题：卫星互联网与航天、生物医药 · 30 篇文章" in plain(messages[0])
    assert plain(messages[1]).startswith(f"📰 你的摘要（2/{len(messages)}）")


def test_article_too_long_alone_is_split_between_bullets():
    bullets = tuple(f"Bullet {n}: " + "words " * 150 for n in range(8))
    entry = make_entry("Huge story", bullets)
    messages = render_digest([entry], title="Your digest", when=WHEN, topics=[])
    assert len(messages) >= 2
    everything = "\n".join(plain(m) for m in messages)
    for n in range(8):
        line = "• " + collapse_whitespace(bullets[n])
        assert sum(line in plain(m) for m in messages) == 1, f"bullet {n} was cut or lost"
    assert everything.count("Huge story") == 1
    for message in messages:
        assert_valid_message(message)


def test_single_overlong_bullet_is_truncated_at_a_word_boundary():
    bullet = "alpha " * 2000
    messages = render_digest(
        [make_entry("Long", (bullet, "Short one."))], title="Digest", when=WHEN, topics=[]
    )
    for message in messages:
        assert_valid_message(message)
    text = "\n".join(plain(m) for m in messages)
    assert "alpha" + ELLIPSIS in text
    assert "• Short one." in text


def test_split_respects_the_entity_limit():
    blocks = [f"<b>{n}</b> <i>x</i>" for n in range(200)]
    messages = split_messages("<b>Header</b>", blocks, 4096)
    assert len(messages) > 1
    for message in messages:
        assert_valid_message(message)
    found = [int(n) for m in messages for n in re.findall(r"<b>(\d+)</b>", m)]
    assert found == list(range(200))


def test_split_keeps_blocks_with_newlines_inside_tags_whole_or_balanced():
    block = "<b>line one\nline two</b>\n" + "\n".join(
        f"<i>row {n} {'z' * 50}</i>" for n in range(40)
    )
    messages = split_messages("", [block], 400)
    assert len(messages) > 1
    for message in messages:
        assert_valid_message(message, 400)


def test_split_with_nothing_to_send():
    assert split_messages("", ["", "  ", "<b> </b>"]) == []
    assert split_messages("<b>Only a header</b>", []) == ["<b>Only a header</b>"]
    with pytest.raises(ValueError, match="limit"):
        split_messages("h", ["x"], limit=10)


def test_highlight_bolds_matched_word_runs_without_nesting():
    html = highlight_html(
        "Quantum communication & quantum <computers>", lambda w: w.lower() == "quantum"
    )
    assert html == "<b>Quantum</b> communication &amp; <b>quantum</b> &lt;computers&gt;"
    runs = highlight_html("satellite internet links", lambda w: w != "links")
    assert runs == "<b>satellite internet</b> links"


def test_search_results_bold_matches_number_results_and_fit_one_message():
    bullets = tuple(f"Quantum point {n} " + "quantum filler " * 40 for n in range(5))
    entries = [make_entry(f"Quantum story {n}", bullets) for n in range(5)]
    message = render_search_results(
        entries, "quantum", page=2, total=12, is_match=lambda w: w.lower() == "quantum"
    )
    assert_valid_message(message)
    text = plain(message)
    assert text.startswith("🔎 Results for “quantum” · 6–10 of 12")
    for n in range(5):
        assert f"{n + 6}. Quantum story {n}" in text
    bold = [e for e in parse_telegram_html(message).entities if e["type"] == "bold"]
    assert len(bold) > 5


def test_search_results_when_nothing_matches():
    message = render_search_results([], "<none>", page=1, total=0, is_match=lambda w: True)
    assert_valid_message(message)
    assert "No stored article matches “<none>”" in plain(message)


def test_fit_message_shares_room_between_blocks():
    blocks = ["<b>short</b>", "<i>" + "long words " * 500 + "</i>", "tail " * 600]
    message = fit_message("<b>Head</b>", blocks, 1000)
    assert_valid_message(message, 1000)
    text = plain(message)
    assert "short" in text
    assert text.count(ELLIPSIS) == 2


def test_escape_and_clean_text():
    assert escape("a\x00b\tc\r\nd <&> \"q\" 's'") == "ab c\nd &lt;&amp;&gt; &quot;q&quot; 's'"
    assert clean_text("x\ud800y\x85z\x7f") == "x\ufffdyz"


def test_truncate_text_examples():
    assert truncate_text("short", 10) == "short"
    assert truncate_text("hello wonderful world", 12) == "hello" + ELLIPSIS
    assert truncate_text("abcdefghijklmnop", 6) == "abcde" + ELLIPSIS
    assert truncate_text("e\u0301e\u0301e\u0301", 3) == "e\u0301" + ELLIPSIS
    with pytest.raises(ValueError, match="max_chars"):
        truncate_text("x", 0)


def test_truncate_html_drops_tags_that_cannot_fit_and_closes_the_rest():
    markup = '<b><a href="https://example.com/very/long/path">Title here</a></b> and more text'
    cut = truncate_html(markup, 30)
    assert_valid_message(cut, 30)
    assert plain(cut).endswith(ELLIPSIS)
    assert truncate_html(markup, 10_000) == markup


# --- properties over hostile input --------------------------------------------------------

_FRAGMENTS = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "</b>",
        "<b>",
        "<a href='javascript:x'>",
        "&amp;",
        "&",
        "&#0;",
        "<",
        ">",
        '"',
        "\x00",
        "\x1b[31m",
        "\r\n",
        "\t",
        "\u202e",
        "\u200f",
        "שלום",
        "مرحبا",
        "e\u0301",
        "👩\u200d👩\u200d👧",
        "👍🏽",
        "🇨🇳",
        "𝔘𝔫𝔦",
        "\ufeff",
        " ",
        "\n",
        "word",
        "a" * 300,
    ]
)
# Any code point Python can hold, lone surrogates included (they must not crash the renderer).
_ANY_CHAR = st.characters(exclude_categories=())
hostile_text = st.one_of(
    st.text(_ANY_CHAR, max_size=80),
    st.lists(st.one_of(_FRAGMENTS, st.text(_ANY_CHAR, max_size=10)), max_size=12).map("".join),
    # Long text from little entropy: a short piece repeated, as words or as one giant word.
    st.builds(
        lambda piece, times, sep: (piece + sep) * times,
        st.text(_ANY_CHAR, min_size=1, max_size=12),
        st.integers(40, 700),
        st.sampled_from([" ", "", "\n"]),
    ),
)
urls = st.one_of(
    st.none(),
    st.just("javascript:alert(1)"),
    hostile_text.map(lambda tail: "https://example.com/" + tail),
    hostile_text,
)
published = st.one_of(st.none(), st.datetimes(timezones=st.just(UTC)))


@st.composite
def entries(draw, max_size: int = 12):
    count = draw(st.integers(0, max_size))
    result = []
    for index in range(count):
        title = f"⟦{index}⟧ " + draw(hostile_text).replace("⟦", "")
        bullets = draw(st.lists(hostile_text.map(lambda t: t.replace("⟦", "")), max_size=6))
        entry = make_entry(
            title,
            tuple(bullets),
            url=draw(urls),
            source=draw(hostile_text),
            published=draw(published),
        )
        result.append(entry)
    return result


_SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(
    entries(),
    st.sampled_from([4096, 1000, 200]),
    st.one_of(st.none(), st.integers(0, 6)),
    hostile_text,
    st.lists(hostile_text, max_size=4),
)
def test_any_digest_renders_to_valid_ordered_messages(items, limit, bullets, title, topics):
    messages = render_digest(
        items, title=title, when=WHEN, topics=topics, bullets=bullets, limit=limit
    )
    assert bool(messages) == bool(items)
    for message in messages:
        assert_valid_message(message, limit)
    text = "".join(plain(m) for m in messages)
    markers = [int(n) for n in re.findall(r"⟦(\d+)⟧", text)]
    assert markers == list(range(len(items))), "every title once, in order"
    # Headers take at most a quarter of a message; a block that fits the rest stays whole.
    room = limit - limit // 4 - 2
    for entry in items:
        block = render_entry(entry, bullets=bullets)
        if utf16_len(block) <= room and entity_count(block) <= MAX_ENTITIES - MAX_ENTITIES // 4:
            assert sum(block in m for m in messages) >= 1, "a block that fits is never split"


@_SETTINGS
@given(entries(max_size=6), hostile_text, st.integers(1, 9), st.integers(0, 200))
def test_any_search_page_is_one_valid_message(items, query, page, total):
    words = set(re.findall(r"\w+", query.lower())) | {"a", "word"}
    message = render_search_results(
        items, query, page=page, total=total, is_match=lambda w: w.lower() in words
    )
    assert_valid_message(message)
    markers = [int(n) for n in re.findall(r"⟦(\d+)⟧", plain(message))]
    assert markers == list(range(len(items)))


@settings(max_examples=200, deadline=None)
@given(hostile_text, st.sampled_from(["all", "none", "odd"]))
def test_highlight_keeps_all_text_and_never_nests(text, mode):
    def is_match(word: str) -> bool:
        return mode == "all" or (mode == "odd" and len(word) % 2 == 1)

    html = highlight_html(text, is_match)
    parsed = parse_telegram_html(html)
    assert parsed.plain_text == clean_text(text)
    ends = 0
    for entity in parsed.entities:
        assert entity["type"] == "bold"
        start, length = entity["offset"], entity["length"]
        assert isinstance(start, int) and isinstance(length, int)
        assert start >= ends, "bold runs never overlap"
        ends = start + length


@settings(max_examples=200, deadline=None)
@given(hostile_text, st.integers(1, 400))
def test_truncate_text_properties(text, max_chars):
    cut = truncate_text(text, max_chars)
    assert len(cut) <= max_chars
    if len(text) <= max_chars:
        assert cut == text
    else:
        assert cut.endswith(ELLIPSIS)
        assert text.startswith(cut.removesuffix(ELLIPSIS))


@settings(max_examples=150, deadline=None)
@given(entries(max_size=1), st.integers(20, 600), st.integers(0, 5))
def test_truncate_html_is_valid_bounded_and_a_prefix(items, max_units, max_entities):
    for entry in items:
        block = render_entry(entry, highlight=lambda w: len(w) > 3)
        cut = truncate_html(block, max_units, max_entities)
        parsed = parse_telegram_html(cut)
        assert utf16_length(cut) <= max_units
        assert len(parsed.entities) <= max_entities
        original = plain(block)
        assert original.startswith(parsed.plain_text.removesuffix(ELLIPSIS))


@_SETTINGS
@given(
    st.lists(st.tuples(hostile_text, st.sampled_from(["b", "i", "u", "s", "code"])), max_size=40),
    st.integers(64, 3000),
)
def test_split_messages_accepts_any_balanced_blocks(pieces, limit):
    blocks = [f"<{tag}>{escape(text)}</{tag}>\n{escape(text)}" for text, tag in pieces]
    messages = split_messages("<b>Header</b>", blocks, limit)
    for message in messages:
        assert_valid_message(message, limit)
