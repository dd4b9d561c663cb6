"""Re-ranking stored articles after the summariser's algorithm or ranker version changed.

Digests keep using the stored rankings meanwhile; the job walks the articles table in pages,
summarises each page in a worker thread and writes the new digests back, so the bot keeps
answering and a restart simply resumes where the stale rankings are left.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bot.services import Services
from bot.store import StoreError
from summaries.digest import RANKER_VERSION, TopicMatcher, summarise
from summaries.models import Article, Digest, SummariserSettings

logger = logging.getLogger(__name__)

RERANK_BATCH = 50


def summarise_all(
    articles: Sequence[Article], settings: SummariserSettings, matcher: TopicMatcher
) -> list[Digest]:
    """CPU-bound: callers run it in a worker thread."""
    return [summarise(article, settings, matcher) for article in articles]


async def rerank_stored(
    services: Services, stop: asyncio.Event | None = None, batch: int = RERANK_BATCH
) -> int:
    """Re-summarise every article ranked by another algorithm or ranker version; return how
    many were re-ranked. Returns early (resumable) once `stop` is set."""
    settings = services.settings.app.summariser
    after, done = "", 0
    while stop is None or not stop.is_set():
        page = await services.store.stale_articles(
            settings.algorithm, RANKER_VERSION, after, batch
        )
        if not page:
            break
        after = page[-1].article.id
        digests = await asyncio.to_thread(
            summarise_all, [stored.article for stored in page], settings, services.matcher
        )
        await services.store.update_digests(digests)
        done += len(digests)
    if done:
        logger.info(
            "re-ranked %d stored articles with %s (ranker %s)",
            done,
            settings.algorithm,
            RANKER_VERSION,
        )
    return done


async def rerank_in_background(services: Services) -> None:
    """`rerank_stored` as a background task from start-up: a store outage only postpones it."""
    try:
        await rerank_stored(services, services.stop_delivery)
    except StoreError as error:
        logger.warning("re-ranking stored articles stopped (%s); it resumes at next start", error)
