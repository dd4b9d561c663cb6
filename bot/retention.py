"""The retention job: prune old message texts, deliveries and articles in short batches.

Each batch is its own short transaction on the store's worker thread, so commands and the
sender keep their turn while a large backlog is pruned. See `bot.store.retention` for why
at most once is kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from bot.config import Retention
from bot.store import AsyncStore

logger = logging.getLogger(__name__)

PRUNE_BATCH = 2000
T = TypeVar("T")


@dataclass(frozen=True)
class PruneReport:
    messages: int = 0
    digests: int = 0
    articles: int = 0
    saved_searches: int = 0


async def prune_store(
    store: AsyncStore, retention: Retention, now: datetime, batch: int = PRUNE_BATCH
) -> PruneReport:
    """Delete what `retention` no longer keeps at `now`; return how much went."""
    messages = digests = 0
    up_to = await store.last_digest_before(now - timedelta(days=retention.sent_messages_days))
    if up_to is not None:
        messages = await _repeat(store.prune_messages, up_to, batch)
    up_to = await store.last_digest_before(now - timedelta(days=retention.deliveries_days))
    if up_to is not None:
        digests = await _repeat(store.prune_digests, up_to, batch)
    cutoff = now - timedelta(days=retention.articles_days)
    articles = await _repeat(store.prune_articles, cutoff, batch)
    searches = await store.prune_saved_searches(now)
    report = PruneReport(messages, digests, articles, searches)
    if messages or digests or articles or searches:
        logger.info("retention: %s", report)
    return report


async def _repeat(step: Callable[[T, int], Awaitable[int]], argument: T, batch: int) -> int:
    total = 0
    while True:
        removed = await step(argument, batch)
        total += removed
        if removed < batch:
            return total
        await asyncio.sleep(0)  # others' store calls get their turn between batches
