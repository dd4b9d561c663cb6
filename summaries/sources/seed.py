"""The seed news format: several articles per file, each introduced by a doubled title line.

    Title | tag | tag
    Title | tag | tag

    Release time:May 24, 2024 11:48 AM

    First paragraph ...

A new article starts at the very first line, at a line repeated on the next line (the doubled
title), or at a one-line paragraph directly followed by a `Release time:` line (a title written
once). A one-line body paragraph that merely looks like a title (a sub-heading) starts nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

from summaries.models import Article, normalise_text
from summaries.sanitize import sanitize_text
from summaries.sources.base import (
    DEFAULT_SEED_TIMEZONE,
    ParseResult,
    clean_text,
    no_text_problem,
    parse_datetime,
    resolve_timezone,
    short_title,
    soft_wrapped_paragraphs,
)

# The label as the English and the Chinese editions of the sites print it.
_RELEASE_TIME = re.compile(r"^(?:release\s*time|发布时间)\s*[:：]\s*(?P<value>.*)$", re.IGNORECASE)
_TAG_SEPARATOR = re.compile(r"\s+\|(?:\s+|$)")
# A doubled line longer than this is a repeated paragraph, not a title.
MAX_TITLE_CHARS = 400


@dataclass(frozen=True)
class _Heading:
    title: str
    tags: tuple[str, ...]


def split_title_and_tags(line: str) -> _Heading:
    """`Title | tag | tag` -> the title and its tags (deduplicated, in order)."""
    title, *tags = (part.strip() for part in _TAG_SEPARATOR.split(line.strip()))
    unique_tags = tuple(dict.fromkeys(tag for tag in tags if tag))
    return _Heading(title=title, tags=unique_tags)


def _opening(line: str) -> str:
    return "".join(line[:16].split())[:6].casefold()


def _same_title(first: str, second: str) -> bool:
    if not first or not second or len(first) > MAX_TITLE_CHARS:
        return False
    if first == second:
        return True
    if _opening(first) != _opening(second):
        return False  # cheap rejection: most neighbouring lines differ from the start
    return normalise_text(split_title_and_tags(first).title) == normalise_text(
        split_title_and_tags(second).title
    )


def _is_release_time(line: str) -> bool:
    return _RELEASE_TIME.match(line) is not None


def _next_nonblank(lines: list[str], index: int) -> int | None:
    for position in range(index, len(lines)):
        if lines[position]:
            return position
    return None


def _article_starts(lines: list[str]) -> list[int]:
    """Line indexes where articles begin (see the module docstring for the rules)."""
    first = _next_nonblank(lines, 0)
    if first is None:
        return []
    starts = [first]
    index = first + 1
    while index < len(lines):
        line = lines[index]
        if not line:
            index += 1
            continue
        previous = lines[index - 1]
        is_doubled = index + 1 < len(lines) and _same_title(line, lines[index + 1])
        after_break = not previous
        following = _next_nonblank(lines, index + 1)
        titled_release = (
            after_break
            and following is not None
            and following - index <= 2  # at most one blank line between
            and _is_release_time(lines[following])
            and not _is_release_time(line)
        )
        if is_doubled or titled_release:
            starts.append(index)
            index += 2 if is_doubled else 1
            continue
        index += 1
    return starts


def _doubled_heading(lines: list[str], start: int) -> tuple[_Heading, int]:
    """The heading at `start` and the index of the first line after it (and its copy)."""
    heading = split_title_and_tags(lines[start])
    if start + 1 < len(lines) and _same_title(lines[start], lines[start + 1]):
        copy = split_title_and_tags(lines[start + 1])
        if len(copy.tags) > len(heading.tags):
            heading = copy
        return heading, start + 2
    return heading, start + 1


def _release_time(
    lines: list[str], source: str, title: str, tz: tzinfo
) -> tuple[datetime | None, list[str], list[str]]:
    """Take a leading `Release time:` line off the body lines (it is a line of its own even
    without a blank line after it); returns (published, remaining lines, problems)."""
    first = _next_nonblank(lines, 0)
    match = _RELEASE_TIME.match(lines[first]) if first is not None else None
    if first is None or match is None:
        return None, lines, []
    rest = lines[first + 1 :]
    published = parse_datetime(match.group("value"), tz)
    if published is None:
        problem = (
            f"{source}: article '{short_title(title)}' has an unreadable release time "
            f"{match.group('value')!r}; published left empty"
        )
        return None, rest, [problem]
    return published, rest, []


def _clean_lines(text: str) -> list[str]:
    # Sanitised first: splitlines() also breaks at control characters such as U+001E, which
    # would otherwise make a title of what sanitising later erases.
    return [line.strip() for line in sanitize_text(clean_text(text)).splitlines()]


def looks_like_seed(text: str) -> bool:
    """True when the text is in the seed format: a `Release time:` line, a doubled title with
    ` | tag` suffixes, or at least two doubled titles."""
    lines = _clean_lines(text)
    if any(_is_release_time(line) for line in lines):
        return True
    doubled = [
        line
        for line, following in zip(lines, lines[1:], strict=False)
        if _same_title(line, following)
    ]
    return len(doubled) >= 2 or any(split_title_and_tags(line).tags for line in doubled)


def parse_seed(text: str, source: str, tz: str = DEFAULT_SEED_TIMEZONE) -> ParseResult:
    """Parse every article of a seed-format text. Naive release times are taken to be in `tz`."""
    zone = resolve_timezone(tz, DEFAULT_SEED_TIMEZONE)
    lines = _clean_lines(text)
    starts = _article_starts(lines)
    if not starts:
        return ParseResult(problems=(f"{source}: empty file; no articles",))
    articles: list[Article] = []
    problems: list[str] = []
    spans = zip(starts, [*starts[1:], len(lines)], strict=True)
    for number, (start, end) in enumerate(spans, start=1):
        heading, body_start = _doubled_heading(lines, start)
        published, body_lines, date_problems = _release_time(
            lines[body_start:end], source, heading.title, zone
        )
        problems.extend(date_problems)
        body = soft_wrapped_paragraphs(body_lines)
        if not body:
            problems.append(no_text_problem(source, "article", number, heading.title))
            continue
        articles.append(
            Article.create(
                source=source,
                title=heading.title,
                paragraphs=body,
                published=published,
                tags=heading.tags,
            )
        )
    return ParseResult(tuple(articles), tuple(problems))
