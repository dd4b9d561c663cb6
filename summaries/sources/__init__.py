"""Ingestion: every source type parsed into `Article`s, and fetching sources from disk or HTTP.

Parsers are pure functions over text or bytes that return a `ParseResult` (articles plus a
warning for everything skipped); `read_local` and `fetch_source` do the I/O and never raise for a
bad source.
"""

from summaries.sources.base import (
    KINDS,
    FeedError,
    FeedValidators,
    FetchResult,
    ParseResult,
    SourceError,
    SourceSpec,
    decode_bytes,
    parse_datetime,
)
from summaries.sources.document import detect_kind, parse_document
from summaries.sources.feeds import looks_like_feed, parse_feed
from summaries.sources.fetch import (
    USER_AGENT,
    fetch_source,
    is_url,
    make_client,
)
from summaries.sources.html import html_to_paragraphs, parse_html
from summaries.sources.local import ARTICLE_EXTENSIONS, read_local
from summaries.sources.seed import looks_like_seed, parse_seed
from summaries.sources.text import parse_markdown, parse_text

__all__ = [
    "ARTICLE_EXTENSIONS",
    "KINDS",
    "USER_AGENT",
    "FeedError",
    "FeedValidators",
    "FetchResult",
    "ParseResult",
    "SourceError",
    "SourceSpec",
    "decode_bytes",
    "detect_kind",
    "fetch_source",
    "html_to_paragraphs",
    "is_url",
    "looks_like_feed",
    "looks_like_seed",
    "make_client",
    "parse_datetime",
    "parse_document",
    "parse_feed",
    "parse_html",
    "parse_markdown",
    "parse_seed",
    "parse_text",
    "read_local",
]
