from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from summaries.sources import looks_like_seed, parse_seed
from tests.summaries.sources.conftest import SAMPLE

SAMPLE_TITLES = [
    "This corridor is accelerating to become a world-class science and technology innovation "
    "corridor, cultivating future industries",
    "Exploring New Methods of Party Building Leading Group Rent Governance, Songjiang Jiuting "
    'Focuses on "Group Rent" Governance Community',
    "The new exhibition showcases global painting treasures spanning six centuries, and the "
    'Pudong Art Museum\'s recent "full exhibition" exhibit',
    'Lujiazui Century Avenue Business District Jiuliu Square "Drama on the Weeks", Pudong '
    "Nightlife Festival Cultural Activity Enriching Square",
    "After the four innovative drugs are launched, they will fill the gap in the domestic "
    "market. Zhangjiangyi Innovative Drug Production Base is put into operation for biological",
    "Building a first store debut platform and CEO club? The imagination space is still large, "
    "in the demonstration area of Xintiandi Demonstration Zone",
]
SAMPLE_TAGS = [
    (),
    ("Second Landlord", "Methods"),
    ("Art", "Exhibition"),
    ("Theater", "Century Avenue"),
    ("innovative", "production"),
    ("International", "Space"),
]
SUBHEADING = 'The "new content" of the industry leverages the "gold content" of development'


def sample_result():
    return parse_seed(SAMPLE.read_text(encoding="utf-8"), str(SAMPLE))


def test_sample_gives_exactly_its_six_articles_with_clean_titles_and_tags():
    result = sample_result()
    assert [article.title for article in result.articles] == SAMPLE_TITLES
    assert [article.tags for article in result.articles] == SAMPLE_TAGS
    assert result.problems == ()
    assert all("|" not in article.title for article in result.articles)


def test_sample_release_time_is_read_in_shanghai_time_where_present():
    articles = sample_result().articles
    assert articles[0].published == datetime(2024, 5, 24, 11, 48, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert articles[0].published.utcoffset().total_seconds() == 8 * 3600
    assert [article.published for article in articles[1:]] == [None] * 5


def test_release_time_zone_is_a_parameter():
    text = SAMPLE.read_text(encoding="utf-8")
    article = parse_seed(text, "sample", tz="UTC").articles[0]
    assert article.published == datetime(2024, 5, 24, 11, 48, tzinfo=UTC)


def test_bodies_hold_paragraphs_but_never_titles_or_release_lines():
    articles = sample_result().articles
    first = articles[0]
    assert SUBHEADING in first.paragraphs  # a one-line sub-heading stays in its article
    assert first.paragraphs[0].startswith("On May 24, the conference")
    assert len(first.paragraphs) == 16
    for article in articles:
        assert article.paragraphs
        assert article.title not in article.paragraphs
        assert not any(p.startswith("Release time") for p in article.paragraphs)
        assert all(p == p.strip() and "\n" not in p for p in article.paragraphs)


def test_reparsing_gives_the_same_ids_and_ids_are_distinct():
    first = [article.id for article in sample_result().articles]
    assert first == [article.id for article in sample_result().articles]
    assert len(set(first)) == 6


def test_shared_corpus_copy_matches_the_bundled_sample(corpus):
    seed = corpus / "seed" / "000_04df8af467d1954a.txt"
    if not seed.is_file():
        pytest.skip("seed corpus not present")
    shared = parse_seed(seed.read_text(encoding="utf-8"), str(seed)).articles
    assert [a.id for a in shared] == [a.id for a in sample_result().articles]


def test_a_title_written_once_before_a_release_time_starts_an_article():
    text = (
        "First title | News\nFirst title | News\n\nBody one.\n\n"
        "Second title\n\nRelease time:June 1, 2024 9:05 AM\n\nBody two.\n"
    )
    result = parse_seed(text, "feed.txt")
    assert [a.title for a in result.articles] == ["First title", "Second title"]
    assert result.articles[1].published == datetime(
        2024, 6, 1, 9, 5, tzinfo=ZoneInfo("Asia/Shanghai")
    )
    assert result.articles[1].paragraphs == ("Body two.",)
    tight = parse_seed("A\nA\n\nBody.\n\nB\nRelease time:2024-06-01 09:05\nText.", "t")
    assert [(a.title, a.paragraphs) for a in tight.articles] == [
        ("A", ("Body.",)),
        ("B", ("Text.",)),
    ]


def test_the_copy_with_more_tags_gives_the_tags():
    text = "A title\nA title | One | Two\n\nBody.\n"
    article = parse_seed(text, "s").articles[0]
    assert (article.title, article.tags) == ("A title", ("One", "Two"))


def test_soft_wrapped_lines_join_into_one_paragraph():
    text = "T | x\nT | x\n\nline one\nline two\n\nnext\n"
    assert parse_seed(text, "s").articles[0].paragraphs == ("line one line two", "next")


def test_article_with_no_text_is_skipped_with_a_warning_naming_source_and_title():
    text = "Empty one | a\nEmpty one | a\n\nFull one | b\nFull one | b\n\nSome text.\n"
    result = parse_seed(text, "news.txt")
    assert [a.title for a in result.articles] == ["Full one"]
    assert result.problems == ("news.txt: article 1 'Empty one' has no text; skipped",)


def test_unreadable_release_time_is_a_warning_and_the_article_stays():
    text = "Title\n\nRelease time:sometime soon\n\nBody.\n"
    result = parse_seed(text, "s.txt")
    assert [a.published for a in result.articles] == [None]
    assert len(result.problems) == 1
    assert "s.txt" in result.problems[0] and "sometime soon" in result.problems[0]


def test_empty_text_is_a_problem_not_an_exception():
    result = parse_seed("\n \n", "empty.txt")
    assert result.articles == ()
    assert result.problems == ("empty.txt: empty file; no articles",)


def test_looks_like_seed():
    assert looks_like_seed(SAMPLE.read_text(encoding="utf-8"))
    assert looks_like_seed("Title\n\nRelease time: May 1, 2024\n\nBody")
    assert looks_like_seed("A | tag\nA | tag\n\nBody")
    assert not looks_like_seed("A plain title\n\nA body.\n\nAnother paragraph.\n")
    # A single repeated line without tags is a typo, not the format.
    assert not looks_like_seed("Title\nTitle\n\nBody.\n")


@given(st.text(alphabet=st.sampled_from("ab |\n:Release time") | st.characters(), max_size=300))
def test_any_text_parses_without_error_into_titled_articles_with_text(text):
    result = parse_seed(text, "fuzz")
    for article in result.articles:
        assert article.title.strip()
        assert article.paragraphs
        assert all(paragraph.strip() for paragraph in article.paragraphs)


@pytest.mark.parametrize("text", ["\x08\x1e0", "0\x1e\x08", "Title\x1eBody"])
def test_control_characters_never_make_an_empty_title_or_split_lines(text):
    for article in parse_seed(text, "fuzz").articles:
        assert article.title.strip() and article.paragraphs
