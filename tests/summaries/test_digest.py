"""The digest rules: order, no title, no duplicates, shortening, short and empty articles."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from summaries.digest import (
    ELLIPSIS,
    MAX_RANKED_SENTENCES,
    MAX_TEXT_CHARS,
    capped_paragraphs,
    shorten,
    summarise,
    summarise_many,
    usable_sentences,
)
from summaries.keywords import top_keywords
from summaries.models import ALGORITHMS, Article, SummariserSettings
from summaries.sentences import split_sentences

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"

TITLE = "Shanghai opens quantum network"
PARAGRAPHS = (
    "Shanghai opens quantum network",
    "By Li Wei, Shanghai Daily",
    "Updated 10:30 GMT",
    "Shanghai opened a quantum communication network linking twelve districts on Monday. "
    "The quantum network uses keys carried by single photons to protect government data.",
    "Officials said the quantum network would reach every district of Shanghai by 2026. "
    "The weather was mild, with light winds from the east.",
    "Engineers tested the quantum keys for six months before the network opened. "
    "Read more: Quantum computing explained",
    "The city plans to link its quantum network with Hefei and Beijing by 2027.",
)


def make_article(title: str = TITLE, paragraphs: tuple[str, ...] = PARAGRAPHS) -> Article:
    return Article.create(source="test.txt", title=title, paragraphs=paragraphs)


def article_sentences(article: Article) -> list[str]:
    return [s for p in article.paragraphs for s in split_sentences(p)]


class FixedTopics:
    def __init__(self, *names: str) -> None:
        self.names = names
        self.calls: list[tuple[str, str]] = []

    def match(self, title: str, body: str, *, language: str = "en") -> tuple[str, ...]:
        self.calls.append((title, body))
        return self.names


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("bullets", [1, 3, 5])
def test_bullets_are_article_sentences_in_article_order(algorithm: str, bullets: int) -> None:
    article = make_article()
    settings = SummariserSettings(bullets=bullets, algorithm=algorithm)
    digest = summarise(article, settings)
    sentences = article_sentences(article)
    positions = [sentences.index(bullet) for bullet in digest.bullets]
    assert len(digest.bullets) == bullets
    assert positions == sorted(positions)
    assert digest.algorithm == algorithm
    assert digest.article_id == article.id


def test_furniture_and_the_title_never_become_bullets() -> None:
    digest = summarise(make_article(), SummariserSettings(bullets=10))
    assert TITLE not in digest.bullets
    assert not any(
        bullet.startswith(("By Li Wei", "Updated", "Read more")) for bullet in digest.bullets
    )
    # What is left is given whole, because it is no more than k sentences.
    assert len(digest.bullets) == 6


def test_a_sentence_equal_to_the_title_up_to_case_and_punctuation_is_dropped() -> None:
    article = make_article(paragraphs=("SHANGHAI OPENS QUANTUM NETWORK.", *PARAGRAPHS[3:]))
    assert not any("OPENS" in s.upper() and len(s) < 40 for s in usable_sentences(article))


def test_no_two_bullets_say_the_same_thing() -> None:
    paragraphs = (
        "Shares in Acme rose 5% on Monday after strong results.",
        "Acme shares rose 5% on Monday after strong results, traders said.",
        "The company also named a new chief executive.",
        "Analysts expect profits to grow next year.",
    )
    digest = summarise(make_article("Acme rises", paragraphs), SummariserSettings(bullets=3))
    assert len(digest.bullets) == 3
    assert sum("rose 5%" in bullet for bullet in digest.bullets) == 1
    # The earlier of two near-duplicates is the one kept: news states a fact first, and a
    # later near-copy is a caption, a pull quote or a recap.
    assert paragraphs[0] in digest.bullets


def test_long_sentences_are_shortened_at_a_clause_boundary() -> None:
    long = (
        "The Yangtze River Delta G60 Science and Technology Innovation Corridor will "
        "accelerate the construction of interconnected, system integrated, safe and efficient "
        "quantum communication networks, and give full play to the important role of quantum "
        "metropolitan area networks in promoting technological progress."
    )
    digest = summarise(
        make_article("Corridor plans", (long,)), SummariserSettings(max_bullet_chars=200)
    )
    (bullet,) = digest.bullets
    assert len(bullet) <= 200
    assert bullet.endswith(ELLIPSIS)
    assert bullet == long[: long.index(", and give full play")] + ELLIPSIS


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(
        st.text(alphabet="abcdefghij,;:()\"'-–", min_size=1, max_size=12), min_size=1, max_size=60
    ),
    max_chars=st.integers(min_value=40, max_value=300),
)
def test_shortening_never_cuts_a_word_and_respects_the_limit(
    words: list[str], max_chars: int
) -> None:
    sentence = " ".join(words)
    result = shorten(sentence, max_chars)
    if len(sentence) <= max_chars:
        assert result == sentence
        return
    assert result.endswith(ELLIPSIS)
    kept = result[: -len(ELLIPSIS)]
    assert sentence.startswith(kept)
    # The cut falls where a word ends: the next character of the original is not a letter.
    following = sentence[len(kept) : len(kept) + 1]
    assert not re.match(r"[a-j]", following)
    if len(words[0]) < max_chars - 1:
        assert len(result) <= max_chars


def test_short_articles_are_given_whole() -> None:
    paragraphs = ("Profits rose 5% in the first quarter.", "The shares fell on the news.")
    digest = summarise(make_article("Profits up", paragraphs), SummariserSettings(bullets=3))
    assert digest.bullets == paragraphs


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"bullets": 0}, "bullets must be from 1 to 10, got 0"),
        ({"bullets": 11}, "bullets must be from 1 to 10, got 11"),
        ({"algorithm": "magic"}, "unknown summarisation algorithm 'magic'"),
        ({"max_bullet_chars": 10}, "max_bullet_chars must be at least"),
        ({"keywords": -1}, "keywords must be 0 or more"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(
    changes: dict[str, object], message: str
) -> None:
    settings = replace(SummariserSettings(), **changes)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=re.escape(message)):
        summarise(make_article(), settings)
    with pytest.raises(ValueError, match=re.escape(message)):
        summarise_many([make_article()], settings)


@pytest.mark.parametrize(
    "paragraphs",
    [(), ("",), ("By John Smith, BBC News", "Updated 10:30 GMT", "(Getty Images)"), (TITLE,)],
)
def test_an_article_without_usable_text_gets_no_bullets(paragraphs: tuple[str, ...]) -> None:
    digest = summarise(make_article(paragraphs=paragraphs))
    assert digest.bullets == ()


def test_topics_come_from_the_matcher_and_keywords_from_the_text() -> None:
    matcher = FixedTopics("quantum", "g60")
    article = make_article()
    digest = summarise(article, SummariserSettings(keywords=3), matcher)
    assert digest.topics == ("quantum", "g60")
    assert matcher.calls == [(article.title, article.text)]
    assert digest.keywords[0] == "quantum"
    assert len(digest.keywords) == 3
    assert summarise(article).topics == ()


def test_summarise_many_keeps_order() -> None:
    first, second = make_article(), make_article("Profits up", ("Profits rose 5%.",))
    digests = summarise_many([first, second], SummariserSettings(bullets=2))
    assert [d.article_id for d in digests] == [first.id, second.id]


def test_keywords_are_stemmed_title_weighted_and_shown_as_written() -> None:
    keywords = top_keywords(
        "Satellite launch in Shanghai",
        "The satellites were launched from Jiuquan. Two satellites reached orbit. "
        "The rocket carried satellites for Shanghai firms. The rocket worked. Rocket fuel.",
        4,
    )
    # "satellite(s)" is one keyword; a title word outranks a more frequent body-only word.
    assert keywords[0] == "satellites"
    assert keywords.index("Shanghai") < keywords.index("rocket")
    assert "the" not in keywords and "were" not in keywords
    assert top_keywords("", "", 5) == ()
    assert top_keywords("Title words", "Body text here", 0) == ()


@pytest.mark.skipif(not (CORPUS / "seed").exists(), reason="../shared/corpus is absent")
def test_the_seed_articles_digest_without_furniture() -> None:
    text = (CORPUS / "seed" / "000_04df8af467d1954a.txt").read_text(encoding="utf-8")
    paragraphs = tuple(p for p in text.split("\n\n") if p.strip())
    article = make_article(paragraphs[0], paragraphs[1:20])
    digest = summarise(article)
    assert len(digest.bullets) == 3
    assert not any(bullet.startswith("Release time") for bullet in digest.bullets)
    assert all(len(bullet) <= SummariserSettings().max_bullet_chars for bullet in digest.bullets)


DAILY_MAIL_PARAGRAPHS = (
    "By . Daily Mail Reporter . PUBLISHED: . 11:37 EST, 3 May 2013 . | . UPDATED: . "
    "12:01 EST, 3 May 2013 .",
    "A council in Kent has approved a new bypass after ten years of protests by residents. "
    "Scroll down for video",
    "Pictured: protesters outside the council offices on Monday",
    "The road will cost £40million and open in 2016, the council said. "
    "Residents said the traffic had made their village unsafe for children.",
)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_tabloid_furniture_is_never_a_bullet(algorithm: str) -> None:
    article = make_article("Bypass approved", DAILY_MAIL_PARAGRAPHS)
    digest = summarise(article, SummariserSettings(bullets=3, algorithm=algorithm))
    assert len(digest.bullets) == 3
    for bullet in digest.bullets:
        assert not re.match(r"(By|PUBLISHED|UPDATED|Daily Mail|Scroll|Pictured)\b", bullet)


NAME_LIST = (
    "Technology Co., Ltd., Zhejiang University Intelligent Innovative Drug Research Institute, "
    "and Hefei Science and Technology Innovation Group Co., Ltd. were selected into the first "
    "batch of the corridor's proof-of-concept centres."
)


def test_shortening_never_cuts_after_a_legal_abbreviation_or_between_capitalised_words() -> None:
    # From 100 characters on there is always a boundary outside a name to cut at (below that,
    # the whole window is one list of names and the last word boundary is the only choice).
    for max_chars in range(100, len(NAME_LIST), 7):
        kept = shorten(NAME_LIST, max_chars).removesuffix(ELLIPSIS)
        assert not kept.endswith(("Co.", "Co", "Ltd.", "Ltd")), max_chars
        if kept != NAME_LIST:
            following = NAME_LIST[len(kept) :].lstrip(" ,").split()[0]
            assert not (kept.split()[-1][0].isupper() and following[0].isupper()), max_chars


def test_shortening_keeps_the_main_verb_when_it_fits() -> None:
    sentence = (
        "The Yangtze River Delta G60 Science and Technology Innovation Corridor Office, "
        "Songjiang District Science Commission and Shanghai Municipal Development Office "
        "announced on Monday that twelve new laboratories would open in the corridor by 2026."
    )
    bullet = shorten(sentence, 200)
    assert "announced" in bullet


def test_a_huge_item_is_capped_before_splitting_and_ranking() -> None:
    sentence = "Officials in district {n} said the new line carried {m} passengers on Monday."
    paragraphs = tuple(
        " ".join(sentence.format(n=n, m=n * 7 + k) for k in range(5)) for n in range(2_000)
    )
    article = make_article("Metro figures", paragraphs)
    assert sum(map(len, paragraphs)) > 5 * MAX_TEXT_CHARS
    assert sum(map(len, capped_paragraphs(article))) <= MAX_TEXT_CHARS
    assert len(usable_sentences(article)) <= MAX_RANKED_SENTENCES
    topics = FixedTopics("transport")
    summarise(article, topic_matcher=topics)
    assert len(topics.calls[0][1]) <= MAX_TEXT_CHARS + 2 * len(paragraphs)


def test_a_huge_paragraph_without_spaces_is_cut_not_lost() -> None:
    article = make_article("Blob", ("x" * (3 * MAX_TEXT_CHARS),))
    assert [len(p) for p in capped_paragraphs(article)] == [MAX_TEXT_CHARS]
