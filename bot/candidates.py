"""The articles a round (or one /digest) may draw from, found per subscription.

Loaded from the store once per round and shared by its batches: the look-back window's ids in
digest order, each topic's articles from the `article_topics` index, each keyword query's
matches, and the full articles only for those some chat actually gets.

A keyword query's matches come from the database's full-text index (ids only): asked for each
language's stems of a query of plain words, the index's answer is exact. For a phrase, a
Chinese phrase or an article in a language without stems of its own, only the candidates'
texts are loaded, a page at a time, to check the query's own rules.
Matching the whole window's texts in memory took 310 MB at 30,000 articles; now memory follows
the page and the bounded text cache (`Services.texts`), not the window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from bot.selection import (
    KEYWORDS,
    SOURCE,
    TOPIC,
    ArticleTexts,
    MatchUnions,
    keyword_matches,
    parsed_query,
    source_parts,
)
from bot.services import Services
from bot.store import StoredArticle, Subscription
from summaries import language as languages
from summaries.search_text import query_terms, tokens_by_language

#: Texts loaded and checked at a time (the cache keeps the most recently used beyond that).
TEXT_PAGE = 200


class Candidates:
    def __init__(self, services: Services, now: datetime, *, text_page: int = TEXT_PAGE) -> None:
        self._services = services
        self.since = now - timedelta(days=services.settings.bot.lookback_days)
        self._text_page = max(1, text_page)
        self._window: list[str] | None = None
        self.rank: dict[str, int] = {}
        self._matches: dict[Subscription, list[str]] = {}
        # Each distinct set of subscriptions' matches, united once per round ("N more").
        self.unions = MatchUnions(self._matches)
        self._articles: dict[str, StoredArticle] = {}

    async def window(self) -> list[str]:
        """Ids of the articles in the look-back window, newest first."""
        if self._window is None:
            self._window = await self._services.store.window_article_ids(self.since)
            self.rank = {article_id: place for place, article_id in enumerate(self._window)}
        return self._window

    async def matches_for(
        self, subscriptions: Iterable[Subscription]
    ) -> dict[Subscription, list[str]]:
        """For each subscription, the ids of its articles in the window, newest first."""
        wanted = list(dict.fromkeys(subscriptions))
        new = [sub for sub in wanted if sub not in self._matches]
        window = await self.window()
        topics = [sub.value for sub in new if sub.kind == TOPIC]
        if topics:
            found = await self._services.store.topic_article_ids(topics, self.since)
            for topic in topics:  # a topic without articles is fixed (empty) for the round too
                self._matches[Subscription(TOPIC, topic)] = found.get(topic, [])
        queries = [sub.value for sub in new if sub.kind == KEYWORDS]
        if queries:
            matched = await self._keyword_matches(queries, window, None)
            for query, ids in matched.items():
                self._matches[Subscription(KEYWORDS, query)] = ids
        own = [sub for sub in new if sub.kind == SOURCE]
        if own:
            await self._match_sources(own)
        return {sub: self._matches.get(sub, []) for sub in wanted}

    async def _match_sources(self, subscriptions: Sequence[Subscription]) -> None:
        """A chat's own source: every article of it, or those matching its keywords."""
        parts = {sub: source_parts(sub.value) for sub in subscriptions}
        by_source = await self._services.store.source_article_ids(
            list({url for url, _ in parts.values()}), self.since
        )
        for sub, (url, keywords) in parts.items():
            ids = by_source.get(url, [])
            if keywords:
                # Own sources' articles are outside the window of topics and keywords.
                ids = (await self._keyword_matches([keywords], ids, url))[keywords]
            self._matches[sub] = ids

    async def _keyword_matches(
        self, queries: Sequence[str], pool: Sequence[str], source: str | None
    ) -> dict[str, list[str]]:
        """For each query, the ids in `pool` (in its order) whose article matches it: the
        operator's articles, or `source`'s. The full-text index answers; only the candidates
        it cannot answer for exactly have their texts loaded and checked, a page at a time."""
        found: dict[str, set[str]] = {}
        to_check: dict[str, Collection[str]] = {}
        for query_text in dict.fromkeys(queries):
            found[query_text], to_check[query_text] = await self._indexed(query_text, pool, source)
        checked = await self._checked({q: ids for q, ids in to_check.items() if ids}, pool)
        for query_text, ids in checked.items():
            found[query_text].update(ids)
        return {query: [i for i in pool if i in ids] for query, ids in found.items()}

    async def _indexed(
        self, query_text: str, pool: Sequence[str], source: str | None
    ) -> tuple[set[str], Collection[str]]:
        """What the full-text index says of the query: (the ids that match for sure, the ids
        whose text must be checked)."""
        query = parsed_query(query_text)
        if query is None:
            return set(), ()
        store = self._services.store
        terms = query_terms(query)
        if not terms:  # nothing the index can look for: check every text
            return set(), pool
        by_language = tokens_by_language(query)
        if by_language is None:
            return set(), await store.matching_article_ids(terms, self.since, source)
        sure: set[str] = set()
        for tokens, codes in by_language.items():
            exact_terms = [((token,),) for token in tokens]
            sure |= await store.matching_article_ids(
                exact_terms, self.since, source, languages=codes
            )
        # Articles in other languages (or none recorded) are stemmed their own way: check them.
        others = await store.matching_article_ids(
            terms, self.since, source, languages=languages.SUPPORTED, other_languages=True
        )
        return sure, others

    async def _checked(
        self, candidates: Mapping[str, Collection[str]], pool: Sequence[str]
    ) -> dict[str, list[str]]:
        """For each query, its `candidates` in `pool` (in its order) whose text matches it."""
        to_check = [article_id for article_id in pool if _wanted(article_id, candidates)]
        found: dict[str, set[str]] = {query_text: set() for query_text in candidates}
        for start in range(0, len(to_check), self._text_page):
            page = to_check[start : start + self._text_page]
            texts = await self._page_texts(page)
            checks = {query: [i for i in page if i in ids] for query, ids in candidates.items()}
            matched = await asyncio.to_thread(_check_page, checks, texts)
            for query_text, ids in matched.items():
                found[query_text].update(ids)
        return {query: [i for i in pool if i in ids] for query, ids in found.items()}

    async def _page_texts(self, ids: Sequence[str]) -> ArticleTexts:
        """The page's tokenised texts: cached ones, and the rest loaded and tokenised (then
        cached for later rounds). A page of its own, so that nothing another task adds to the
        shared cache meanwhile can push out a text before it is checked."""
        shared = self._services.texts
        page = ArticleTexts(max_size=len(ids))
        for article_id in ids:
            page.put(article_id, shared.get(article_id))
        missing = page.missing(ids)
        if missing:
            rows = await self._services.store.article_texts(missing)
            await asyncio.to_thread(page.add_all, rows)
            for article_id in missing:
                shared.put(article_id, page.get(article_id))
        return page

    async def articles(self, ids: Iterable[str]) -> dict[str, StoredArticle]:
        """The stored articles among `ids` (loaded once per round), by id."""
        wanted = list(dict.fromkeys(ids))
        missing = [article_id for article_id in wanted if article_id not in self._articles]
        if missing:
            for stored in await self._services.store.get_articles(missing):
                self._articles[stored.article.id] = stored
        return {key: self._articles[key] for key in wanted if key in self._articles}


def _wanted(article_id: str, candidates: Mapping[str, Collection[str]]) -> bool:
    return any(article_id in ids for ids in candidates.values())


def _check_page(checks: Mapping[str, Sequence[str]], texts: ArticleTexts) -> dict[str, list[str]]:
    """CPU-bound (callers run it in a worker thread)."""
    found: dict[str, list[str]] = {}
    for query_text, ids in checks.items():
        found.update(keyword_matches([query_text], ids, texts))
    return found
