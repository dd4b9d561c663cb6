"""Keyword candidates come from the full-text index: memory follows the matches, not the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from bot.candidates import Candidates
from bot.selection import KEYWORDS, ArticleTexts
from bot.store import AsyncStore, Store, Subscription
from summaries.matching import KeywordQuery
from summaries.models import Article, Digest

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WINDOW = 120
RARE = {7, 40, 99}  # the articles that mention a zeppelin


UNKNOWN_LANGUAGE = 99  # a rare one whose language was never recorded


def article(number: int) -> Article:
    body = f"Harbour report number {number}: ships came and went as the tide allowed."
    if number in RARE:
        body += " A zeppelin floated over the harbour at noon."
    return Article.create(
        source="https://example.org/feed",
        title=f"Harbour day {number}",
        paragraphs=[body],
        url=f"https://example.org/{number}",
        language="" if number == UNKNOWN_LANGUAGE else "en",
    )


class CountingStore(AsyncStore):
    """Counts the article texts a selection loads."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.text_calls: list[int] = []

    async def article_texts(self, ids):
        rows = await super().article_texts(ids)
        self.text_calls.append(len(rows))
        return rows


@pytest.fixture
def window(store: Store) -> list[str]:
    """WINDOW articles fetched a minute apart, newest last; ids newest first."""
    ids = []
    for number in range(WINDOW):
        item = article(number)
        store.add_articles(
            [(item, Digest(item.id, ("A bullet.",)))], NOW - timedelta(minutes=WINDOW - number)
        )
        ids.append(item.id)
    return ids[::-1]


def services_for(store: CountingStore, texts: ArticleTexts | None = None) -> SimpleNamespace:
    return SimpleNamespace(
        store=store,
        settings=SimpleNamespace(bot=SimpleNamespace(lookback_days=7)),
        texts=texts or ArticleTexts(),
    )


def keywords(text: str) -> Subscription:
    return Subscription(KEYWORDS, KeywordQuery.parse(text).text)


async def test_keywords_are_answered_by_the_index_without_loading_texts(store, window):
    counting = CountingStore(store)
    candidates = Candidates(services_for(counting), NOW)
    rare, common = keywords("zeppelins"), keywords("harbour tide")
    found = await candidates.matches_for([rare, common])
    assert found[rare] == [article(n).id for n in sorted(RARE, reverse=True)]  # newest first
    assert found[common] == window  # every article, in digest order
    # Not the window's 120 texts: only the one whose language (its stems) is unknown.
    assert sum(counting.text_calls) == 1


async def test_a_phrase_is_checked_a_page_at_a_time_with_a_bounded_cache(store, window):
    counting = CountingStore(store)
    texts = ArticleTexts(max_size=30)
    candidates = Candidates(services_for(counting, texts), NOW, text_page=25)
    subscription = keywords('"harbour report"')
    found = await candidates.matches_for([subscription])
    assert found[subscription] == window  # every article, in digest order
    assert sum(counting.text_calls) == WINDOW
    assert max(counting.text_calls) <= 25
    assert len(texts) <= 30


async def test_phrases_and_own_sources_keep_their_exact_rules(store, window):
    counting = CountingStore(store)
    candidates = Candidates(services_for(counting), NOW)
    phrase = keywords('"zeppelin floated"')
    reversed_phrase = keywords('"floated zeppelin"')  # both words, never in this order
    own = Subscription("source", "https://example.org/feed zeppelin")
    found = await candidates.matches_for([phrase, reversed_phrase, own])
    assert len(found[phrase]) == len(RARE)
    assert found[reversed_phrase] == []
    assert found[own] == found[phrase]


MULTILINGUAL = [
    ("en", "Satellites over the harbour", "Two satellites were launched from the harbour."),
    ("de", "Neue Satelliten für die Hafenstadt", "Die Stadt hat drei neue Satelliten gezeigt."),
    ("fr", "Des satellites pour le port", "Le port a présenté trois nouveaux satellites."),
    ("zh", "松江建成量子通信示范网", "上海松江区日前宣布，量子通信示范网已完成建设。"),
    ("en", "Quantum links for banks", "Banks tested quantum links between the cities."),
]


@pytest.mark.parametrize(
    "query",
    ["satellites", "Satelliten", "satellite harbour", "量子", "量子通信", "quantum", "port"],
)
async def test_the_index_finds_what_the_query_itself_matches_in_every_language(store, query):
    from bot.selection import keyword_matches

    items = [
        Article.create(
            source="https://example.org/feed", title=title, paragraphs=[body],
            url=f"https://example.org/{code}/{n}", language=code,
        )
        for n, (code, title, body) in enumerate(MULTILINGUAL)
    ]  # fmt: skip
    store.add_articles([(item, Digest(item.id, ("A bullet.",))) for item in items], NOW)
    candidates = Candidates(services_for(CountingStore(store)), NOW)
    subscription = keywords(query)
    found = await candidates.matches_for([subscription])
    texts = ArticleTexts()
    for item in items:
        texts.add(item)
    window = await candidates.window()
    assert (
        found[subscription]
        == keyword_matches([subscription.value], window, texts)[subscription.value]
    )
