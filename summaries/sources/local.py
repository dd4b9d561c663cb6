"""Sources on disk: one file, or a folder of article files read recursively in a stable order."""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path

from summaries.sources.base import (
    DEFAULT_TIMEZONE,
    FeedValidators,
    FetchResult,
    ParseResult,
    SourceError,
    SourceSpec,
    resolve_timezone,
)
from summaries.sources.document import EXTENSION_KINDS, parse_document

logger = logging.getLogger(__name__)

ARTICLE_EXTENSIONS = frozenset(EXTENSION_KINDS)


def article_files(folder: Path) -> tuple[list[Path], list[str]]:
    """Article files under `folder` (recursive, hidden files and folders skipped), sorted by
    their path relative to it, and a warning for every sub-folder that could not be listed."""
    problems: list[str] = []

    def note(error: OSError) -> None:
        problems.append(f"{error.filename}: folder unreadable ({error.strerror}); skipped")

    found: list[Path] = []
    for directory, subdirectories, filenames in os.walk(folder, onerror=note):
        subdirectories[:] = sorted(name for name in subdirectories if not name.startswith("."))
        found.extend(
            Path(directory, name)
            for name in filenames
            if not name.startswith(".") and Path(name).suffix.lower() in ARTICLE_EXTENSIONS
        )
    found.sort(key=lambda path: path.relative_to(folder).parts)
    return found, problems


def read_file(path: Path, spec: SourceSpec) -> ParseResult:
    """Articles of one file; an unreadable file is a warning naming it, never an exception."""
    try:
        data = path.read_bytes()
    except OSError as error:
        return ParseResult(problems=(f"{path}: unreadable ({error.strerror or error}); skipped",))
    try:
        return parse_document(
            data, str(path), kind=spec.kind, filename=path.name, tz=spec.timezone
        )
    except SourceError as error:
        return ParseResult(problems=(f"{path}: {error}; skipped",))
    except Exception:
        # A parser bug on one odd file must not cost the rest of the folder.
        logger.exception("%s: parser failed", path)
        return ParseResult(problems=(f"{path}: could not be parsed (internal error); skipped",))


def read_local(spec: SourceSpec) -> FetchResult:
    """Every article of a local file or folder (see `article_files`)."""
    path = Path(spec.location).expanduser()
    try:
        resolve_timezone(spec.timezone, DEFAULT_TIMEZONE)
    except SourceError as error:
        return FetchResult(spec.name, error=str(error))
    try:
        if not path.exists():
            return FetchResult(spec.name, error=f"{path} does not exist")
        is_folder = path.is_dir()
    except OSError as error:
        return FetchResult(spec.name, error=f"{path} is not accessible ({error.strerror})")
    problems: list[str] = []
    if is_folder:
        files, problems = article_files(path)
        if not files:
            extensions = ", ".join(sorted(ARTICLE_EXTENSIONS))
            problems.append(f"{path}: folder holds no article files ({extensions})")
    else:
        files = [path]
    result = ParseResult(problems=tuple(problems))
    for file in files:
        result += read_file(file, spec)
    logger.debug("%s: %d articles from %d files", spec.name, len(result.articles), len(files))
    return limit_articles(spec, result, FeedValidators())


def limit_articles(
    spec: SourceSpec, result: ParseResult, validators: FeedValidators
) -> FetchResult:
    """The FetchResult of a parse, cut to the source's `max_articles` with a note when cut.

    Articles are tagged with the source's configured language, if it has one.
    """
    articles, problems = result.articles, result.problems
    if len(articles) > spec.max_articles:
        problems += (
            f"{spec.location}: kept the first {spec.max_articles} of {len(articles)} articles "
            "(max_articles)",
        )
        articles = articles[: spec.max_articles]
    if spec.language:
        articles = tuple(
            article if article.language else replace(article, language=spec.language)
            for article in articles
        )
    return FetchResult(spec.name, articles, problems, validators)
