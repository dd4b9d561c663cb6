"""The articles a round (or one /digest) may draw from, found per subscription.

Loaded from the store once per round and shared by its batches: the look-back window's ids in
digest order, each topic's articles from the `article_topics` index, each keyword query's
matches over the window's tokenised texts (cached across rounds in `Services.texts`), and the
full articles only for those some chat actually gets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from bot.selection import KEYWORDS, SOURCE, TOPIC, MatchUnions, keyword_matches, source_parts
from bot.services import Services
from bot.store import StoredArticle, Subscription

_TEXT_PAGE = 500


class Candidates:
    def __init__(self, services: Services, now: datetime) -> None:
        self._services = services
        self.since = now - timedelta(days=services.settings.bot.lookback_days)
        self._window: list[str] | None = None
        self.rank: dict[str, int] = {}
        self._matches: dict[Subscription, list[str]] = {}
        # Each distinct set of subscriptions' matches, united once per round ("N more").
        self.unions = MatchUnions(self._matches)
        self._articles: dict[str, StoredArticle] = {}
        self._texts_loaded = False

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
            await self._load_texts(window)
            matched = await asyncio.to_thread(
                keyword_matches, queries, window, self._services.texts
            )
            for query, ids in matched.items():
                self._matches[Subscription(KEYWORDS, query)] = ids
        own = [sub for sub in new if sub.kind == SOURCE]
        if own:
            await self._match_sources(own, window)
        return {sub: self._matches.get(sub, []) for sub in wanted}

    async def _match_sources(
        self, subscriptions: Sequence[Subscription], window: list[str]
    ) -> None:
        """A chat's own source: every article of it, or those matching its keywords."""
        parts = {sub: source_parts(sub.value) for sub in subscriptions}
        by_source = await self._services.store.source_article_ids(
            list({url for url, _ in parts.values()}), self.since
        )
        if any(keywords for _, keywords in parts.values()):
            # Own sources' articles are outside the window of topics and keywords.
            await self._load_texts_of([i for ids in by_source.values() for i in ids])
        for sub, (url, keywords) in parts.items():
            ids = by_source.get(url, [])
            if keywords:
                found = await asyncio.to_thread(
                    keyword_matches, [keywords], ids, self._services.texts
                )
                ids = found[keywords]
            self._matches[sub] = ids

    async def _load_texts(self, window: Sequence[str]) -> None:
        if self._texts_loaded:
            return
        await self._load_texts_of(window)
        self._texts_loaded = True

    async def _load_texts_of(self, ids: Sequence[str]) -> None:
        texts = self._services.texts
        missing = texts.missing(ids)
        for start in range(0, len(missing), _TEXT_PAGE):
            rows = await self._services.store.article_texts(missing[start : start + _TEXT_PAGE])
            await asyncio.to_thread(texts.add_all, rows)

    async def articles(self, ids: Iterable[str]) -> dict[str, StoredArticle]:
        """The stored articles among `ids` (loaded once per round), by id."""
        wanted = list(dict.fromkeys(ids))
        missing = [article_id for article_id in wanted if article_id not in self._articles]
        if missing:
            for stored in await self._services.store.get_articles(missing):
                self._articles[stored.article.id] = stored
        return {key: self._articles[key] for key in wanted if key in self._articles}

    def forget_other_texts(self) -> None:
        """Drop cached texts of articles that left the window (a round calls this)."""
        if self._window is not None:
            self._services.texts.forget_except(set(self._window))
