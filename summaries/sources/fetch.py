"""Fetching a source: local paths from disk, URLs over HTTP with conditional GET.

The network is always behind the `client` parameter, so tests hand in a client pointed at a
loopback server and production builds one with `make_client()`. Nothing here raises for a bad
source: failures come back as `FetchResult.error` (whole source) or `problems` (one entry).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from summaries.sources import reasons
from summaries.sources.base import (
    DEFAULT_TIMEZONE,
    FeedError,
    FeedValidators,
    FetchResult,
    ParseResult,
    SourceError,
    SourceSpec,
    charset_from_content_type,
    resolve_timezone,
    short_title,
)
from summaries.sources.document import detect_kind, parse_document
from summaries.sources.feeds import (
    FeedEntry,
    entries_to_articles,
    entry_id,
    read_feed_entries,
    with_paragraphs,
)
from summaries.sources.guard import BlockedAddressError
from summaries.sources.html import parse_html
from summaries.sources.local import limit_articles, read_local
from summaries.threads import run_blocking

logger = logging.getLogger(__name__)
PARSER_DIED = "the worker process parsing it died (out of memory?); will retry"

USER_AGENT = "digest-bot/0.1 (+https://github.com/digest-bot/digest-bot)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, text/plain;q=0.5, */*;q=0.1"
)
DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=10.0)
# A whole fetch (headers and body) gets this long, so a server that drips bytes cannot hold a
# poll forever even though each read stays inside the client's read timeout.
FETCH_DEADLINE_SECONDS = 60.0
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
FULL_TEXT_CONCURRENCY = 4


class ResponseTooLargeError(SourceError):
    pass


@dataclass(frozen=True)
class _Response:
    url: str
    status: int
    reason: str
    headers: httpx.Headers
    body: bytes


def make_client(
    *,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The production HTTP client: timeouts, User-Agent, redirects followed. Close it (or use
    it as an async context manager) when done."""
    return httpx.AsyncClient(
        timeout=timeout,
        headers={"User-Agent": USER_AGENT, "Accept": ACCEPT},
        follow_redirects=True,
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        transport=transport,
    )


def is_url(location: str) -> bool:
    return urlsplit(location).scheme.lower() in ("http", "https")


def conditional_headers(validators: FeedValidators | None) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
    if validators and validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators and validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def validators_from(headers: httpx.Headers, previous: FeedValidators | None) -> FeedValidators:
    """The validators to send next time: the response's, else the ones we already had."""
    previous = previous or FeedValidators()
    return FeedValidators(
        etag=headers.get("etag") or previous.etag,
        last_modified=headers.get("last-modified") or previous.last_modified,
    )


async def _get(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], deadline: float
) -> _Response:
    """GET with a size cap and an overall deadline; the body is read only for 2xx answers."""
    async with (
        asyncio.timeout(deadline),
        client.stream("GET", url, headers=headers, follow_redirects=True) as response,
    ):
        body = b""
        if response.is_success:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise ResponseTooLargeError(
                        reasons.TOO_LARGE.format(url=url, limit=MAX_RESPONSE_BYTES)
                    )
                chunks.append(chunk)
            body = b"".join(chunks)
        return _Response(
            str(response.url), response.status_code, response.reason_phrase, response.headers, body
        )


async def _get_or_reason(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], deadline: float
) -> _Response | str:
    """The response, or why there is none, in words fit for a log line or /stats."""
    try:
        return await _get(client, url, headers, deadline)
    except (TimeoutError, httpx.TimeoutException):
        return reasons.TIMED_OUT.format(url=url)
    except ResponseTooLargeError as error:
        return str(error)
    except httpx.InvalidURL as error:
        return reasons.INVALID_URL.format(url=url, detail=error)
    except BlockedAddressError as error:
        return str(error)
    except httpx.HTTPError as error:
        detail = f"{error.__class__.__name__}: {error or 'no detail'}"
        return reasons.CANNOT_FETCH.format(url=url, detail=detail)


def _status_error(response: _Response) -> str | None:
    if response.status == 304 or 200 <= response.status < 300:
        return None
    return reasons.HTTP_STATUS.format(
        status=response.status, reason=response.reason, url=response.url
    ).rstrip()


async def fetch_source(
    spec: SourceSpec,
    client: httpx.AsyncClient,
    validators: FeedValidators | None = None,
    *,
    known_ids: Collection[str] = (),
    deadline: float = FETCH_DEADLINE_SECONDS,
) -> FetchResult:
    """Fetch one source. Never raises for a bad source: see `FetchResult.error`.

    `validators` from the previous fetch make the GET conditional (304 -> not_modified).
    With `fetch_full_text`, feed entries whose id is in `known_ids` (already stored) are left
    out instead of having their pages fetched again.
    """
    if not is_url(spec.location):
        return await run_blocking(read_local, spec)
    try:
        resolve_timezone(spec.timezone, DEFAULT_TIMEZONE)
    except SourceError as error:
        return FetchResult(spec.name, error=str(error))
    outcome = await _get_or_reason(
        client, spec.location, conditional_headers(validators), deadline
    )
    if isinstance(outcome, str):
        return FetchResult(spec.name, validators=validators or FeedValidators(), error=outcome)
    if status_error := _status_error(outcome):
        return FetchResult(
            spec.name, validators=validators or FeedValidators(), error=status_error
        )
    new_validators = validators_from(outcome.headers, validators)
    if outcome.status == 304:
        logger.debug("%s: not modified", spec.name)
        return FetchResult(spec.name, validators=new_validators, not_modified=True)
    try:
        result = await _parse_response(spec, client, outcome, known_ids, deadline)
    except (FeedError, SourceError) as error:
        return FetchResult(spec.name, validators=new_validators, error=f"{spec.location}: {error}")
    except BrokenProcessPool:  # the bot parses in worker processes (summaries.threads)
        return FetchResult(spec.name, validators=new_validators, error=PARSER_DIED)
    except Exception:
        logger.exception("%s: parsing %s failed", spec.name, spec.location)
        return FetchResult(
            spec.name,
            validators=new_validators,
            error=f"{spec.location}: could not be parsed (internal error)",
        )
    logger.debug("%s: %d articles", spec.name, len(result.articles))
    return limit_articles(spec, result, new_validators)


async def _parse_response(
    spec: SourceSpec,
    client: httpx.AsyncClient,
    response: _Response,
    known_ids: Collection[str],
    deadline: float,
) -> ParseResult:
    content_type = response.headers.get("content-type")
    kind = spec.kind
    if kind == "auto":
        kind = detect_kind(
            response.body, filename=urlsplit(response.url).path, content_type=content_type
        )
    if kind != "feed":
        return await run_blocking(
            parse_document,
            response.body,
            spec.location,
            kind=spec.kind,  # "auto" still checks a detected text for the seed format
            filename=urlsplit(response.url).path,
            content_type=content_type,
            url=response.url,
            tz=spec.timezone,
        )
    entries, problems = await run_blocking(
        read_feed_entries,
        response.body,
        spec.location,
        tz=spec.timezone,
        content_type=content_type,
        base_url=response.url,
    )  # raises FeedError when the response is not a feed: the whole source failed
    if spec.fetch_full_text:
        entries = [entry for entry in entries if _entry_id(entry) not in known_ids]
        if len(entries) > spec.max_articles:  # cut before fetching pages nobody will keep
            problems.append(
                f"{spec.location}: kept the first {spec.max_articles} of {len(entries)} "
                "entries (max_articles)"
            )
            entries = entries[: spec.max_articles]
        entries, page_problems = await fetch_full_texts(entries, spec, client, deadline)
        problems += page_problems
    return entries_to_articles(entries, spec.location, problems)


def _entry_id(entry: FeedEntry) -> str | None:
    # Without a guid or link the id comes from the text, which the full page would replace.
    return entry_id(entry) if entry.url or entry.guid else None


async def fetch_full_texts(
    entries: list[FeedEntry],
    spec: SourceSpec,
    client: httpx.AsyncClient,
    deadline: float = FETCH_DEADLINE_SECONDS,
) -> tuple[list[FeedEntry], list[str]]:
    """Each entry's page text in place of its teaser, a few pages at a time; an entry whose
    page fails keeps its teaser, with a warning."""
    gate = asyncio.Semaphore(FULL_TEXT_CONCURRENCY)

    async def one(entry: FeedEntry) -> tuple[FeedEntry, str | None]:
        async with gate:
            return await _full_text(entry, spec, client, deadline)

    outcomes = await asyncio.gather(*(one(entry) for entry in entries))
    problems = [problem for _, problem in outcomes if problem]
    return [entry for entry, _ in outcomes], problems


async def _full_text(
    entry: FeedEntry, spec: SourceSpec, client: httpx.AsyncClient, deadline: float
) -> tuple[FeedEntry, str | None]:
    what = f"{spec.location}: entry {entry.position} '{short_title(entry.title)}'"
    fallback = "kept the feed's text" if entry.paragraphs else "skipped"
    if not entry.url or not is_url(entry.url):
        return entry, f"{what} has no web link for its full text; {fallback}"
    outcome = await _get_or_reason(client, entry.url, conditional_headers(None), deadline)
    if isinstance(outcome, str):
        return entry, f"{what}: full text unavailable ({outcome}); {fallback}"
    if status_error := _status_error(outcome):
        return entry, f"{what}: full text unavailable ({status_error}); {fallback}"
    charset = charset_from_content_type(outcome.headers.get("content-type"))
    page = await run_blocking(
        parse_html, outcome.body, entry.url, url=outcome.url, tz=spec.timezone, charset=charset
    )
    if not page.articles:
        reason = "; ".join(page.problems) or "no text on the page"
        return entry, f"{what}: full text unavailable ({reason}); {fallback}"
    paragraphs = page.articles[0].paragraphs
    if sum(map(len, paragraphs)) <= sum(map(len, entry.paragraphs)):
        return entry, None  # the feed already carried at least as much as the page shows
    return with_paragraphs(entry, paragraphs), None


@dataclass(frozen=True)
class Page:
    """A fetched URL: where it ended up (after redirects), its headers and its body.

    ``not_modified``: the server answered 304 to the validators given (the body is empty).
    """

    url: str
    content_type: str | None
    cache_max_age: float | None
    body: bytes
    validators: FeedValidators = FeedValidators()
    not_modified: bool = False


async def get_page(
    client: httpx.AsyncClient,
    url: str,
    validators: FeedValidators | None = None,
    deadline: float = FETCH_DEADLINE_SECONDS,
) -> Page | str:
    """GET one URL with the size cap and deadline; the page, or why there is none, in words."""
    outcome = await _get_or_reason(client, url, conditional_headers(validators), deadline)
    if isinstance(outcome, str):
        return outcome
    if status_error := _status_error(outcome):
        return status_error
    return Page(
        outcome.url,
        outcome.headers.get("content-type"),
        cache_max_age(outcome.headers.get("cache-control")),
        outcome.body,
        validators_from(outcome.headers, validators),
        outcome.status == 304,
    )


def cache_max_age(cache_control: str | None) -> float | None:
    """Seconds from ``Cache-Control: max-age=N`` (``s-maxage`` too), if given."""
    if not cache_control:
        return None
    for directive in cache_control.split(","):
        name, _, value = directive.strip().partition("=")
        if name.lower() in ("max-age", "s-maxage") and value.strip().isdigit():
            return float(value.strip())
    return None
