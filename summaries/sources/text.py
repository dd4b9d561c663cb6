"""Plain text and Markdown files: one article per file, or several in the seed format."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

import yaml

from summaries.models import normalise_text
from summaries.sources.base import (
    DEFAULT_SEED_TIMEZONE,
    DEFAULT_TIMEZONE,
    ParseResult,
    clean_text,
    collapse_whitespace,
    one_article,
    parse_datetime,
    resolve_timezone,
    soft_wrapped_paragraphs,
)
from summaries.sources.seed import looks_like_seed, parse_seed

# format: "auto" detects the seed format, "seed" forces it, "single" forces one article.
TEXT_FORMATS = ("auto", "seed", "single")

_ATX_HEADING = re.compile(r"^#{1,6}\s*(?P<text>.*?)\s*#*\s*$")
_SETEXT_UNDERLINE = re.compile(r"^(=+|-+)\s*$")
_LIST_ITEM = re.compile(r"^(?:[-*+]|\d{1,9}[.)])\s+")
_BLOCKQUOTE = re.compile(r"^(?:>\s?)+")
_RULE = re.compile(r"^([-*_])(?:\s*\1){2,}\s*$")
_FENCE = re.compile(r"^(```|~~~)")
_REFERENCE_DEFINITION = re.compile(r"^\[[^\]]+\]:\s*\S+")
_TABLE_SEPARATOR = re.compile(r"^\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?$")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<body>.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)

_INLINE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"<!--.*?-->", re.S), ""),
    (re.compile(r"!\[[^\]]*\]\((?:[^()]|\([^)]*\))*\)"), ""),  # images carry no prose
    (re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)"), r"\1"),  # [text](url)
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # [text][ref]
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),  # <http://autolink>
    (re.compile(r"</?[A-Za-z][^>]*>"), ""),  # inline HTML tags
    (re.compile(r"`+([^`]+?)`+"), r"\1"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), r"\1"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
)
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<])")
# Escaped characters are parked in a private-use plane while the rules run, so `\*` is never
# read as emphasis, then restored as themselves.
_PARKED_BASE = 0xF0000
_PARKED = re.compile("[\U000f0000-\U000f007f]")


def strip_markdown_inline(text: str) -> str:
    """Markdown emphasis, code, links and inline HTML reduced to their text."""
    text = _ESCAPED.sub(lambda match: chr(_PARKED_BASE + ord(match.group(1))), text)
    for pattern, replacement in _INLINE_RULES:
        text = pattern.sub(replacement, text)
    return _PARKED.sub(lambda match: chr(ord(match.group()) - _PARKED_BASE), text)


def _markdown_paragraphs(lines: list[str]) -> list[str]:
    """Block structure: headings and list items stand alone, code blocks and rules go."""
    paragraphs: list[str] = []
    current: list[str] = []
    in_fence = False

    def flush() -> None:
        text = collapse_whitespace(strip_markdown_inline(" ".join(current)))
        if text:
            paragraphs.append(text)
        current.clear()

    for raw in lines:
        line = _BLOCKQUOTE.sub("", raw.strip())
        if _FENCE.match(line):
            in_fence = not in_fence
            flush()
            continue
        if in_fence or _REFERENCE_DEFINITION.match(line) or _TABLE_SEPARATOR.match(line):
            continue
        if not line or _RULE.match(line):
            flush()
        elif heading := _ATX_HEADING.match(line):
            flush()
            current.append(heading.group("text"))
            flush()
        elif _SETEXT_UNDERLINE.match(line) and current:
            flush()  # the lines above were a heading: keep them as their own paragraph
        elif _LIST_ITEM.match(line):
            flush()
            current.append(_LIST_ITEM.sub("", line))
        else:
            current.append(line)
    flush()
    return paragraphs


def _title_and_body(lines: list[str], markdown: bool) -> tuple[str, list[str]]:
    """The first non-blank line is the title (a Markdown heading, underlined or not)."""
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        title = line.strip()
        rest = lines[index + 1 :]
        if markdown:
            heading = _ATX_HEADING.match(title)
            title = heading.group("text") if heading else title
            if rest and _SETEXT_UNDERLINE.match(rest[0].strip()):
                rest = rest[1:]
            title = collapse_whitespace(strip_markdown_inline(title))
        return title, rest
    return "", []


def _front_matter(text: str, source: str, tz: tzinfo) -> tuple[dict[str, object], str, list[str]]:
    """YAML front matter (title, date, tags, url) of a Markdown file, and the text after it."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, text, []
    try:
        loaded = yaml.safe_load(match.group("body"))
    except yaml.YAMLError as error:
        problem = f"{source}: unreadable front matter ({error.__class__.__name__}); ignored"
        return {}, text[match.end() :], [problem]
    if not isinstance(loaded, dict):
        return {}, text[match.end() :], []
    meta: dict[str, object] = {}
    for key in ("title", "url", "link"):
        if isinstance(loaded.get(key), str):
            meta["url" if key == "link" else key] = loaded[key].strip()
    published = loaded.get("date") or loaded.get("published")
    if isinstance(published, datetime):
        meta["published"] = published if published.tzinfo else published.replace(tzinfo=tz)
    elif isinstance(published, str):
        meta["published"] = parse_datetime(published, tz)
    tags = loaded.get("tags")
    if isinstance(tags, str):
        tags = [part.strip() for part in tags.split(",")]
    if isinstance(tags, list):
        meta["tags"] = tuple(str(tag).strip() for tag in tags if str(tag).strip())
    return meta, text[match.end() :], []


def parse_text(
    text: str,
    source: str,
    *,
    markdown: bool = False,
    text_format: str = "auto",
    tz: str | None = None,
) -> ParseResult:
    """One article per file (first line the title), or the seed format when detected or forced.

    `tz` interprets naive dates; None means the format's default.
    """
    if text_format not in TEXT_FORMATS:
        raise ValueError(f"text_format must be one of {TEXT_FORMATS}, not {text_format!r}")
    text = clean_text(text)
    if text_format == "seed" or (text_format == "auto" and looks_like_seed(text)):
        return parse_seed(text, source, tz=tz or DEFAULT_SEED_TIMEZONE)
    zone = resolve_timezone(tz, DEFAULT_TIMEZONE)
    meta: dict[str, object] = {}
    problems: list[str] = []
    if markdown:
        meta, text, problems = _front_matter(text, source, zone)
    lines = text.splitlines()
    title, body_lines = _title_and_body(lines, markdown)
    meta_title = _optional_str(meta.get("title"))
    if meta_title and normalise_text(meta_title) != normalise_text(title):
        title, body_lines = meta_title, lines  # the first line is body, not a title
    split = _markdown_paragraphs if markdown else soft_wrapped_paragraphs
    paragraphs = split(body_lines)
    if not title:
        return ParseResult(problems=(*problems, f"{source}: empty file; no article"))
    return one_article(
        source,
        title,
        paragraphs,
        problems,
        url=_optional_str(meta.get("url")),
        published=_optional_datetime(meta.get("published")),
        tags=_optional_tags(meta.get("tags")),
    )


def parse_markdown(
    text: str, source: str, *, text_format: str = "auto", tz: str | None = None
) -> ParseResult:
    return parse_text(text, source, markdown=True, text_format=text_format, tz=tz)


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _optional_datetime(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None


def _optional_tags(value: object) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else ()
