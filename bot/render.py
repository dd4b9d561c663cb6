"""Render digests, search results and settings as Telegram HTML, split into valid messages.

Pure functions: text in, strings out. Every piece of article or user text is escaped, every
message stays within Telegram's limits, measured conservatively: the raw HTML string counted in
UTF-16 code units (always at least what Telegram counts after parsing the entities), and at most
100 entities per message (Telegram silently drops formatting beyond that).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as format_local_date
from babel.dates import format_datetime as format_local_datetime
from telegram.constants import MessageLimit

from bot.i18n import N_, Translator, english, join_list
from summaries.models import Article, Digest

MAX_MESSAGE_UNITS = int(MessageLimit.MAX_TEXT_LENGTH)
MAX_ENTITIES = int(MessageLimit.MESSAGE_ENTITIES)
MIN_LIMIT = 64
MAX_TITLE_CHARS = 300
MAX_SOURCE_CHARS = 80
MAX_HEADER_TITLE_CHARS = 100
MAX_QUERY_CHARS = 60
MAX_TAG_CHARS = 60
MAX_HEADER_TAGS = 10
MAX_URL_CHARS = 2048
ELLIPSIS = "…"
BLOCK_SEPARATOR = "\n\n"
UNTITLED = N_("(untitled)")


# C0 controls except \n, DEL, C1 controls, and lone surrogates (which cannot be sent as UTF-8).
_UNSENDABLE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]|[\ud800-\udfff]")
_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+(?:['’-]\w+)*")
_HTML_TOKEN = re.compile(
    r"(?P<close></[a-zA-Z][a-zA-Z0-9-]*\s*>)"
    r"|(?P<open><[a-zA-Z][a-zA-Z0-9-]*(?:\s[^>]*)?>)"
    r"|(?P<entity>&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);)"
    r"|(?P<text>[^<&]+|[<&])"
)
_TAG = re.compile(r"<[^>]*>")
_OPEN_TAG = re.compile(r"<[a-zA-Z][a-zA-Z0-9-]*(?:\s[^>]*)?>")
_TRAILING_JUNK = " \n,;:-–—"
_HOST = re.compile(r"[\w.-]{1,253}|\[[0-9a-fA-F:.]+\]")
_MIN_BLOCK_UNITS = 16


class OwnSource(NamedTuple):
    """A source the chat added itself, as a reason an article is in its digest."""

    title: str
    keywords: str = ""  # "" when the chat takes all of its articles


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One article of a digest, with the digest computed for it.

    `topics` (titles), `keywords` (query texts) and `sources` (the chat's own) say why it is
    in this chat's digest; `source_name` is what to call its source (a feed's title, a
    configured name).
    """

    article: Article
    digest: Digest
    topics: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    source_name: str | None = None
    sources: tuple[OwnSource, ...] = ()


# --- text helpers -------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """The length Telegram measures: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clean_text(text: str) -> str:
    """Drop characters Telegram cannot take: controls other than newline, lone surrogates.

    Tabs and carriage returns become spaces/newlines instead of vanishing, so words stay apart.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _UNSENDABLE.sub(lambda match: "\ufffd" if match.group() >= "\ud800" else "", text)


def _escape_clean(text: str) -> str:
    # Only the entities Telegram knows: & < > and " (for attributes); ' needs no escaping.
    return html.escape(text, quote=False).replace('"', "&quot;")


def escape(text: str) -> str:
    """HTML-escape text for parse_mode HTML, after dropping control characters."""
    return _escape_clean(clean_text(text))


def collapse_whitespace(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _prefix_within_units(text: str, units: int) -> int:
    """Index of the longest prefix of `text` that takes at most `units` UTF-16 code units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return index
    return len(text)


def _word_boundary_cut(text: str, cut: int) -> str:
    """`text[:cut]`, moved back to the last word boundary when that does not waste half of it."""
    if cut >= len(text):
        return text
    if not text[cut].isspace():
        space = max(text.rfind(" ", 0, cut), text.rfind("\n", 0, cut))
        if space >= cut // 2:
            cut = space
    # Never separate a combining mark, joiner or emoji modifier from the character it extends.
    while cut > 0 and (_attaches_to_previous(text[cut]) or text[cut - 1] in "\u200c\u200d"):
        cut -= 1
    return text[:cut].rstrip(_TRAILING_JUNK)


def _attaches_to_previous(char: str) -> bool:
    return (
        unicodedata.category(char) in ("Mn", "Mc", "Me")
        or char in "\u200c\u200d"
        or "\ufe00" <= char <= "\ufe0f"
        or "\U0001f3fb" <= char <= "\U0001f3ff"
    )


def truncate_text(text: str, max_chars: int) -> str:
    """Shorten plain text to at most `max_chars` characters, at a word boundary, ending in "…"."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, not {max_chars}")
    if len(text) <= max_chars:
        return text
    return _word_boundary_cut(text, max_chars - 1) + ELLIPSIS


def short_source(source: str) -> str:
    """A short form of where an article came from: the host of a URL, the file name of a path."""
    source = collapse_whitespace(clean_text(source))
    try:
        parts = urlsplit(source)
        host = parts.hostname if parts.scheme in ("http", "https") else None
    except ValueError:
        host = None
    if host:
        return host.removeprefix("www.")
    name = source.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return name or source


def safe_link(url: str | None) -> str | None:
    """The URL if it may become a link: http(s) with a host, no spaces; otherwise None.

    Anything else (javascript:, data:, relative paths) is shown as text, never linked.
    """
    if not url:
        return None
    url = url.strip()
    if len(url) > MAX_URL_CHARS or _UNSENDABLE.search(url) or _WHITESPACE.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = parts.netloc.rpartition("@")[2]
    host = re.sub(r":[0-9]*$", "", host) if not host.endswith("]") else host
    if parts.scheme.lower() not in ("http", "https") or not _HOST.fullmatch(host):
        return None
    return url


def highlight_html(text: str, is_match: Callable[[str], bool], phrases: Sequence[str] = ()) -> str:
    """Escape `text`, with each run of words for which `is_match(word)` is true in bold, and
    every occurrence of one of `phrases` (Chinese terms: no spaces mark where words end, so
    they are found as substrings) in bold too.

    Adjacent or overlapping matches share one <b> so a heavily matched bullet spends few
    entities; tags are never nested.
    """
    text = clean_text(text)
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text) if is_match(m.group())]
    folded = text.casefold() if len(text.casefold()) == len(text) else text
    for phrase in {p.casefold() for p in phrases if p.strip()}:
        start = folded.find(phrase)
        while start >= 0:
            spans.append((start, start + len(phrase)))
            start = folded.find(phrase, start + 1)
    runs: list[list[int]] = []  # [start, end] of each bold run
    for start, end in sorted(spans):
        if runs and (start <= runs[-1][1] or text[runs[-1][1] : start].isspace()):
            runs[-1][1] = max(runs[-1][1], end)
        else:
            runs.append([start, end])
    pieces: list[str] = []
    position = 0
    for start, end in runs:
        pieces += [
            _escape_clean(text[position:start]),
            "<b>",
            _escape_clean(text[start:end]),
            "</b>",
        ]
        position = end
    pieces.append(_escape_clean(text[position:]))
    return "".join(pieces)


# --- HTML-aware measuring and cutting -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "open", "close", "entity" or "text"
    value: str

    @property
    def name(self) -> str:
        return self.value.strip("</>").split(None, 1)[0].lower()


def _tokens(markup: str) -> Iterator[_Token]:
    for match in _HTML_TOKEN.finditer(markup):
        kind = match.lastgroup
        assert kind is not None
        yield _Token(kind, match.group())


def entity_count(markup: str) -> int:
    """How many entities Telegram will create: one per opening tag."""
    return len(_OPEN_TAG.findall(markup))


def visible_text(markup: str) -> str:
    """The text a reader sees (tags removed, entities decoded)."""
    return html.unescape(_TAG.sub("", markup))


def _top_level_lines(markup: str) -> list[str]:
    """Split at the newlines outside every tag, so each line is balanced HTML on its own."""
    lines: list[str] = []
    current: list[str] = []
    depth = 0
    for token in _tokens(markup):
        if token.kind == "open":
            depth += 1
        elif token.kind == "close":
            depth = max(0, depth - 1)
        if token.kind == "text" and depth == 0 and "\n" in token.value:
            first, *rest = token.value.split("\n")
            current.append(first)
            for piece in rest:
                lines.append("".join(current))
                current = [piece]
        else:
            current.append(token.value)
    lines.append("".join(current))
    return [line for line in lines if line.strip()]


def fits_message(markup: str, limit: int = MAX_MESSAGE_UNITS) -> bool:
    """Whether HTML `markup` fits one Telegram message (length and entity count)."""
    return utf16_len(markup) <= limit and entity_count(markup) <= MAX_ENTITIES


def truncate_html(markup: str, max_units: int, max_entities: int = MAX_ENTITIES) -> str:
    """Cut balanced HTML to at most `max_units` UTF-16 units and `max_entities` tags.

    The cut falls at a word boundary, ends with "…" and closes every tag left open. Tags that do
    not fit are dropped (their text is kept), so the result is always valid.
    """
    if utf16_len(markup) <= max_units and entity_count(markup) <= max_entities:
        return markup
    ellipsis_units = utf16_len(ELLIPSIS)
    out: list[str] = []
    stack: list[tuple[str, bool]] = []  # (closing tag, emitted?)
    used = 0
    closing = 0  # units of the closing tags still owed for the emitted open tags
    entities = 0
    for token in _tokens(markup):
        size = utf16_len(token.value)
        if token.kind == "open":
            close_tag = f"</{token.name}>"
            close_size = utf16_len(close_tag)
            fits = used + size + close_size + closing + ellipsis_units <= max_units
            emit = fits and entities < max_entities
            stack.append((close_tag, emit))
            if emit:
                out.append(token.value)
                used += size
                closing += close_size
                entities += 1
        elif token.kind == "close":
            if stack:
                close_tag, emitted = stack.pop()
                if emitted:
                    out.append(close_tag)
                    used += utf16_len(close_tag)
                    closing -= utf16_len(close_tag)
        elif used + size + closing + ellipsis_units <= max_units:
            out.append(token.value)
            used += size
        else:
            room = max_units - used - closing - ellipsis_units
            if token.kind == "text" and room > 0:
                kept = _word_boundary_cut(token.value, _prefix_within_units(token.value, room))
                out.append(kept)
            break
    else:
        # Everything fitted by size; only tags were dropped for the entity limit.
        return "".join(out)
    out.append(ELLIPSIS)
    out.extend(close_tag for close_tag, emitted in reversed(stack) if emitted)
    return "".join(out)


# --- splitting into messages --------------------------------------------------------------


@dataclass(slots=True)
class _Page:
    units_room: int
    entities_room: int
    parts: list[str]
    units: int = 0
    entities: int = 0

    @property
    def empty(self) -> bool:
        return not self.parts

    def fits(self, piece: str, joiner: str) -> bool:
        joiner = joiner if self.parts else ""
        units = self.units + utf16_len(joiner) + utf16_len(piece)
        return (
            units <= self.units_room and self.entities + entity_count(piece) <= self.entities_room
        )

    def add(self, piece: str, joiner: str) -> None:
        joiner = joiner if self.parts else ""
        self.parts.append(joiner + piece)
        self.units += utf16_len(joiner) + utf16_len(piece)
        self.entities += entity_count(piece)


class _Pager:
    """Packs blocks onto pages: whole blocks when they fit, line by line when one cannot."""

    def __init__(self, first_room: tuple[int, int], later_room: tuple[int, int]) -> None:
        self.later_room = later_room
        self.pages = [_Page(*first_room, parts=[])]

    @property
    def current(self) -> _Page:
        return self.pages[-1]

    def new_page(self) -> _Page:
        self.pages.append(_Page(*self.later_room, parts=[]))
        return self.current

    def add_block(self, block: str) -> None:
        if self.current.fits(block, BLOCK_SEPARATOR):
            self.current.add(block, BLOCK_SEPARATOR)
            return
        if not self.current.empty and _Page(*self.later_room, parts=[]).fits(block, ""):
            self.new_page().add(block, "")
            return
        self._add_lines(_top_level_lines(block))

    def _add_lines(self, lines: list[str]) -> None:
        joiner = BLOCK_SEPARATOR
        for line in lines:
            if not self.current.fits(line, joiner):
                page = self.current if self.current.empty else self.new_page()
                if not page.fits(line, joiner):
                    line = truncate_html(line, page.units_room, page.entities_room)
            self.current.add(line, joiner)
            joiner = "\n"


def _default_continuation(part: int, parts: int) -> str:
    return f"({part}/{parts})"


def split_messages(
    header: str,
    blocks: Sequence[str],
    limit: int = MAX_MESSAGE_UNITS,
    *,
    continuation: Callable[[int, int], str] | None = None,
    max_entities: int = MAX_ENTITIES,
    numbered_header: Callable[[int], str] | None = None,
) -> list[str]:
    """Pack `header` and HTML `blocks` (one per article) into messages within the limits.

    Blocks are never split while they fit a message of their own; a block too long for that is
    split between its lines, and a line too long on its own is truncated. Messages after the
    first start with `continuation(part, parts)`, "(2/3)" by default; with `numbered_header`,
    the first of several messages starts with `numbered_header(parts)` instead of `header`, so
    every part is numbered. Blank blocks are skipped; with no header and no content the result
    is empty.
    """
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT} UTF-16 units, not {limit}")
    continuation = continuation or _default_continuation
    header = truncate_html(header.strip(), limit // 4, max_entities // 4)
    # Reserve room for the widest continuation header it could ever need.
    reserve = truncate_html(continuation(99999, 99999), limit // 4, max_entities // 4)
    separator_units = utf16_len(BLOCK_SEPARATOR)
    widest_first = header
    if numbered_header is not None:
        numbered = truncate_html(numbered_header(99999).strip(), limit // 4, max_entities // 4)
        if utf16_len(numbered) > utf16_len(header):
            widest_first = numbered
    first_room = (
        limit - (utf16_len(widest_first) + separator_units if widest_first else 0),
        max_entities - max(entity_count(header), entity_count(widest_first)),
    )
    later_room = (
        limit - utf16_len(reserve) - separator_units,
        max_entities - entity_count(reserve),
    )
    pager = _Pager(first_room, later_room)
    for block in blocks:
        block = block.strip()
        if visible_text(block).strip():
            pager.add_block(block)
    pages = [page for page in pager.pages if not page.empty]
    if not pages:
        return [header] if header else []
    messages = []
    for number, page in enumerate(pages, start=1):
        body = "".join(page.parts)
        if number == 1:
            lead = header
            if numbered_header is not None and len(pages) > 1:
                # Never wider than the room reserved (a cut at a word boundary may keep more
                # of a shorter text than of the widest one measured above).
                lead = truncate_html(
                    numbered_header(len(pages)).strip(),
                    utf16_len(widest_first),
                    max_entities - first_room[1],
                )
        else:
            lead = truncate_html(continuation(number, len(pages)), limit // 4, max_entities // 4)
        messages.append(lead + BLOCK_SEPARATOR + body if lead else body)
    return messages


def fit_message(header: str, blocks: Sequence[str], limit: int = MAX_MESSAGE_UNITS) -> str:
    """Everything in ONE message: if it is too long, each block is shortened to a fair share.

    Short blocks keep all they have; the room they leave goes to the longer ones.
    """
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT} UTF-16 units, not {limit}")
    header = truncate_html(header.strip(), limit // 4, MAX_ENTITIES // 4)
    blocks = [block.strip() for block in blocks if visible_text(block).strip()]
    separator_units = utf16_len(BLOCK_SEPARATOR)
    units_left = limit - utf16_len(header) - separator_units * len(blocks)
    entities_left = MAX_ENTITIES - entity_count(header)
    fitted: dict[int, str] = {}
    by_size = sorted(range(len(blocks)), key=lambda index: utf16_len(blocks[index]))
    for position, index in enumerate(by_size):
        share = len(blocks) - position
        block = _fit_block(blocks[index], units_left // share, entities_left // share)
        fitted[index] = block
        units_left -= utf16_len(block)
        entities_left -= entity_count(block)
    body = BLOCK_SEPARATOR.join(fitted[index] for index in range(len(blocks)) if fitted[index])
    if not header:
        return body
    return header + BLOCK_SEPARATOR + body if body else header


def _fit_block(block: str, max_units: int, max_entities: int) -> str:
    """As many whole lines of `block` as fit, then the next one cut short if room is left."""
    if utf16_len(block) <= max_units and entity_count(block) <= max_entities:
        return block
    if max_units < _MIN_BLOCK_UNITS:
        return ""
    page = _Page(max_units, max_entities, parts=[])
    for line in _top_level_lines(block):
        if page.fits(line, "\n"):
            page.add(line, "\n")
            continue
        room = max_units - page.units - (1 if page.parts else 0)
        if page.empty or room >= 40:
            page.add(truncate_html(line, room, max_entities - page.entities), "\n")
        break
    return "".join(page.parts)


# --- digests ------------------------------------------------------------------------------


def render_entry(
    entry: DigestEntry,
    *,
    bullets: int | None = None,
    highlight: Callable[[str], bool] | None = None,
    tz: ZoneInfo | None = None,
    number: int | None = None,
    t: Translator | None = None,
    phrases: Sequence[str] = (),
) -> str:
    """One article as an HTML block: bold (linked) title, "• " bullets, italic source and date
    (on the clock of `tz`, in t's language)."""
    t = t or english()
    lines = [_title_line(entry.article, number, t)]
    shown = entry.digest.top(bullets)
    for bullet in shown:
        text = collapse_whitespace(clean_text(bullet))
        if text:
            if highlight or phrases:
                body = highlight_html(text, highlight or _no_word, phrases)
            else:
                body = _escape_clean(text)
            lines.append("• " + body)
    source = _source_name(entry.article, entry.source_name)
    tags = _tags_line(entry, source)
    if tags:
        lines.append(tags)
    source_line = _source_line(entry.article, tz, source, t)
    if source_line:
        lines.append(source_line)
    return "\n".join(lines)


def _short(text: str, max_chars: int) -> str:
    return _escape_clean(truncate_text(collapse_whitespace(clean_text(text)), max_chars))


def _tags_line(entry: DigestEntry, source: str) -> str:
    """Why the article is here: '🏷 Quantum · <b>satellite internet</b>' (keywords in bold).

    The chat's own source is named once, by the source line below (`source`): here it adds
    only the keywords it was filtered by; an article it brought whole needs no tag.
    """
    tags = [_short(topic, MAX_TAG_CHARS) for topic in entry.topics if topic.strip()]
    words = list(entry.keywords)
    for own in entry.sources:
        if collapse_whitespace(clean_text(own.title)) != source:
            tags.append(_short(own.title, MAX_TAG_CHARS))
        words.append(own.keywords)
    unique = dict.fromkeys(word for word in words if word.strip())
    tags += [f"<b>{_short(word, MAX_TAG_CHARS)}</b>" for word in unique]
    return "🏷 " + " · ".join(tags) if tags else ""


def _no_word(_word: str) -> bool:
    return False


def _title_line(article: Article, number: int | None, t: Translator) -> str:
    title = collapse_whitespace(clean_text(article.title)) or t.gettext(UNTITLED)
    title_html = _escape_clean(truncate_text(title, MAX_TITLE_CHARS))
    link = safe_link(article.url)
    if link:
        title_html = f'<a href="{escape(link)}">{title_html}</a>'
    prefix = f"{number}. " if number is not None else ""
    return f"{prefix}<b>{title_html}</b>"


def _source_name(article: Article, name: str | None) -> str:
    """What to call the article's source: the configured name or feed title, else a short
    form of its address or URL ("" when there is none)."""
    source = collapse_whitespace(clean_text(name)) if name else ""
    if not source and article.source:
        source = short_source(article.source)
    if not source and article.url:
        source = short_source(article.url)
    return source


def _source_line(article: Article, tz: ZoneInfo | None, source: str, t: Translator) -> str:
    details = []
    if source:
        details.append(_escape_clean(truncate_text(source, MAX_SOURCE_CHARS)))
    if article.published is not None:
        published = article.published
        if published.tzinfo is None:
            details.append(_escape_clean(format_reader_date(published, t)))
        else:
            # The reader's clock: 21:50 UTC is already the next day in Shanghai.
            local = published.astimezone(tz) if tz else published
            details.append(_escape_clean(format_reader_moment(local, t)))
    return f"<i>{' · '.join(details)}</i>" if details else ""


def format_reader_date(moment: datetime, t: Translator) -> str:
    """'26 Nov 2026' in English, '2026年11月26日' in Chinese."""
    # Translators: a date as Unicode CLDR pattern letters (d: day, MMM: short month, y: year).
    return _format_day(moment.date(), t.gettext("d MMM y"), t.locale)


def format_reader_moment(moment: datetime, t: Translator) -> str:
    """'26 Nov 2026, 21:50' in English, '2026年11月26日 21:50' in Chinese, on moment's clock."""
    # Translators: a date and time as Unicode CLDR pattern letters (d: day, MMM: short
    # month, y: year, HH:mm: 24-hour time); text in quotes is shown as it is.
    return _format_moment(moment, moment.tzinfo, t.gettext("d MMM y, HH:mm"), t.locale)


def format_reader_day(moment: datetime, t: Translator) -> str:
    """'Thu 26 Nov 2026' in English, '2026年11月26日 周四' in Chinese (Babel's CLDR data)."""
    # Translators: a date as Unicode CLDR pattern letters (EEE: short weekday, d: day,
    # MMM: short month, y: year); text in quotes is shown as it is.
    return _format_day(moment.date(), t.gettext("EEE d MMM y"), t.locale)


# Babel takes tens of microseconds per date; a round shows the same few dates (an article's
# time, today) to thousands of chats, so each is formatted once per zone and language.
@lru_cache(maxsize=1024)
def _format_day(day: date, pattern: str, locale: Locale) -> str:
    # A date pattern is formatted from the date alone.
    return format_local_date(day, pattern, locale=locale)


@lru_cache(maxsize=8192)
def _format_moment(moment: datetime, zone: tzinfo | None, pattern: str, locale: Locale) -> str:
    # `zone` is part of the key: aware datetimes compare equal by instant, whatever their clock.
    return format_local_datetime(moment, pattern, locale=locale)


def numbered_title(title_html: str, part: int, parts: int, t: Translator) -> str:
    """'<b>📰 Your digest</b> (1/2)' in English, '<b>📰 你的摘要</b>（1/2）' in Chinese."""
    return _escape_clean(t.gettext("{title} ({part}/{parts})")).format(
        title=title_html, part=part, parts=parts
    )


def digest_header(
    title: str,
    when: datetime,
    topics: Sequence[str],
    count: int,
    t: Translator | None = None,
    *,
    keywords: Sequence[str] = (),
    sources: Sequence[str] = (),
    part: tuple[int, int] | None = None,
) -> str:
    """'📰 <b>Your digest</b> (1/2) — Thu 26 Nov 2026', then what the digest holds:
    'Topics: Quantum, AI · Keywords: <b>drug</b> · Sources: Harbour News · 4 articles'."""
    t = t or english()
    heading = f"<b>📰 {_short(title, MAX_HEADER_TITLE_CHARS)}</b>"
    if part:
        heading = numbered_title(heading, part[0], part[1], t)
    day = _escape_clean(format_reader_day(when, t))
    first = f"{heading} — {day}"
    parts = []
    names = [collapse_whitespace(clean_text(topic)) for topic in topics]
    topic_text = truncate_text(join_list((name for name in names if name), t), 300)
    if topic_text:
        listed = _escape_clean(topic_text)
        parts.append(_escape_clean(t.gettext("Topics: {topics}")).format(topics=listed))
    words = [_short(word, MAX_TAG_CHARS) for word in keywords if word.strip()][:MAX_HEADER_TAGS]
    if words:
        listed = join_list((f"<b>{word}</b>" for word in words), t)
        parts.append(_escape_clean(t.gettext("Keywords: {keywords}")).format(keywords=listed))
    own = [_short(name, MAX_TAG_CHARS) for name in sources if name.strip()][:MAX_HEADER_TAGS]
    if own:
        listed = join_list(own, t)
        parts.append(_escape_clean(t.gettext("Sources: {sources}")).format(sources=listed))
    articles = t.ngettext("{count} article", "{count} articles", count).format(count=count)
    parts.append(_escape_clean(articles))
    return f"{first}\n" + " · ".join(parts)


def more_block(more: int, command: str = "/digest", t: Translator | None = None) -> str:
    """The last lines of a digest that could not hold every match: '3 more: /digest'."""
    if more <= 0:
        return ""
    text = (t or english()).gettext("{count} more: {command}").format(count=more, command=command)
    return f"<i>{_escape_clean(text)}</i>"


def render_digest(
    entries: Sequence[DigestEntry],
    *,
    title: str,
    when: datetime,
    topics: Sequence[str] | None = None,
    keywords: Sequence[str] | None = None,
    bullets: int | None = None,
    highlight: Callable[[str], bool] | None = None,
    limit: int = MAX_MESSAGE_UNITS,
    tz: ZoneInfo | None = None,
    more: int = 0,
    note: str = "",
    t: Translator | None = None,
    blocks: Sequence[str] | None = None,
) -> list[str]:
    """A digest as one or more numbered messages, in article order. No entries: no messages.

    The header names the topics, keywords and own sources the entries matched (or
    `topics`/`keywords` when given); `more` matching articles that did not fit end it with
    "N more: /digest". `blocks`, when given, are the entries already rendered, one each,
    exactly as `render_entry(entry, bullets=bullets, highlight=highlight, tz=tz)` makes them
    (a round renders an article once for all the chats that see it alike).
    """
    if not entries:
        return []
    if blocks is None:
        blocks = [
            render_entry(entry, bullets=bullets, highlight=highlight, tz=tz, t=t)
            for entry in entries
        ]
    elif len(blocks) != len(entries):
        raise ValueError(f"{len(blocks)} blocks given for {len(entries)} entries")
    blocks = [*blocks, more_block(more, t=t)]
    if topics is None:
        topics = list(dict.fromkeys(topic for entry in entries for topic in entry.topics))
    if keywords is None:
        keywords = list(dict.fromkeys(word for entry in entries for word in entry.keywords))
    sources = list(dict.fromkeys(own.title for entry in entries for own in entry.sources))
    short_title = _short(title, MAX_HEADER_TITLE_CHARS)

    def header(part: tuple[int, int] | None) -> str:
        heading = digest_header(
            title, when, topics, len(entries), t, keywords=keywords, sources=sources, part=part
        )
        return f"{heading}\n<i>{_escape_clean(note)}</i>" if note else heading

    def continuation(part: int, parts: int) -> str:
        return numbered_title(f"<b>📰 {short_title}</b>", part, parts, t or english())

    return split_messages(
        header(None),
        blocks,
        limit,
        continuation=continuation,
        numbered_header=lambda parts: header((1, parts)),
    )


# --- search, subscriptions, settings ------------------------------------------------------


def _results_range(first: int, last: int, total: int, t: Translator) -> str:
    """'6–10 of 12'; '3 results' when one page holds them all, '12 of 12' for a single one."""
    if first == 1 and last == total:
        return t.ngettext("{count} result", "{count} results", total).format(count=total)
    if first == last:
        return t.gettext("{number} of {total}").format(number=first, total=total)
    return t.gettext("{first}–{last} of {total}").format(first=first, last=last, total=total)


def render_search_results(
    entries: Sequence[DigestEntry],
    query_text: str,
    *,
    page: int,
    total: int,
    is_match: Callable[[str], bool],
    page_size: int = 5,
    bullets: int | None = 3,
    tz: ZoneInfo | None = None,
    limit: int = MAX_MESSAGE_UNITS,
    t: Translator | None = None,
    phrases: Sequence[str] = (),
) -> str:
    """One page of search results (page counts from 1), matched words in bold (and `phrases`,
    Chinese terms matched as substrings), in one message, dated on the clock of `tz`."""
    t = t or english()
    query = _escape_clean(
        truncate_text(collapse_whitespace(clean_text(query_text)), MAX_QUERY_CHARS)
    )
    if not entries:
        return _escape_clean(
            t.gettext(
                "No stored article matches “{query}”. Try fewer or other words, "
                "for example /search quantum"
            )
        ).format(query=query)
    first = (max(page, 1) - 1) * page_size + 1
    last = first + len(entries) - 1
    heading = _escape_clean(t.gettext("Results for “{query}”")).format(query=query)
    shown_range = _results_range(first, last, max(total, last), t)
    header = f"🔎 <b>{heading}</b> · {_escape_clean(shown_range)}"
    most = max((entry.digest.most for entry in entries), default=0)
    shown = most if bullets is None else min(bullets, most)
    # Fewer bullets for every result, down to titles only, before cutting any result short.
    for count in range(max(shown, 0), -1, -1):
        blocks = [
            render_entry(
                entry,
                bullets=count,
                highlight=is_match,
                tz=tz,
                number=first + offset,
                t=t,
                phrases=phrases,
            )
            for offset, entry in enumerate(entries)
        ]
        message = header + BLOCK_SEPARATOR + BLOCK_SEPARATOR.join(blocks)
        if utf16_len(message) <= limit and entity_count(message) <= MAX_ENTITIES:
            return message
    return fit_message(header, blocks, limit)
