"""Polling user sources: each URL once per interval, politely, however many chats follow it.

- One row per URL (`user_sources`), so 5,000 chats following one feed cost one request.
- Conditional GET (ETag / Last-Modified), and the server's own wish to be left alone longer
  (RSS ``<ttl>``, ``Cache-Control: max-age``) is honoured, never less than the configured
  minimum interval.
- All user-source requests share one pace (``requests_per_second``) and a few at a time
  (``concurrency``); each source has its own deadline, so a slow one delays only itself.
- A failing source backs off (the longer it has failed, the longer the wait, at most 6 hours);
  after ``pause_after_days`` it is paused and its followers are told once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from bot.i18n import Translator
from bot.reasons import INTERNAL_ERROR, TOOK_TOO_LONG, plain_reason
from bot.store.user_sources import AsyncUserSourceStore, UserSource
from bot.usersources.resolve import (
    FEED,
    Snapshot,
    SourceUnavailable,
    feed_snapshot,
    page_snapshot,
)
from bot.usersources.settings import UserSourceSettings
from summaries.models import Article
from summaries.sources.base import FeedValidators
from summaries.sources.fetch import Page, get_page

logger = logging.getLogger(__name__)

LONGEST_BACKOFF = timedelta(hours=6)
SOURCE_DEADLINE_SECONDS = 90.0
DUE_BATCH = 200

#: Stores new articles (summarising them); returns how many were new.
StoreArticles = Callable[[Sequence[Article], datetime], Awaitable[int]]
#: Tells these chats something, once.
#: Tells the chats following a source that it was paused (see `pause_notice`).
Notify = Callable[[Sequence[int], UserSource], Awaitable[None]]


@dataclass
class RequestPacer:
    """Spaces requests evenly at ``rate`` per second; time and sleep are injectable."""

    rate: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _next: float = field(default=-math.inf, init=False)

    async def wait(self) -> None:
        now = self.clock()
        at = max(now, self._next)
        self._next = at + 1.0 / self.rate
        if at > now:
            await self.sleep(at - now)


@dataclass
class PacedClient:
    """The guarded HTTP client with the shared pace in front of every request."""

    client: httpx.AsyncClient
    pacer: RequestPacer

    async def get(self, url: str, validators: FeedValidators | None = None) -> Page | str:
        await self.pacer.wait()
        return await get_page(self.client, url, validators)


@dataclass(frozen=True)
class PollReport:
    polled: int
    not_modified: int
    failed: int
    added: int
    paused: int


def next_fetch_after_success(
    now: datetime, settings: UserSourceSettings, refresh_after: float | None
) -> datetime:
    wait = max(settings.min_interval_minutes * 60.0, refresh_after or 0.0)
    return now + timedelta(seconds=min(wait, LONGEST_BACKOFF.total_seconds()))


def next_fetch_after_failure(
    now: datetime, settings: UserSourceSettings, failing_since: datetime | None
) -> datetime:
    """Back off as long as the source has been failing, between the interval and 6 hours."""
    failing_for = now - failing_since if failing_since else timedelta(0)
    floor = timedelta(minutes=settings.min_interval_minutes)
    return now + min(max(failing_for, floor), LONGEST_BACKOFF)


async def fetch_snapshot(
    source: UserSource, http: PacedClient, settings: UserSourceSettings
) -> Snapshot | None:
    """The source's new content, or None when the server says it has not changed."""
    validators = FeedValidators(source.etag, source.last_modified)
    page = await http.get(source.url, validators if source.kind == FEED else None)
    if isinstance(page, str):
        raise SourceUnavailable(page)
    if page.not_modified:
        return None
    if source.kind == FEED:
        return feed_snapshot(page, source.url)
    return await page_snapshot(
        http.get,
        page,
        known=source.seen_links,
        new_links=settings.new_links_per_poll,
        source=source.url,
    )


class UserSourcePoller:
    """Polls the due user sources; one instance per bot process, called by a repeating job."""

    def __init__(
        self,
        store: AsyncUserSourceStore,
        client: httpx.AsyncClient,
        settings: UserSourceSettings,
        store_articles: StoreArticles,
        notify: Notify,
        *,
        pacer: RequestPacer | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._http = PacedClient(client, pacer or RequestPacer(settings.requests_per_second))
        self._store_articles = store_articles
        self._notify = notify

    async def poll_due(self, now: datetime) -> PollReport:
        due: list[UserSource] = await self._store.due_sources(now, DUE_BATCH)
        gate = asyncio.Semaphore(self._settings.concurrency)

        async def one(source: UserSource) -> str:
            async with gate:
                return await self.poll_one(source, now)

        results = await asyncio.gather(*(one(source) for source in due), return_exceptions=True)
        outcomes = [
            await self._unexpected(source, result, now)
            if isinstance(result, BaseException)
            else result
            for source, result in zip(due, results, strict=True)
        ]
        report = PollReport(
            polled=len(due),
            not_modified=outcomes.count("unchanged"),
            failed=outcomes.count("failed") + outcomes.count("paused"),
            added=sum(int(o) for o in outcomes if o.isdigit()),
            paused=outcomes.count("paused"),
        )
        if due:
            logger.info("user sources: %s", report)
        return report

    async def poll_one(self, source: UserSource, now: datetime) -> str:
        """Fetch one source and record the outcome: "unchanged", "failed", "paused" or a count."""
        try:
            async with asyncio.timeout(SOURCE_DEADLINE_SECONDS):
                snapshot = await fetch_snapshot(source, self._http, self._settings)
        except (SourceUnavailable, TimeoutError) as error:
            reason = str(error) or TOOK_TOO_LONG.format(url=source.url)
            return await self._failed(source, reason, now)
        if snapshot is None:
            await self._store.record_success(
                source.id,
                at=now,
                next_fetch_at=next_fetch_after_success(now, self._settings, None),
                title=None,
                etag=None,
                last_modified=None,
            )
            logger.info("user source %s: unchanged", source.url)
            return "unchanged"
        added = await self._store_articles(snapshot.articles, now)
        validators = snapshot.validators
        await self._store.record_success(
            source.id,
            at=now,
            next_fetch_at=next_fetch_after_success(now, self._settings, snapshot.refresh_after),
            title=snapshot.title,
            etag=validators.etag,
            last_modified=validators.last_modified,
            seen_links=snapshot.links,
        )
        return str(added)

    async def _unexpected(self, source: UserSource, error: BaseException, now: datetime) -> str:
        """A bug or a surprise on one source: it backs off like any failure; others go on."""
        logger.error("user source %s: unexpected failure", source.url, exc_info=error)
        return await self._failed(source, INTERNAL_ERROR, now)

    async def _failed(self, source: UserSource, reason: str, now: datetime) -> str:
        logger.warning("user source %s failed: %s", source.url, reason)
        updated: UserSource | None = await self._store.record_failure(
            source.id,
            at=now,
            error=reason,
            next_fetch_at=next_fetch_after_failure(now, self._settings, source.failing_since),
        )
        if updated is None or updated.failing_since is None:
            return "failed"
        if now - updated.failing_since < timedelta(days=self._settings.pause_after_days):
            return "failed"
        if await self._store.pause(source.id):
            followers: list[int] = await self._store.follower_ids(source.id)
            await self._notify(followers, updated)
        return "paused"


def pause_notice(source: UserSource, settings: UserSourceSettings, t: Translator) -> str:
    """What followers are told, once, when their source is paused (plain text)."""
    return t.ngettext(
        "Paused: {title} ({url}) has failed for {days} day; last error: {error}. "
        "Send /add {url} to try again, or /sources to remove it.",
        "Paused: {title} ({url}) has failed for {days} days; last error: {error}. "
        "Send /add {url} to try again, or /sources to remove it.",
        settings.pause_after_days,
    ).format(
        title=source.title,
        url=source.url,
        days=settings.pause_after_days,
        error=plain_reason(t, source.last_error or "?"),
    )
