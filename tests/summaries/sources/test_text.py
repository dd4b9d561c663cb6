from datetime import UTC, datetime

import pytest

from summaries.sources import parse_markdown, parse_text
from summaries.sources.text import strip_markdown_inline
from tests.summaries.sources.conftest import SAMPLE


def test_plain_text_first_line_is_the_title_and_soft_wraps_join():
    text = "  The title  \n\nFirst line of a paragraph\nwrapped here.\n\n\nSecond paragraph.\n"
    result = parse_text(text, "a.txt")
    (article,) = result.articles
    assert article.title == "The title"
    assert article.paragraphs == ("First line of a paragraph wrapped here.", "Second paragraph.")
    assert article.source == "a.txt"
    assert result.problems == ()


def test_body_may_follow_the_title_without_a_blank_line():
    article = parse_text("Title\nBody line.\n", "a.txt").articles[0]
    assert (article.title, article.paragraphs) == ("Title", ("Body line.",))


def test_same_text_gives_the_same_id_and_different_text_another():
    first = parse_text("Title\n\nBody.", "a.txt").articles[0]
    again = parse_text("Title\n\nBody.", "elsewhere.txt").articles[0]
    other = parse_text("Title\n\nOther body.", "a.txt").articles[0]
    assert first.id == again.id != other.id


def test_seed_format_in_a_text_file_is_detected():
    result = parse_text(SAMPLE.read_text(encoding="utf-8"), "news.txt")
    assert len(result.articles) == 6


def test_seed_format_can_be_forced_or_refused():
    text = "Only title\n\nRelease time:May 1, 2024 10:00 AM\n\nBody."
    assert (
        parse_text(text, "s", text_format="single")
        .articles[0]
        .paragraphs[0]
        .startswith("Release time")
    )
    forced = parse_text("Title\n\nBody.", "s", text_format="seed").articles[0]
    assert forced.title == "Title"
    with pytest.raises(ValueError, match="text_format"):
        parse_text("x", "s", text_format="nonsense")


def test_empty_file_and_title_only_are_problems_naming_the_source():
    empty = parse_text("\n\n", "empty.txt")
    assert (empty.articles, empty.problems) == ((), ("empty.txt: empty file; no article",))
    bare = parse_text("Just a title\n", "bare.txt")
    assert bare.articles == ()
    assert bare.problems == ("bare.txt: article 'Just a title' has no text; skipped",)


def test_byte_order_mark_is_not_part_of_the_title():
    assert parse_text("\ufeffTitle\n\nBody.", "a.txt").articles[0].title == "Title"


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("**bold** and __strong__", "bold and strong"),
        ("*em* and _em_ but snake_case_name", "em and em but snake_case_name"),
        ("a [link](https://x.org/a_(b)) here", "a link here"),
        ("a [ref link][1] here", "a ref link here"),
        ("![photo](x.png)caption", "caption"),
        ("`code` and ~~gone~~", "code and gone"),
        ("see <https://example.com>", "see https://example.com"),
        ("inline <b>html</b> tags", "inline html tags"),
        (r"escaped \*stars\*", "escaped *stars*"),
        ("3 * 4 * 5 = 60", "3 * 4 * 5 = 60"),
    ],
)
def test_markdown_inline_formatting_becomes_plain_text(markdown, text):
    assert strip_markdown_inline(markdown) == text


def test_markdown_article_structure():
    text = """# The *big* story

Intro paragraph
soft wrapped.

## A sub-heading

- first item
- second item
  continues

> quoted text

```python
print("code is dropped")
```

---

[1]: https://example.com/ref
Last paragraph with [a link](https://example.com).
"""
    (article,) = parse_markdown(text, "story.md").articles
    assert article.title == "The big story"
    assert article.paragraphs == (
        "Intro paragraph soft wrapped.",
        "A sub-heading",
        "first item",
        "second item continues",
        "quoted text",
        "Last paragraph with a link.",
    )


def test_markdown_setext_title():
    article = parse_markdown("The title\n=========\n\nBody.\n", "a.md").articles[0]
    assert (article.title, article.paragraphs) == ("The title", ("Body.",))


def test_markdown_front_matter_gives_title_date_tags_and_url():
    text = (
        "---\ntitle: From front matter\ndate: 2024-05-24 08:00:00\ntags: [quantum, G60]\n"
        "url: https://example.com/story\n---\n# From front matter\n\nBody text.\n"
    )
    article = parse_markdown(text, "a.md").articles[0]
    assert article.title == "From front matter"
    assert article.paragraphs == ("Body text.",)
    assert article.published == datetime(2024, 5, 24, 8, 0, tzinfo=UTC)
    assert article.tags == ("quantum", "G60")
    assert article.url == "https://example.com/story"


def test_broken_front_matter_is_a_problem_and_the_text_still_loads():
    text = "---\ntitle: [unclosed\n---\nTitle\n\nBody.\n"
    result = parse_markdown(text, "bad.md")
    assert [a.title for a in result.articles] == ["Title"]
    assert len(result.problems) == 1 and result.problems[0].startswith("bad.md: unreadable front")
