"""One document (bytes from a file or a response) to articles: detect, decode, parse."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from summaries.sources.base import (
    ParseResult,
    charset_from_content_type,
    decode_bytes,
)
from summaries.sources.feeds import looks_like_feed, parse_feed
from summaries.sources.html import parse_html
from summaries.sources.text import parse_text

EXTENSION_KINDS = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".xml": "feed",
    ".rss": "feed",
    ".atom": "feed",
    ".rdf": "feed",
}
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S
)
_HTML_TAGS = re.compile(rb"<(?:head|body|p|div|article)\b", re.I)
_SNIFF_BYTES = 2048


def detect_kind(
    data: bytes, *, filename: str | None = None, content_type: str | None = None
) -> str:
    """The parser for a document: feed, html, markdown or text.

    The content decides between feed and HTML when it is clear (servers often label feeds
    text/html or text/plain); otherwise the media type, then the file extension.
    """
    head = data[:_SNIFF_BYTES]
    if looks_like_feed(head):
        return "feed"
    if _HTML_START.match(head):
        return "html"
    media_type = (content_type or "").split(";")[0].strip().lower()
    if "html" in media_type:
        return "html"
    if "markdown" in media_type:
        return "markdown"
    if media_type.startswith("text/plain"):
        return "text"
    if filename:
        kind = EXTENSION_KINDS.get(PurePosixPath(filename).suffix.lower())
        if kind:
            return kind
    if "xml" in media_type or "rss" in media_type or "atom" in media_type:
        return "feed"
    return "html" if _HTML_TAGS.search(head) else "text"


def parse_document(
    data: bytes,
    source: str,
    *,
    kind: str = "auto",
    filename: str | None = None,
    content_type: str | None = None,
    url: str | None = None,
    tz: str | None = None,
) -> ParseResult:
    """Articles of one document.

    `kind` "auto" detects the parser, and a detected text or Markdown file is checked for the
    seed format; "seed" forces the seed format, "text"/"markdown" force one article per file.
    """
    forced = kind != "auto"
    if not forced:
        kind = detect_kind(data, filename=filename, content_type=content_type)
    charset = charset_from_content_type(content_type)
    if kind == "feed":
        return parse_feed(data, source, tz=tz, content_type=content_type, base_url=url)
    if kind == "html":
        return parse_html(data, source, url=url, tz=tz, charset=charset)
    text, problems = decode_bytes(data, source, charset)
    text_format = "seed" if kind == "seed" else "single" if forced else "auto"
    markdown = kind == "markdown" or _has_markdown_extension(filename)
    result = parse_text(text, source, markdown=markdown, text_format=text_format, tz=tz)
    return ParseResult(result.articles, problems + result.problems)


def _has_markdown_extension(filename: str | None) -> bool:
    return PurePosixPath(filename or "").suffix.lower() in (".md", ".markdown")
