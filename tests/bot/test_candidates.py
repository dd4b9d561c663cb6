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


def article(number: int) -> Article:
    body = f"Harbour report number {number}: ships came and went as the tide allowed."
    if number in RARE:
        body += " A zeppelin floated over the harbour at noon."
    return Article.create(
        source="https://example.org/feed",
        title=f"Harbour day {number}",
        paragraphs=[body],
        url=f"https://example.org/{number}",
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


async def test_a_keyword_loads_only_the_texts_the_index_names(store, window):
    counting = CountingStore(store)
    candidates = Candidates(services_for(counting), NOW)
    subscription = keywords("zeppelins")
    found = await candidates.matches_for([subscription])
    expected = [article(n).id for n in sorted(RARE, reverse=True)]  # newest first
    assert found[subscription] == expected
    # Not the window's 120 texts: the three the index found.
    assert sum(counting.text_calls) == len(RARE)


async def test_a_common_keyword_is_checked_a_page_at_a_time_with_a_bounded_cache(store, window):
    counting = CountingStore(store)
    texts = ArticleTexts(max_size=30)
    candidates = Candidates(services_for(counting, texts), NOW, text_page=25)
    subscription = keywords("harbour tide")
    found = await candidates.matches_for([subscription])
    assert found[subscription] == window  # every article, in digest order
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
