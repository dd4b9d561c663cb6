"""`run_bot.py preview`: print the digests of the configured sources, offline, in a terminal."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from summaries import language as languages
from summaries.config import DEFAULT_CONFIG_PATH, AppConfig, ConfigError, load_config
from summaries.digest import summarise, with_language
from summaries.matching import TopicMatcher
from summaries.models import ALGORITHMS, MAX_BULLETS, MIN_BULLETS, Article, Digest
from summaries.sources import FetchResult, SourceSpec, fetch_source, read_local

logger = logging.getLogger(__name__)
_WRAP_COLUMNS = 96


class UsageError(Exception):
    """A problem with the command line, reported as one line and a non-zero exit."""


def add_preview_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="PATH_OR_URL",
        help="a file, folder or feed URL to preview instead of the configured sources "
        "(repeatable)",
    )
    parser.add_argument("--topic", help="only articles filed under this topic")
    parser.add_argument(
        "--bullets", type=int, help=f"bullets per article ({MIN_BULLETS}-{MAX_BULLETS})"
    )
    parser.add_argument("--algorithm", help=f"ranking algorithm: {', '.join(ALGORITHMS)}")
    parser.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,  # a --config given before "preview" must not be overridden
        help="configuration file (YAML)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON array")


def run_preview(args: argparse.Namespace) -> int:
    """Entry point of the preview command; returns the exit status."""
    try:
        config = _configure(load_config(getattr(args, "config", DEFAULT_CONFIG_PATH)), args)
        results = asyncio.run(_fetch_all(_specs(config, args.source)))
        entries = _digests(config, results)
        if args.topic:
            entries = [
                (article, digest) for article, digest in entries if args.topic in digest.topics
            ]
    except (ConfigError, UsageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    output = _as_json(entries) if args.json else _as_text(entries)
    sys.stdout.write(output)
    return 0


def _configure(config: AppConfig, args: argparse.Namespace) -> AppConfig:
    settings = config.summariser
    if args.bullets is not None:
        if not MIN_BULLETS <= args.bullets <= MAX_BULLETS:
            raise UsageError(f"--bullets must be from {MIN_BULLETS} to {MAX_BULLETS}")
        settings = replace(settings, bullets=args.bullets)
    if args.algorithm is not None:
        if args.algorithm not in ALGORITHMS:
            raise UsageError(
                f"unknown algorithm {args.algorithm!r}; choose one of {', '.join(ALGORITHMS)}"
            )
        settings = replace(settings, algorithm=args.algorithm)
    if args.topic is not None and config.topic(args.topic) is None:
        names = ", ".join(topic.name for topic in config.topics)
        raise UsageError(f"unknown topic {args.topic!r}; configured topics: {names}")
    return replace(config, summariser=settings)


def _specs(config: AppConfig, locations: Sequence[str]) -> list[SourceSpec]:
    if not locations:
        return list(config.sources)
    specs = []
    for location in locations:
        if "://" not in location:
            path = Path(location)
            if not path.exists():
                raise UsageError(f"--source {location}: no such file or folder")
            location = str(path)
        specs.append(SourceSpec(name=location, location=location))
    return specs


async def _fetch_all(specs: Sequence[SourceSpec]) -> list[FetchResult]:
    if all("://" not in spec.location for spec in specs):
        return [read_local(spec) for spec in specs]
    import httpx  # only feeds need the network stack; keep the offline path light

    async with httpx.AsyncClient(follow_redirects=True) as client:
        return list(await asyncio.gather(*(fetch_source(spec, client) for spec in specs)))


def _digests(config: AppConfig, results: Sequence[FetchResult]) -> list[tuple[Article, Digest]]:
    matcher = TopicMatcher(config.topics)
    entries = []
    for result in results:
        if result.error:
            logger.warning("%s", result.error)
        for problem in result.problems:
            logger.warning("%s", problem)
        for unlabelled in result.articles:
            article = with_language(unlabelled)
            digest = summarise(article, config.summariser, matcher)
            if not digest.bullets:
                logger.warning(
                    "%s: %r has no sentences to summarise; skipped", article.source, article.title
                )
                continue
            entries.append((article, digest))
    return entries


def digest_record(article: Article, digest: Digest) -> dict[str, Any]:
    return {
        "id": article.id,
        "source": article.source,
        "title": article.title,
        "url": article.url,
        "published": article.published.isoformat() if article.published else None,
        "tags": list(article.tags),
        "language": article.language,
        "topics": list(digest.topics),
        "keywords": list(digest.keywords),
        "bullets": list(digest.bullets),
        "algorithm": digest.algorithm,
    }


def _as_json(entries: Sequence[tuple[Article, Digest]]) -> str:
    records = [digest_record(article, digest) for article, digest in entries]
    return json.dumps(records, ensure_ascii=False, indent=2) + "\n"


def _as_text(entries: Sequence[tuple[Article, Digest]]) -> str:
    if not entries:
        return "No articles to show.\n"
    blocks = []
    for article, digest in entries:
        details = [article.published.strftime("%Y-%m-%d %H:%M")] if article.published else []
        details.append(article.url or Path(article.source).name)
        if digest.topics:
            details.append("topics: " + ", ".join(digest.topics))
        lines = [article.title, "  " + " · ".join(details)]
        for bullet in digest.bullets:
            lines.append(
                textwrap.fill(
                    bullet,
                    # A Chinese character takes two columns of a terminal: half as many fit.
                    width=_WRAP_COLUMNS // 2 if languages.has_han(bullet) else _WRAP_COLUMNS,
                    initial_indent="  • ",
                    subsequent_indent="    ",
                )
            )
        if digest.keywords:
            lines.append("  keywords: " + ", ".join(digest.keywords))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + f"\n\n{len(entries)} articles.\n"
