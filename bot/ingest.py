"""Fetching sources into the store: new articles are summarised once, in a worker thread.

Parsing and summarising run on ingestion's own threads (`Services.ingest`), never on the
default executor the commands use; new articles are summarised and stored `CHUNK` at a time,
so a feed of thousands of items keeps few digests alive and its deadline stops it between
chunks.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.services import Services
from bot.store import AsyncStore, SourceState, StoreUnavailable
from summaries.digest import summarise_new
from summaries.models import Article, make_article_id
from summaries.sources import FeedValidators, FetchResult, SourceSpec, fetch_source
from summaries.sources.base import short_title
from summaries.threads import blocking_work_on

logger = logging.getLogger(__name__)

FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
# One source's whole poll (feed, full-text pages, summarising) may take this long; past it the
# poll is stopped and counted as a failure, so a source that never answers backs off.
SOURCE_DEADLINE_SECONDS = 180.0
# New articles summarised and stored at a time; a source with more waits for one of the
# `sources_at_once` slots of the ingestion pool first.
CHUNK = 200


WORKER_DIED = "an ingestion worker process died while summarising (out of memory?); will retry"


@dataclass(frozen=True)
class IngestReport:
    source: str
    fetched: int
    added: int
    error: str | None = None
    not_modified: bool = False


def retry_delay(failures: int, interval: timedelta) -> timedelta:
    """Exponential backoff after consecutive failures, never longer than 6 hours."""
    delay = FIRST_RETRY * 2 ** max(failures - 1, 0)
    return min(delay, max(interval, LONGEST_RETRY))


def is_due(state: SourceState | None, now: datetime) -> bool:
    return state is None or state.next_attempt_at is None or state.next_attempt_at <= now


async def ingest_source(services: Services, spec: SourceSpec, now: datetime) -> IngestReport:
    """Fetch one source, store what is new, and record how the fetch went."""
    store = services.store
    state = await store.get_source_state(spec.name)
    validators = FeedValidators(state.etag, state.last_modified) if state else None
    with blocking_work_on(services.ingest.executor):  # parsing: on ingestion's workers
        result = await fetch_source(spec, services.http, validators)
    if result.error:
        return await _record_failure(services, spec, state, result.error, now)
    for problem in result.problems:
        logger.warning("%s", problem)
    added, refused = 0, None
    if not result.not_modified:
        try:
            added, refused = await _store_new(services, result, now)
        except BrokenProcessPool:
            # A worker killed mid-chunk (out of memory?): the chunks stored so far stay, the
            # rest come again with the next poll, after a backoff (a poisonous feed slows down).
            return await _record_failure(services, spec, state, WORKER_DIED, now)
    await store.record_fetch(
        spec.name,
        at=now,
        ok=True,
        error=refused,  # shown in /stats; the source itself is fine
        etag=result.validators.etag,
        last_modified=result.validators.last_modified,
        next_attempt_at=now + timedelta(minutes=spec.interval_minutes),
    )
    if result.not_modified:
        logger.info("source %s: unchanged", spec.name)
    else:
        logger.info("source %s: %d articles, %d new", spec.name, len(result.articles), added)
    return IngestReport(spec.name, len(result.articles), added, None, result.not_modified)


async def stored_under_link_id(store: AsyncStore, articles: Sequence[Article]) -> set[str]:
    """Ids of `articles` already stored under the id their link alone gave them.

    Feed items used to be identified by their link; one now identified by its guid was stored
    before under its link's id when that stored article has the same title. Without this, an
    upgrade would store (and deliver) every such item a second time.
    """
    by_link = {a.id: make_article_id(a.url, a.title, a.paragraphs) for a in articles if a.url}
    by_link = {article_id: old for article_id, old in by_link.items() if old != article_id}
    if not by_link:
        return set()
    titles = {
        s.article.id: s.article.title for s in await store.get_articles(list(by_link.values()))
    }
    return {a.id for a in articles if a.id in by_link and titles.get(by_link[a.id]) == a.title}


async def _store_new(
    services: Services, result: FetchResult, now: datetime
) -> tuple[int, str | None]:
    """Store the new articles; return how many went in, and what was refused, if anything."""
    known = await services.store.known_article_ids([a.id for a in result.articles])
    fresh = list({a.id: a for a in result.articles if a.id not in known}.values())
    known = await stored_under_link_id(services.store, fresh)
    fresh = [article for article in fresh if article.id not in known]
    if not fresh:
        return 0, None
    if len(fresh) <= CHUNK:
        return await _store_chunks(services, fresh, now)
    async with services.ingest.slot():
        return await _store_chunks(services, fresh, now)


async def _store_chunks(
    services: Services, fresh: Sequence[Article], now: datetime
) -> tuple[int, str | None]:
    """Summarise and store `fresh`, `CHUNK` articles at a time, each chunk stored (and its
    digests dropped) before the next is summarised."""
    added, refused = 0, []
    for start in range(0, len(fresh), CHUNK):
        summarised, problems = await services.ingest.run(
            summarise_new,
            fresh[start : start + CHUNK],
            services.settings.app.summariser,
            services.matcher,
        )
        for problem in problems:
            logger.warning("%s", problem)
        # The store indexes them for search in the same transaction.
        inserted = await services.store.add_articles(summarised, now)
        added += len(inserted)
        if len(inserted) < len(summarised):
            stored = await services.store.known_article_ids([a.id for a, _ in summarised])
            # Not stored by us nor by another writer that stored them first: refused.
            refused += [article for article, _ in summarised if article.id not in stored]
        del summarised
    if not refused:
        return added, None
    titles = ", ".join(repr(short_title(article.title)) for article in refused[:3])
    return added, f"{len(refused)} new items refused by the database ({titles})"


async def _record_failure(
    services: Services, spec: SourceSpec, state: SourceState | None, error: str, now: datetime
) -> IngestReport:
    failures = (state.consecutive_failures if state else 0) + 1
    delay = retry_delay(failures, timedelta(minutes=spec.interval_minutes))
    logger.warning(
        "source %s failed (%d in a row, next try in %s): %s", spec.name, failures, delay, error
    )
    await services.store.record_fetch(
        spec.name,
        at=now,
        ok=False,
        error=error,
        etag=state.etag if state else None,
        last_modified=state.last_modified if state else None,
        next_attempt_at=now + delay,
    )
    return IngestReport(spec.name, 0, 0, error)


async def ingest_within(
    services: Services, spec: SourceSpec, now: datetime, deadline: float
) -> IngestReport:
    """`ingest_source` stopped after `deadline` seconds, the overrun recorded as a failure."""
    try:
        async with asyncio.timeout(deadline):
            return await ingest_source(services, spec, now)
    except TimeoutError:
        state = await services.store.get_source_state(spec.name)
        error = f"no result within {deadline:g} s (a slow server?); stopped"
        return await _record_failure(services, spec, state, error, now)


async def poll_due_sources(
    services: Services,
    now: datetime,
    *,
    deadline: float = SOURCE_DEADLINE_SECONDS,
    on_added: Callable[[], Awaitable[object]] | None = None,
) -> list[asyncio.Task[IngestReport]]:
    """Start a poll of every due source not being polled already, each in a task of its own,
    and return at once: a slow source delays only itself, never the next poll of the others.

    `on_added` runs after a poll that stored new articles.
    """
    states = {state.name: state for state in await services.store.source_states()}
    started = []
    for spec in services.settings.app.sources:
        if spec.name in services.polling or not is_due(states.get(spec.name), now):
            continue
        task = asyncio.create_task(
            _poll_one(services, spec, now, deadline, on_added), name=f"poll {spec.name}"
        )
        services.polling[spec.name] = task
        task.add_done_callback(functools.partial(_forget_poll, services.polling, spec.name))
        started.append(task)
    return started


def _forget_poll(
    polling: dict[str, asyncio.Task[object]], name: str, _: asyncio.Task[object]
) -> None:
    polling.pop(name, None)


async def _poll_one(
    services: Services,
    spec: SourceSpec,
    now: datetime,
    deadline: float,
    on_added: Callable[[], Awaitable[object]] | None,
) -> IngestReport:
    try:
        report = await ingest_within(services, spec, now, deadline)
    except StoreUnavailable as error:  # an outage, not a bug: no traceback; polled again later
        logger.warning("source %s: not polled, the database is unavailable: %s", spec.name, error)
        return IngestReport(spec.name, 0, 0, f"the database is unavailable: {error}")
    except Exception as error:  # a poll task must not die with an unlogged exception
        logger.exception("source %s: unexpected failure", spec.name)
        return IngestReport(spec.name, 0, 0, f"internal error: {error!r}")
    if report.added and on_added is not None:
        await on_added()
    return report


async def ingest_due(
    services: Services, now: datetime, *, force: bool = False
) -> list[IngestReport]:
    """Fetch every source whose time has come (all of them when `force`), concurrently.

    One source failing, hanging or serving garbage never stops the others.
    """
    states = {state.name: state for state in await services.store.source_states()}
    due = [
        spec
        for spec in services.settings.app.sources
        if force or is_due(states.get(spec.name), now)
    ]
    results = await asyncio.gather(
        *(ingest_within(services, spec, now, SOURCE_DEADLINE_SECONDS) for spec in due),
        return_exceptions=True,
    )
    reports = []
    for spec, outcome in zip(due, results, strict=True):
        if isinstance(outcome, BaseException):
            logger.error("source %s: unexpected failure", spec.name, exc_info=outcome)
            reports.append(IngestReport(spec.name, 0, 0, f"internal error: {outcome!r}"))
        else:
            reports.append(outcome)
    return reports


async def store_new_articles(
    services: Services, articles: Sequence[Article], now: datetime
) -> int:
    """Summarise and store the articles not stored yet (user sources); how many went in."""
    added, refused = await _store_new(services, FetchResult("user sources", tuple(articles)), now)
    if refused:
        logger.warning("user sources: %s", refused)
    return added
