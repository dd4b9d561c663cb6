"""The bot's settings: the `bot:` section of the configuration file plus the environment.

Secrets (the token, a database URL with a password) come only from the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path

from bot.store import ChatDefaults
from bot.usersources.settings import UserSourceSettings, read_user_source_settings
from summaries.config import AppConfig, load_config
from summaries.yamlfile import ConfigError, Section

FREQUENCIES = ("hourly", "daily", "weekly", "off")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
SETUP_HELP = (
    "TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather in Telegram (/newbot), then run "
    "`export TELEGRAM_BOT_TOKEN=123456:ABC...` and start again. "
    "`python run_bot.py preview` works offline without a token."
)


@dataclass(frozen=True)
class Retention:
    """How long stored data is kept (days) and how often the pruning job runs (hours)."""

    articles_days: int = 30
    deliveries_days: int = 14
    sent_messages_days: int = 3
    every_hours: int = 6


@dataclass(frozen=True)
class BotSettings:
    database_url: str
    admins: frozenset[int]
    defaults: ChatDefaults
    digest_max_articles: int = 10
    lookback_days: int = 7
    search_page_size: int = 5
    search_per_user_per_minute: int = 6
    messages_per_second: float = 30.0
    group_messages_per_minute: int = 20
    base_url: str | None = None
    retention: Retention = Retention()
    user_sources: UserSourceSettings = field(default_factory=UserSourceSettings)
    # Several replicas (PostgreSQL only): see bot.replicas and the README.
    takeover_seconds: float = 15.0
    redis_url: str | None = None
    redis_prefix: str = "digest-bot"
    # Telegram's paid broadcasts: digests above the free 30 msg/s, charged in Stars.
    paid_broadcast: bool = False
    paid_messages_per_second: float = 1000.0
    # Ingestion's own worker processes (0: threads of the bot's process instead, `ingest_threads`
    # of them), and how many sources summarise a large batch at once.
    ingest_processes: int = 1
    ingest_threads: int = 2
    ingest_sources_at_once: int = 2

    @property
    def send_rate(self) -> float:
        """The global rate the bot paces by: paid broadcasts raise it."""
        return self.paid_messages_per_second if self.paid_broadcast else self.messages_per_second


@dataclass(frozen=True)
class Settings:
    """Everything the bot needs, loaded and checked once at start."""

    app: AppConfig
    bot: BotSettings


def load_settings(path: Path | str, environ: Mapping[str, str] | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    app = load_config(path)
    section = Section(app.document, ("bot",))
    bot = _bot_settings(section, Path(path).resolve().parent, environ)
    return Settings(app=app, bot=bot)


def _range(low: float, high: float) -> Callable[[float], str | None]:
    return lambda value: None if low <= value <= high else f"must be from {low} to {high}"


def _bot_settings(section: Section, base: Path, environ: Mapping[str, str]) -> BotSettings:
    database = section.get("database", str, "../data/digest-bot.sqlite3")
    database_url = environ.get("DATABASE_URL") or _sqlite_url(base, database)
    digest, search = section.section("digest"), section.section("search")
    delivery, telegram = section.section("delivery"), section.section("telegram")
    replicas, redis = section.section("replicas"), section.section("redis")
    ingest = section.section("ingest")
    configured_redis = redis.get("url", str, None)
    # Read even when the environment wins: an unread key is refused by reject_unknown below.
    configured_base_url = telegram.get("base_url", str, None)
    settings = BotSettings(
        database_url=database_url,
        admins=_admins(section, environ),
        defaults=_defaults(section.section("defaults")),
        digest_max_articles=digest.get("max_articles", int, 10, check=_range(1, 50)),
        lookback_days=digest.get("lookback_days", int, 7, check=_range(1, 365)),
        search_page_size=search.get("page_size", int, 5, check=_range(1, 10)),
        search_per_user_per_minute=search.get("per_user_per_minute", int, 6, check=_range(1, 600)),
        messages_per_second=delivery.get(
            "messages_per_second", float, 30.0, check=_range(0.1, 1000)
        ),
        group_messages_per_minute=delivery.get(
            "group_messages_per_minute", int, 20, check=_range(1, 600)
        ),
        base_url=bot_api_base_url(environ.get("TELEGRAM_BASE_URL") or configured_base_url),
        user_sources=read_user_source_settings(section.section("user_sources")),
        takeover_seconds=replicas.get("takeover_seconds", float, 15.0, check=_range(3, 600)),
        redis_url=environ.get("REDIS_URL") or configured_redis,
        redis_prefix=redis.get("prefix", str, "digest-bot"),
        paid_broadcast=delivery.get("paid_broadcast", bool, False),
        paid_messages_per_second=delivery.get(
            "paid_messages_per_second", float, 1000.0, check=_range(1, 1000)
        ),
        ingest_processes=ingest.get("processes", int, 1, check=_range(0, 16)),
        ingest_threads=ingest.get("threads", int, 2, check=_range(1, 16)),
        ingest_sources_at_once=ingest.get("sources_at_once", int, 2, check=_range(1, 64)),
    )
    retention = section.section("retention")
    settings = replace(settings, retention=_retention(retention, settings.lookback_days))
    for part in (section, digest, search, delivery, telegram, retention, replicas, redis, ingest):
        part.reject_unknown()
    return settings


def _retention(section: Section, lookback_days: int) -> Retention:
    """At most once needs the deliveries (and articles) of the whole look-back window."""

    def at_least_lookback(value: int) -> str | None:
        if value < lookback_days:
            return (
                f"must be at least digest.lookback_days ({lookback_days}): a chat must not be "
                "given an article of the look-back window twice"
            )
        return None if value <= 3650 else "must be at most 3650"

    defaults = Retention()
    return Retention(
        articles_days=section.get(
            "articles_days",
            int,
            max(defaults.articles_days, lookback_days),
            check=at_least_lookback,
        ),
        deliveries_days=section.get(
            "deliveries_days",
            int,
            max(defaults.deliveries_days, lookback_days),
            check=at_least_lookback,
        ),
        sent_messages_days=section.get(
            "sent_messages_days", int, defaults.sent_messages_days, check=_range(1, 3650)
        ),
        every_hours=section.get("every_hours", int, defaults.every_hours, check=_range(1, 168)),
    )


def bot_api_base_url(url: str | None) -> str | None:
    """The Bot API base URL as python-telegram-bot wants it, ending in "/bot" (the token is
    appended to it). People often write the server's address alone: the suffix is added."""
    if not url or not url.strip():
        return None
    base = url.strip().rstrip("/")
    return base if base.endswith("/bot") else base + "/bot"


def _sqlite_url(base: Path, database: str) -> str:
    if "://" in database:
        return database
    return "sqlite:///" + str((base / database).resolve())


def _admins(section: Section, environ: Mapping[str, str]) -> frozenset[int]:
    admins = set()
    for index, value in enumerate(section.get("admins", list, [])):
        if not isinstance(value, int) or isinstance(value, bool):
            raise section.document.error(
                (*section.key_path, "admins", index), f"expected a Telegram user id, got {value!r}"
            )
        admins.add(value)
    for part in environ.get("DIGEST_BOT_ADMINS", "").replace(",", " ").split():
        if not part.lstrip("-").isdigit():
            raise ConfigError(f"DIGEST_BOT_ADMINS: {part!r} is not a Telegram user id")
        admins.add(int(part))
    return frozenset(admins)


def _defaults(section: Section) -> ChatDefaults:
    from zoneinfo import available_timezones

    timezone = section.get(
        "timezone",
        str,
        "Asia/Shanghai",
        check=lambda value: None if value in available_timezones() else "unknown timezone",
    )
    at = section.get(
        "time", str, "08:00", check=lambda value: None if _TIME.match(value) else "expected HH:MM"
    )
    hours, minutes = (int(part) for part in at.split(":"))
    frequency = section.get(
        "frequency",
        str,
        "daily",
        check=lambda value: None if value in FREQUENCIES else f"one of {', '.join(FREQUENCIES)}",
    )
    weekday = section.get(
        "weekday",
        str,
        "mon",
        check=lambda value: None if value.lower()[:3] in WEEKDAYS else "a day such as mon",
    )
    defaults = ChatDefaults(
        timezone=timezone,
        digest_time=time(hours, minutes),
        frequency=frequency,
        weekday=WEEKDAYS.index(weekday.lower()[:3]),
        bullets=section.get("bullets", int, 3, check=_range(1, 10)),
        link_preview=section.get("link_preview", bool, False),
    )
    section.reject_unknown()
    return defaults
