"""Shared value objects and helpers for every source type: results, specs, decoding, dates."""

from __future__ import annotations

import codecs
import email.utils
import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import charset_normalizer

from summaries.models import Article

KINDS = ("auto", "seed", "text", "markdown", "html", "feed")
DEFAULT_SEED_TIMEZONE = "Asia/Shanghai"
DEFAULT_TIMEZONE = "UTC"
MAX_TITLE_CHARS_IN_PROBLEM = 60

_WHITESPACE = re.compile(r"\s+")
# Legacy charsets trusted when detected in undeclared bytes: scripts windows-1252 cannot
# hold. Latin-script ones (cp1250, ...) are left out: detectors confuse them with it on short
# text ("Crème" read as cp1250 is "Crčme"), so such text stays windows-1252.
_DETECTABLE = frozenset(
    {
        "gb18030", "gbk", "gb2312", "big5", "big5hkscs", "shift_jis", "cp932", "euc_jp",
        "euc_kr", "cp949", "koi8_r", "koi8_u", "cp1251", "cp1253", "cp1255", "cp1256",
        "iso8859_5", "iso8859_7", "iso8859_8", "tis_620", "cp874",
    }
)  # fmt: skip
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_CHARACTER_REFERENCE = re.compile(r"&#(?:[xX]([0-9A-Fa-f]+)|([0-9]+));")
_MAX_REFERENCE_DIGITS = 8  # more is beyond U+10FFFF in any base (and int() need not parse it)
_UTF8_NAMES = frozenset({"utf-8", "utf-8-sig"})
_FEW_BAD_BYTES = 3  # in text declared UTF-8, this many bad bytes stay U+FFFD whatever the rest
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_CONTENT_TYPE_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# Date formats seen in news pages and the seed format ("May 24, 2024 11:48 AM"), tried in order
# after ISO 8601 and before RFC 822.
_DATE_FORMATS = (
    "%B %d, %Y %I:%M %p",
    "%b %d, %Y %I:%M %p",
    "%B %d, %Y %H:%M",
    "%b %d, %Y %H:%M",
    "%B %d, %Y",
    "%b %d, %Y",
    "%d %B %Y %H:%M",
    "%d %B %Y",
    "%d %b %Y",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y.%m.%d %H:%M",
    "%Y.%m.%d",
)


class SourceError(Exception):
    """A whole source could not be read (missing path, unreachable URL, bad setting)."""


class FeedError(SourceError):
    """The data is not an RSS or Atom feed at all."""


@dataclass(frozen=True)
class ParseResult:
    """What a parser found: the articles, and a warning for everything it had to skip or guess."""

    articles: tuple[Article, ...] = ()
    problems: tuple[str, ...] = ()

    def __add__(self, other: ParseResult) -> ParseResult:
        return ParseResult(self.articles + other.articles, self.problems + other.problems)


@dataclass(frozen=True)
class SourceSpec:
    """One configured source.

    `timezone` applies to naive published times; None means the format's own default
    (Asia/Shanghai for the seed format, UTC otherwise). `language` is the ISO 639-1 code of
    the source's articles; None detects each article's language from its text.
    """

    name: str
    location: str
    kind: str = "auto"
    interval_minutes: int = 30
    fetch_full_text: bool = False
    timezone: str | None = None
    max_articles: int = 200
    language: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip() or not self.location.strip():
            raise ValueError(f"source {self.name!r}: name and location must not be empty")
        if self.kind not in KINDS:
            raise ValueError(
                f"source {self.name!r}: kind must be one of {', '.join(KINDS)}, not {self.kind!r}"
            )
        if self.interval_minutes < 1 or self.max_articles < 1:
            raise ValueError(
                f"source {self.name!r}: interval_minutes and max_articles must be at least 1"
            )


@dataclass(frozen=True)
class FeedValidators:
    """Conditional GET state remembered between polls of one URL."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    source: str
    articles: tuple[Article, ...] = ()
    problems: tuple[str, ...] = ()
    validators: FeedValidators = field(default_factory=FeedValidators)
    not_modified: bool = False
    error: str | None = None


def short_title(title: str) -> str:
    """A title cut to a length that keeps warning lines readable."""
    if len(title) <= MAX_TITLE_CHARS_IN_PROBLEM:
        return title
    return title[: MAX_TITLE_CHARS_IN_PROBLEM - 3].rstrip() + "..."


def one_article(
    source: str,
    title: str,
    paragraphs: list[str],
    problems: list[str] | tuple[str, ...],
    *,
    what: str = "article",
    **fields: Any,
) -> ParseResult:
    """A document holding one article: the article, or a warning when it has no text."""
    if not paragraphs:
        problem = f"{source}: {what} '{short_title(title)}' has no text; skipped"
        return ParseResult(problems=(*problems, problem))
    article = Article.create(source=source, title=title, paragraphs=paragraphs, **fields)
    return ParseResult((article,), tuple(problems))


def no_text_problem(source: str, what: str, index: int, title: str) -> str:
    return f"{source}: {what} {index} '{short_title(title)}' has no text; skipped"


def clean_text(text: str) -> str:
    """Text that can be encoded: lone surrogates (possible in a str, never in decoded bytes)
    become U+FFFD, and a leading byte order mark goes."""
    return _LONE_SURROGATE.sub("\ufffd", text).lstrip("\ufeff")


def collapse_whitespace(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def soft_wrapped_paragraphs(lines: list[str]) -> list[str]:
    """Blank lines end paragraphs; single newlines inside one are soft wraps."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(collapse_whitespace(" ".join(current)))
            current = []
    return paragraphs


def resolve_timezone(name: str | None, default: str) -> tzinfo:
    """The named zone, or raise SourceError naming the bad value."""
    zone_name = name or default
    try:
        return ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise SourceError(f"unknown timezone {zone_name!r}") from error


def parse_datetime(value: str, tz: tzinfo) -> datetime | None:
    """Parse a published time in any common form; naive times are taken to be in `tz`."""
    text = collapse_whitespace(value)
    if not text:
        return None
    # Strict formats before the RFC 822 parser, which is lenient enough to drop an "PM".
    parsed = _parse_iso(text) or _parse_with_formats(text) or _parse_rfc822(text)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=tz)
    return parsed


def _parse_iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        return None


def _parse_rfc822(text: str) -> datetime | None:
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def _parse_with_formats(text: str) -> datetime | None:
    for date_format in _DATE_FORMATS:
        try:
            # The zone is attached by the caller, which knows the source's timezone.
            return datetime.strptime(text, date_format)  # noqa: DTZ007
        except ValueError:
            continue
    return None


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _CONTENT_TYPE_CHARSET.search(content_type)
    return match.group(1) if match else None


def declared_charset(data: bytes) -> str | None:
    """The charset a document declares about itself (XML prolog or HTML meta), if any."""
    head = data[:4096]
    match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


def decode_bytes(data: bytes, source: str, *declared: str | None) -> tuple[str, tuple[str, ...]]:
    """Decode `data`: a BOM first, then each declared charset in turn (the HTTP header's,
    then the document's own), then UTF-8, then detection.

    Declared UTF-8 with a few bad bytes stays UTF-8, the bad bytes replaced by U+FFFD; only
    bytes that plainly are not UTF-8 go on to the next declaration or to detection. Returns
    the text and the warnings about anything that did not decode as declared.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace"), ()
    problems: list[str] = []
    for charset in dict.fromkeys(_codec_name(name) for name in declared if name):
        if charset in _UTF8_NAMES:
            lenient, bad = _lenient_utf8(data)
            if not bad:
                return lenient, tuple(problems)
            if _mostly_utf8(lenient, bad, declared=True):
                problems.append(_bad_utf8_problem(source, data, bad))
                return lenient, tuple(problems)
            offset = _first_bad_utf8_offset(data)
            problems.append(
                f"{source}: bytes are not valid {charset} as declared "
                f"(byte 0x{data[offset]:02x} at offset {offset})"
            )
            continue
        try:
            return data.decode(charset), tuple(problems)
        except LookupError:
            problems.append(f"{source}: unknown charset {charset!r}; trying UTF-8")
        except UnicodeDecodeError as error:
            problems.append(
                f"{source}: bytes are not valid {charset} as declared "
                f"(byte 0x{data[error.start]:02x} at offset {error.start}); trying UTF-8"
            )
    try:
        return data.decode("utf-8"), tuple(problems)
    except UnicodeDecodeError as error:
        text, fallback = _decode_fallback(data)
        problems.append(
            f"{source}: not valid UTF-8 (byte 0x{data[error.start]:02x} at offset "
            f"{error.start}); decoded as {fallback}"
        )
        return text, tuple(problems)


def _codec_name(name: str) -> str:
    """The codec's own name ("UTF8" -> "utf-8"); GB2312 widened to GB18030 as browsers do.
    Unknown names are kept as given, for the warning."""
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return name
    return "gb18030" if codec == "gb2312" else codec


def _lenient_utf8(data: bytes) -> tuple[str, int]:
    """`data` as UTF-8 with each bad byte sequence replaced by U+FFFD, and how many there were."""
    try:
        return data.decode("utf-8"), 0
    except UnicodeDecodeError:
        pass
    lenient = data.decode("utf-8", errors="replace")
    return lenient, lenient.count("\ufffd") - data.count(b"\xef\xbf\xbd")


def _mostly_utf8(lenient: str, bad: int, *, declared: bool) -> bool:
    """Whether text that is not quite UTF-8 still is UTF-8 with a few bad bytes.

    Legacy text read as UTF-8 yields far more bad bytes than accidental good characters. Text
    declared UTF-8 keeps its UTF-8 also when a stray byte or two are its only non-ASCII ones.
    """
    decoded_fine = sum(1 for char in lenient if ord(char) > 0x7F) - bad
    return decoded_fine >= bad or (declared and bad <= _FEW_BAD_BYTES)


def _bad_utf8_problem(source: str, data: bytes, bad: int) -> str:
    error_start = _first_bad_utf8_offset(data)
    return (
        f"{source}: {bad} invalid UTF-8 byte sequence(s) (first: byte "
        f"0x{data[error_start]:02x} at offset {error_start}); replaced by U+FFFD"
    )


def _first_bad_utf8_offset(data: bytes) -> int:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start
    return 0


def replace_bad_character_references(text: str) -> str:
    """Numeric character references to no character (a lone surrogate such as `&#xD800;`, or
    beyond U+10FFFF) as U+FFFD: XML forbids them, and feedparser crashes on them."""
    return _CHARACTER_REFERENCE.sub(_replace_bad_reference, text)


def _replace_bad_reference(match: re.Match[str]) -> str:
    hexadecimal, decimal = match.groups()
    digits = (hexadecimal or decimal).lstrip("0")
    if len(digits) > _MAX_REFERENCE_DIGITS:
        return "\ufffd"
    value = int(digits or "0", 16 if hexadecimal else 10)
    return "\ufffd" if 0xD800 <= value <= 0xDFFF or value > 0x10FFFF else match.group(0)


def _decode_fallback(data: bytes) -> tuple[str, str]:
    """Mostly-UTF-8 text with a few bad bytes keeps its UTF-8. Otherwise the charset is
    detected (GBK, windows-1251, Shift_JIS... read as Latin-1 would be mojibake), and only
    when nothing is detected is it taken as windows-1252, what Western web text uses."""
    lenient, bad = _lenient_utf8(data)
    if _mostly_utf8(lenient, bad, declared=False):
        return lenient, "UTF-8 with the bad bytes replaced by U+FFFD"
    best = charset_normalizer.from_bytes(data).best()
    if best is not None and best.encoding in _DETECTABLE:
        return str(best), f"{best.encoding} (detected)"
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"
