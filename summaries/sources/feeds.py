"""RSS 0.9x/1.0/2.0 and Atom feeds through feedparser: entries to articles, HTML stripped."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

import feedparser

from summaries.models import Article, make_article_id
from summaries.sources.base import (
    DEFAULT_TIMEZONE,
    FeedError,
    ParseResult,
    charset_from_content_type,
    collapse_whitespace,
    declared_charset,
    decode_bytes,
    no_text_problem,
    parse_datetime,
    replace_bad_character_references,
    resolve_timezone,
    short_title,
)
from summaries.sources.html import html_to_paragraphs

_XML_DECLARATION = re.compile(r"^\s*<\?xml\s[^>]*\?>")
_FEED_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(rss|feed|RDF)[\s>/]")
_SNIFF_BYTES = 2048
_TITLE_FROM_TEXT_CHARS = 100


@dataclass(frozen=True)
class FeedEntry:
    """One entry before it becomes an Article: the body may still be missing (a bare link)."""

    position: int
    title: str
    url: str | None
    published: datetime | None
    tags: tuple[str, ...]
    paragraphs: tuple[str, ...]
    guid: str | None = None  # RSS <guid> / Atom <id>: what identifies the item


def looks_like_feed(data: bytes) -> bool:
    """True when the first bytes open an <rss>, <feed> or <rdf:RDF> document."""
    return _FEED_ROOT.search(data[:_SNIFF_BYTES]) is not None


def read_feed_entries(
    data: bytes,
    source: str,
    *,
    tz: str | None = None,
    content_type: str | None = None,
    base_url: str | None = None,
) -> tuple[list[FeedEntry], list[str]]:
    """Every entry of the feed and the warnings found on the way.

    Raises FeedError when the data is not a feed at all.
    """
    zone = resolve_timezone(tz, DEFAULT_TIMEZONE)
    if not data.strip():
        raise FeedError("empty document, not a feed")
    text, decode_problems = decode_bytes(
        data,
        source,
        _sniffed_utf16(data),
        charset_from_content_type(content_type),
        declared_charset(data),
    )
    # feedparser gets clean UTF-8 and is told so: its own guessing would read a whole feed as
    # MacRoman for one stray byte.
    utf8 = _XML_DECLARATION.sub("", replace_bad_character_references(text), count=1)
    media_type = (content_type or "application/xml").split(";", 1)[0].strip()
    headers = {"content-type": f"{media_type or 'application/xml'}; charset=utf-8"}
    if base_url:
        headers["content-location"] = base_url
    try:
        parsed = feedparser.parse(io.BytesIO(utf8.encode()), response_headers=headers)
    except Exception as error:  # feedparser's own bugs: a problem of this feed, not a crash
        reason = f"{type(error).__name__}: {_one_line(error)}"
        raise FeedError(f"the feed parser failed ({reason})") from error
    problems = [*decode_problems, *_bozo_problems(parsed, source)]
    entries = []
    for position, raw in enumerate(parsed.entries, 1):
        try:
            entries.append(_entry(raw, position, zone))
        except Exception as error:  # one odd entry never costs the others
            problems.append(
                f"{source}: entry {position} could not be read "
                f"({type(error).__name__}: {_one_line(error)}); skipped"
            )
    return entries, problems


def _sniffed_utf16(data: bytes) -> str | None:
    """UTF-16 without a byte order mark, told by how its first "<?" is laid out (XML 1.0 F.1)."""
    if data.startswith(b"<\x00?\x00"):
        return "utf-16-le"
    if data.startswith(b"\x00<\x00?"):
        return "utf-16-be"
    return None


def _bozo_problems(parsed: Any, source: str) -> list[str]:
    """feedparser's `bozo` flag: fatal when nothing feed-like came out, a warning otherwise."""
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no <rss>, <feed> or <rdf:RDF> root element"
        raise FeedError(f"not an RSS or Atom feed ({_one_line(reason)})")
    if not parsed.get("bozo"):
        return []
    # Encoding trouble was settled (and reported) by `decode_bytes` before feedparser ran.
    error = parsed.get("bozo_exception")
    return [f"{source}: malformed feed XML ({_one_line(error)}); parsed leniently"]


def _one_line(value: object) -> str:
    return collapse_whitespace(str(value))[:200]


def _entry(raw: Any, position: int, zone: tzinfo) -> FeedEntry:
    paragraphs = tuple(_best_text(raw))
    title = _plain(raw.get("title", ""), raw.get("title_detail"))
    if not title and paragraphs:
        title = _title_from_text(paragraphs[0])
    link = (raw.get("link") or "").strip() or None
    tags = tuple(
        dict.fromkeys(
            collapse_whitespace(tag.get("term") or tag.get("label") or "")
            for tag in raw.get("tags", [])
            if tag.get("term") or tag.get("label")
        )
    )
    guid = (raw.get("id") or "").strip() or None
    return FeedEntry(position, title, link, _entry_published(raw, zone), tags, paragraphs, guid)


def _plain(value: str, detail: Any) -> str:
    if detail is not None and "html" in (detail.get("type") or ""):
        return collapse_whitespace(" ".join(html_to_paragraphs(value)))
    return collapse_whitespace(value)


def _best_text(raw: Any) -> list[str]:
    """The longest of the entry's content blocks and its summary, as paragraphs."""
    candidates = [block.get("value", "") for block in raw.get("content", [])]
    candidates.append(raw.get("summary", ""))
    best: list[str] = []
    for candidate in candidates:
        paragraphs = html_to_paragraphs(candidate) if candidate else []
        if sum(map(len, paragraphs)) > sum(map(len, best)):
            best = paragraphs
    return best


def _title_from_text(text: str) -> str:
    if len(text) <= _TITLE_FROM_TEXT_CHARS:
        return text
    cut = text[:_TITLE_FROM_TEXT_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "..."


def _entry_published(raw: Any, zone: tzinfo) -> datetime | None:
    """The raw date string first, so a naive time gets the source's zone; feedparser's parsed
    tuple (always UTC) for the formats only it understands."""
    for key in ("published", "updated", "created"):
        value = raw.get(key)
        if value and (published := parse_datetime(value, zone)):
            return published
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = raw.get(key)
        if value:
            year, month, day, hour, minute, second = value[:6]
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return None


def entries_to_articles(
    entries: list[FeedEntry], source: str, problems: list[str] | tuple[str, ...] = ()
) -> ParseResult:
    """Articles from entries, each identified by its guid, else its link, else its text.

    Textless entries and repeats of an earlier entry are skipped, each with a warning naming
    the source, and counted in a last warning.
    """
    articles: list[Article] = []
    first_position: dict[str, int] = {}
    notes = list(problems)
    skipped = 0
    for entry in entries:
        if not entry.paragraphs:
            notes.append(no_text_problem(source, "entry", entry.position, entry.title or "?"))
            skipped += 1
            continue
        article = Article.create(
            source=source,
            title=entry.title,
            paragraphs=entry.paragraphs,
            url=entry.url,
            published=entry.published,
            tags=entry.tags,
            guid=entry.guid,
        )
        first = first_position.setdefault(article.id, entry.position)
        if first != entry.position:
            notes.append(
                f"{source}: entry {entry.position} '{short_title(entry.title)}' repeats entry "
                f"{first} (the same {_identity(entry)}); skipped"
            )
            skipped += 1
            continue
        articles.append(article)
    if skipped:
        notes.append(f"{source}: skipped {skipped} of {len(entries)} entries")
    return ParseResult(tuple(articles), tuple(notes))


def entry_id(entry: FeedEntry) -> str:
    """The id the entry's article gets (see `entries_to_articles`)."""
    return make_article_id(entry.url, entry.title, entry.paragraphs, entry.guid)


def _identity(entry: FeedEntry) -> str:
    if entry.guid and entry.guid != entry.url:
        return "guid"
    return "link" if entry.url else "title and text"


def with_paragraphs(entry: FeedEntry, paragraphs: tuple[str, ...]) -> FeedEntry:
    return replace(entry, paragraphs=paragraphs)


def parse_feed(
    data: bytes,
    source: str,
    *,
    tz: str | None = None,
    content_type: str | None = None,
    base_url: str | None = None,
) -> ParseResult:
    """Articles of an RSS or Atom feed; anything that is not a feed becomes a problem."""
    try:
        entries, problems = read_feed_entries(
            data, source, tz=tz, content_type=content_type, base_url=base_url
        )
    except FeedError as error:
        return ParseResult(problems=(f"{source}: {error}; skipped",))
    return entries_to_articles(entries, source, problems)
