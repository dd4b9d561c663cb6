"""From a URL a user sent to something to follow: a feed, or a page whose links are articles.

Every request goes through the client it is given, which for user URLs is the guarded one.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import feedparser
import httpx

from bot.reasons import NO_FEED_NO_LINKS, NOT_A_READABLE_FEED, TOOK_TOO_LONG
from summaries.models import Article
from summaries.sources.base import FeedError, FeedValidators, SourceError
from summaries.sources.discovery import announced_feeds, article_links, common_feed_urls
from summaries.sources.document import detect_kind, parse_document
from summaries.sources.fetch import Page, get_page
from summaries.sources.guard import UnsafeUrlError, UrlPolicy, check_url

FEED = "feed"
PAGE = "page"
MAX_ANNOUNCED_TRIED = 3
MAX_TITLE_CHARS = 120
# How long one /add may take, whatever the site does (several requests at most).
RESOLVE_DEADLINE_SECONDS = 30.0
_RSS_TTL = re.compile(rb"<ttl>\s*(\d{1,6})\s*</ttl>", re.IGNORECASE)


class SourceUnavailable(Exception):
    """The URL cannot be followed, with the reason in words fit for the user."""


@dataclass(frozen=True)
class Snapshot:
    """One fetch of a source: its title, articles, and (for pages) the article links seen."""

    url: str
    kind: str
    title: str
    articles: tuple[Article, ...]
    links: tuple[str, ...] = ()
    refresh_after: float | None = None  # seconds the server asks us to wait (TTL, max-age)
    validators: FeedValidators = FeedValidators()


#: Fetches one URL: the page, or why there is none.
Fetch = Callable[[str], Awaitable[Page | str]]


async def resolve(
    url: str, client: httpx.AsyncClient, *, new_links: int, policy: UrlPolicy | None = None
) -> Snapshot:
    """What following ``url`` means: its feed (announced or at a common path), else the page.

    ``policy`` only words the refusal early; the client's guard enforces it on connection.
    """
    try:
        checked = check_url(url, policy)
    except UnsafeUrlError as error:
        raise SourceUnavailable(str(error)) from None
    try:
        async with asyncio.timeout(RESOLVE_DEADLINE_SECONDS):
            return await _resolve(checked, client, new_links)
    except TimeoutError:
        raise SourceUnavailable(TOOK_TOO_LONG.format(url=url)) from None


async def _resolve(url: str, client: httpx.AsyncClient, new_links: int) -> Snapshot:
    page = await _page(client, url)
    if _is_feed(page):
        return feed_snapshot(page)
    for candidate in await _feed_candidates(page):
        found = await get_page(client, candidate)
        if isinstance(found, Page) and _is_feed(found):
            return feed_snapshot(found)
    return await page_snapshot(
        lambda link: get_page(client, link), page, known=(), new_links=new_links
    )


async def _feed_candidates(page: Page) -> list[str]:
    announced = announced_feeds(page.body, page.url)[:MAX_ANNOUNCED_TRIED]
    return announced or common_feed_urls(page.url)


async def _page(client: httpx.AsyncClient, url: str) -> Page:
    page = await get_page(client, url)
    if isinstance(page, str):
        raise SourceUnavailable(page)
    return page


def _is_feed(page: Page) -> bool:
    return detect_kind(page.body, content_type=page.content_type) == FEED


def feed_snapshot(page: Page, source: str | None = None) -> Snapshot:
    """Articles and title of a fetched feed; ``source`` (default: the page's URL) is the key
    its articles are filed under, the URL the source was followed by."""
    key = source or page.url
    try:
        parsed = parse_document(
            page.body, key, kind=FEED, content_type=page.content_type, url=page.url
        )
    except (FeedError, SourceError) as error:
        raise SourceUnavailable(NOT_A_READABLE_FEED.format(url=page.url, error=error)) from None
    feed = feedparser.parse(page.body)
    if feed.get("bozo") and not parsed.articles:
        # Broken XML with nothing readable in it: not a feed, whatever its first bytes say.
        detail = " ".join(str(feed.get("bozo_exception") or "malformed XML").split())[:200]
        raise SourceUnavailable(NOT_A_READABLE_FEED.format(url=page.url, error=detail))
    title = _feed_title(feed) or page.url
    return Snapshot(key, FEED, title, parsed.articles, (), _refresh_after(page), page.validators)


async def page_snapshot(
    fetch: Fetch,
    page: Page,
    *,
    known: tuple[str, ...],
    new_links: int,
    source: str | None = None,
) -> Snapshot:
    """A page followed by its links: the new ones (not in ``known``) fetched as articles."""
    key = source or page.url
    links = [link.url for link in article_links(page.body, page.url)]
    if not links:
        raise SourceUnavailable(NO_FEED_NO_LINKS.format(url=page.url))
    fresh = [link for link in links if link not in known][:new_links]
    articles: list[Article] = []
    for link in fresh:
        found = await fetch(link)
        if isinstance(found, str):
            continue  # one broken article link never costs the others
        parsed = parse_document(
            found.body, key, kind="html", content_type=found.content_type, url=found.url
        )
        articles.extend(parsed.articles[:1])
    title = _html_title(page.body) or page.url
    return Snapshot(
        key, PAGE, title, tuple(articles), tuple(links), _refresh_after(page), page.validators
    )


def _feed_title(parsed: feedparser.FeedParserDict) -> str | None:
    title = " ".join(str(parsed.feed.get("title", "")).split())
    return title[:MAX_TITLE_CHARS] or None


def _html_title(body: bytes) -> str | None:
    match = re.search(rb"<title[^>]*>(.*?)</title>", body[:65536], re.IGNORECASE | re.DOTALL)
    if not match:
        return None
    title = " ".join(html.unescape(match.group(1).decode("utf-8", "replace")).split())
    return title[:MAX_TITLE_CHARS] or None


def _refresh_after(page: Page) -> float | None:
    """The longer of the feed's <ttl> (minutes) and the answer's Cache-Control max-age."""
    ttl = _RSS_TTL.search(page.body[:65536])
    waits = [float(ttl.group(1)) * 60] if ttl else []
    if page.cache_max_age is not None:
        waits.append(page.cache_max_age)
    return max(waits) if waits else None
