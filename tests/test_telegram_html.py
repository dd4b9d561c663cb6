"""The strict Telegram HTML model that the fake Bot API and the renderer's tests rely on."""

import html
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.telegram_html import (
    TelegramHTMLError,
    parse_telegram_html,
    utf16_length,
    visible_length,
)

# Any text Telegram can carry: no lone surrogates (they are not valid UTF-8).
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)))


def test_formatting_tags_become_entities_with_utf16_offsets() -> None:
    parsed = parse_telegram_html("😀 <b>bold <i>both</i></b> <u>u</u> <s>s</s>")

    assert parsed.plain_text == "😀 bold both u s"
    assert parsed.entities == [
        {"type": "bold", "offset": 3, "length": 9},
        {"type": "italic", "offset": 8, "length": 4},
        {"type": "underline", "offset": 13, "length": 1},
        {"type": "strikethrough", "offset": 15, "length": 1},
    ]


@pytest.mark.parametrize(
    ("markup", "entity"),
    [
        ('<a href="https://e.org/?a=1&amp;b=2">x</a>', {"url": "https://e.org/?a=1&b=2"}),
        ("<a href=https://e.org>x</a>", {"url": "https://e.org"}),
        ('<pre><code class="language-python">x</code></pre>', {"language": "python"}),
        ("<blockquote expandable>x</blockquote>", {"type": "expandable_blockquote"}),
        ('<span class="tg-spoiler">x</span>', {"type": "spoiler"}),
        ("<tg-spoiler>x</tg-spoiler>", {"type": "spoiler"}),
        ('<tg-emoji emoji-id="5368324170671202286">x</tg-emoji>', {"type": "custom_emoji"}),
        ("<STRONG>x</STRONG>", {"type": "bold"}),
        ("<code>x</code>", {"type": "code"}),
    ],
)
def test_supported_tags_and_their_attributes(markup: str, entity: dict[str, str]) -> None:
    parsed = parse_telegram_html(markup)

    assert parsed.plain_text == "x"
    assert len(parsed.entities) == 1
    assert entity.items() <= parsed.entities[0].items()


@pytest.mark.parametrize(
    ("text", "decoded"),
    [
        ("&lt;b&gt; &amp; &quot;", '<b> & "'),
        ("&#39;&#x27;&#X1F600;", "''😀"),
        ("a > b", "a > b"),
    ],
)
def test_allowed_entities_and_a_bare_greater_than(text: str, decoded: str) -> None:
    assert parse_telegram_html(text).plain_text == decoded


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("<br/>", 'Unsupported start tag "br/" at byte offset 0'),
        ("é<script>", 'Unsupported start tag "script" at byte offset 2'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<a href="x>y</a>', "Unclosed start tag at byte offset 0"),
        ("<a href>y</a>", 'Expected equal sign in declaration of an attribute of the tag "a"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("<tg-emoji>x</tg-emoji>", "Custom emoji identifier"),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("Q&A", 'Unescaped "&" at byte offset 1'),
        ("&nbsp;", 'Unsupported HTML entity "&nbsp;"'),
        ("&LT;", 'Unsupported HTML entity "&LT;"'),
        ("&#;", 'Invalid numeric HTML entity "&#;"'),
        ("&#xD800;", 'Invalid numeric HTML entity "&#xD800;"'),
        ("&#1114112;", 'Invalid numeric HTML entity "&#1114112;"'),
        ('<a href="a&b">x</a>', 'Unescaped "&" in an attribute'),
    ],
)
def test_invalid_html_is_refused_with_telegrams_reason(text: str, message: str) -> None:
    with pytest.raises(TelegramHTMLError, match=re.escape(message)):
        parse_telegram_html(text)


def test_empty_entities_are_dropped() -> None:
    assert parse_telegram_html("<b></b>x<a>y</a>").entities == []


def test_visible_length_counts_utf16_units_of_the_plain_text() -> None:
    assert visible_length("<b>ab</b>&amp;😀") == 5
    assert utf16_length("😀é") == 3


@given(any_text)
def test_escaped_text_is_always_valid_and_round_trips(text: str) -> None:
    parsed = parse_telegram_html(html.escape(text))

    assert parsed.plain_text == text
    assert parsed.entities == []


@given(any_text, any_text)
def test_a_bold_wrapper_covers_exactly_the_escaped_text(before: str, inside: str) -> None:
    parsed = parse_telegram_html(f"{html.escape(before)}<b>{html.escape(inside)}</b>")

    expected = (
        [{"type": "bold", "offset": utf16_length(before), "length": utf16_length(inside)}]
        if inside
        else []
    )
    assert parsed.entities == expected


markup_pieces = st.sampled_from(["<", "&", "<b>", "</b>", "&amp;", "&#6", "0;", ">", " ", "i"])
markup_like_text = (
    st.lists(st.one_of(any_text, markup_pieces), min_size=1)
    .map("".join)
    .filter(lambda text: "<" in text or "&" in text)
)


@given(markup_like_text)
def test_unescaped_markup_characters_are_never_silently_accepted(text: str) -> None:
    # A raw "<" or "&" either forms a valid tag/entity or is refused; it is never kept as text.
    try:
        parsed = parse_telegram_html(text)
    except TelegramHTMLError:
        return
    assert parsed.plain_text != text
