"""The summariser's part of the configuration: sources, topics and summariser settings.

The YAML file is read once, checked, and turned into frozen objects. The bot reads its own
`bot:` section from the same document (see `bot.config`), so a deployment has one file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import available_timezones

from summaries import language as languages
from summaries.models import ALGORITHMS, MAX_BULLETS, MIN_BULLETS, SummariserSettings, Topic
from summaries.sources import KINDS as SOURCE_KINDS
from summaries.sources import SourceSpec
from summaries.yamlfile import ConfigError, Section, YamlDocument, load_yaml

__all__ = ["AppConfig", "ConfigError", "DEFAULT_CONFIG_PATH", "load_config"]

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "config" / "config.yaml"
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
_TOPIC_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class AppConfig:
    path: Path
    summariser: SummariserSettings
    sources: tuple[SourceSpec, ...]
    topics: tuple[Topic, ...]
    document: YamlDocument

    def topic(self, name: str) -> Topic | None:
        wanted = name.strip().casefold()
        return next((topic for topic in self.topics if topic.name == wanted), None)


def load_config(path: Path | str = DEFAULT_CONFIG_PATH) -> AppConfig:
    document = load_yaml(Path(path))
    root = Section(document)
    config = AppConfig(
        path=Path(path),
        summariser=_summariser(root.section("summariser")),
        sources=_sources(root, Path(path).resolve().parent),
        topics=_topics(root),
        document=document,
    )
    root.section("bot")  # read by bot.config; known here so it is not refused as unknown
    root.reject_unknown()
    return config


def _in_range(low: int, high: int) -> Callable[[int], str | None]:
    return lambda value: None if low <= value <= high else f"must be from {low} to {high}"


def _summariser(section: Section) -> SummariserSettings:
    defaults = SummariserSettings()
    algorithm = section.get(
        "algorithm",
        str,
        defaults.algorithm,
        check=lambda value: (
            None
            if value in ALGORITHMS
            else f"unknown algorithm {value!r}; choose one of {', '.join(ALGORITHMS)}"
        ),
    )
    settings = SummariserSettings(
        bullets=section.get(
            "bullets", int, defaults.bullets, check=_in_range(MIN_BULLETS, MAX_BULLETS)
        ),
        algorithm=algorithm,
        max_bullet_chars=section.get(
            "max_bullet_chars", int, defaults.max_bullet_chars, check=_in_range(60, 1000)
        ),
        keywords=section.get("keywords", int, defaults.keywords, check=_in_range(0, 20)),
    )
    section.reject_unknown()
    return settings


def _check_timezone(value: str) -> str | None:
    return None if value in available_timezones() else f"unknown timezone {value!r}"


def _check_language(value: str) -> str | None:
    if value.strip().lower() == "auto":
        return None
    try:
        languages.parse(value)
    except ValueError as error:
        return str(error)
    return None


def _source_language(value: str) -> str | None:
    """None for "auto" (each article's language is detected), else the ISO 639-1 code."""
    return None if value.strip().lower() == "auto" else languages.parse(value)


def _sources(root: Section, base: Path) -> tuple[SourceSpec, ...]:
    specs: list[SourceSpec] = []
    for section in root.items("sources"):
        location = section.get("location", str)
        if "://" not in location:
            location = str((base / location).resolve())
        spec = SourceSpec(
            name=section.get("name", str),
            location=location,
            kind=section.get(
                "kind",
                str,
                "auto",
                check=lambda value: (
                    None
                    if value in SOURCE_KINDS
                    else f"unknown kind {value!r}; choose one of {', '.join(SOURCE_KINDS)}"
                ),
            ),
            interval_minutes=section.get(
                "interval_minutes", int, 30, check=_in_range(1, 7 * 24 * 60)
            ),
            fetch_full_text=section.get("fetch_full_text", bool, False),
            timezone=section.get("timezone", str, None, check=_check_timezone),
            max_articles=section.get("max_articles", int, 200, check=_in_range(1, 10_000)),
            language=_source_language(section.get("language", str, "auto", check=_check_language)),
        )
        section.reject_unknown()
        if any(existing.name == spec.name for existing in specs):
            raise section.error("name", f"two sources are named {spec.name!r}; names must differ")
        specs.append(spec)
    return tuple(specs)


def _check_topic_name(value: str) -> str | None:
    if _TOPIC_NAME.match(value):
        return None
    return "a topic name is 1-32 lowercase letters, digits, - or _, starting with a letter"


def _per_language(section: Section, key: str) -> tuple[tuple[str, str], ...]:
    """`titles: {zh: 量子通信}`: a text per language code (lowercase, as /language names it)."""
    texts = section.get(key, dict, {})
    found: list[tuple[str, str]] = []
    for code, text in texts.items():
        if not isinstance(code, str) or not _LANGUAGE_CODE.match(code.strip().lower()):
            raise section.error(key, f"{code!r} is not a language code such as zh or de")
        if not isinstance(text, str) or not text.strip():
            raise section.error(key, f"the text for {code!r} must be non-empty text")
        found.append((code.strip().lower(), " ".join(text.split())))
    return tuple(found)


def _topics(root: Section) -> tuple[Topic, ...]:
    topics: list[Topic] = []
    for section in root.items("topics"):
        name = section.get("name", str, check=_check_topic_name)
        keywords = section.get("keywords", list)
        for index, keyword in enumerate(keywords):
            if not isinstance(keyword, str) or not keyword.strip():
                raise section.document.error(
                    (*section.key_path, "keywords", index), "each keyword must be non-empty text"
                )
        if not keywords:
            raise section.error("keywords", "a topic needs at least one keyword or phrase")
        topic = Topic(
            name=name,
            title=section.get("title", str, name.replace("-", " ").replace("_", " ").title()),
            description=section.get("description", str, ""),
            keywords=tuple(keyword.strip() for keyword in keywords),
            titles=_per_language(section, "titles"),
            descriptions=_per_language(section, "descriptions"),
        )
        section.reject_unknown()
        if any(existing.name == topic.name for existing in topics):
            raise section.error("name", f"two topics are named {topic.name!r}; names must differ")
        topics.append(topic)
    return tuple(topics)
