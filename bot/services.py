"""The long-lived objects the handlers and jobs share, created in post_init, kept in bot_data."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.i18n import Catalogs
from bot.ingest_pool import IngestPool
from bot.selection import ArticleTexts
from bot.throttle import Throttle
from summaries.matching import TopicMatcher
from summaries.models import Topic

if TYPE_CHECKING:
    import httpx
    from telegram.ext import ContextTypes

    from bot.config import Settings
    from bot.delivery import OutboxSender
    from bot.replicas import Coordinator
    from bot.store import AsyncStore

SERVICES_KEY = "services"


def callback_key(token: str) -> bytes:
    """The secret that signs inline-button data, derived from the token (never stored)."""
    return hmac.new(token.encode(), b"digest-bot callback data", hashlib.sha256).digest()


@dataclass
class Services:
    settings: Settings
    store: AsyncStore
    http: httpx.AsyncClient
    sender: OutboxSender | None
    callback_key: bytes
    topic_commands: dict[str, Topic]
    matcher: TopicMatcher
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    catalogs: Catalogs = field(default_factory=Catalogs.load)
    texts: ArticleTexts = field(default_factory=ArticleTexts)
    search_throttle: Throttle = field(default_factory=lambda: Throttle(6, 60.0))
    wake_delivery: asyncio.Event = field(default_factory=asyncio.Event)
    stop_delivery: asyncio.Event = field(default_factory=asyncio.Event)
    background: list[asyncio.Task[Any]] = field(default_factory=list)
    # Several replicas on PostgreSQL: who leads (None when the bot runs alone on SQLite).
    replicas: Coordinator | None = None
    # Set when the bot begins to stop: a round stops between batches (each chat's record is
    # complete; the rest are still due at the next start).
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # Source name -> its poll in progress (bot/ingest.py): one at a time per source.
    polling: dict[str, asyncio.Task[Any]] = field(default_factory=dict)
    # Serialises digest rounds: the minute job and /refresh must not build the same round twice.
    round_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Ingestion's workers (bot/ingest_pool.py), apart from the default executor commands use.
    ingest: IngestPool = field(init=False)

    def __post_init__(self) -> None:
        self.search_throttle = Throttle(self.settings.bot.search_per_user_per_minute, 60.0)
        bot = self.settings.bot
        self.ingest = IngestPool(
            bot.ingest_threads, bot.ingest_sources_at_once, processes=bot.ingest_processes
        )

    @property
    def topics(self) -> tuple[Topic, ...]:
        return self.settings.app.topics

    def topic(self, name: str) -> Topic | None:
        return self.settings.app.topic(name)

    def topic_named(self, text: str) -> Topic | None:
        """The topic `text` names: its name, its command, or a title in any language (any
        case and spacing: "Culture and arts", "/culture", "量子通信")."""
        wanted = " ".join(text.split()).casefold().lstrip("/")
        found = self.topic(wanted) or self.topic_commands.get(wanted)
        if found is not None:
            return found
        for topic in self.topics:
            titles = (topic.title, *(title for _code, title in topic.titles))
            if any(" ".join(title.split()).casefold() == wanted for title in titles):
                return topic
        return None


def get_services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    services = context.bot_data.get(SERVICES_KEY)
    if services is None:
        raise RuntimeError("services are created in post_init; the application is not running")
    return services
