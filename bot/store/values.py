"""The store's value objects and the checks applied to what callers hand in."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from summaries.models import MAX_BULLETS, MIN_BULLETS, Article, Digest

CHAT_TYPES = ("private", "group", "supergroup", "channel")
FREQUENCIES = ("hourly", "daily", "weekly", "off")
#: A source the chat added itself (value: its URL, then keywords); see bot.store.user_sources.
SOURCE_KIND = "source"
SUBSCRIPTION_KINDS = ("topic", "keywords", SOURCE_KIND)
OUTBOX_STATUSES = ("pending", "sent", "failed")


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """One chat as stored: who it is, when and how it gets digests. Times are aware UTC."""

    chat_id: int
    chat_type: str
    title: str
    timezone: str
    digest_time: time
    frequency: str
    weekday: int
    bullets: int
    link_preview: bool
    paused: bool
    active: bool
    next_digest_at: datetime | None
    last_digest_at: datetime | None
    created_at: datetime
    language: str | None = None  # None: not chosen yet (the user's Telegram language applies)


@dataclass(frozen=True, slots=True)
class ChatDefaults:
    """The settings a chat starts with (from configuration)."""

    timezone: str = "Asia/Shanghai"
    digest_time: time = time(8, 0)
    frequency: str = "daily"
    weekday: int = 0
    bullets: int = 3
    link_preview: bool = False


@dataclass(frozen=True, slots=True)
class Subscription:
    """A chat's interest: a configured topic by name, a normalised keyword query, or a source
    the chat added itself (its URL, then its keywords; `title` is the source's, for readers:
    it plays no part in equality)."""

    kind: str
    value: str
    title: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class StoredArticle:
    article: Article
    digest: Digest
    fetched_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One message part waiting to be sent; `part` counts from 1 up to `parts`."""

    id: int
    chat_id: int
    digest_id: int
    part: int
    parts: int
    text: str
    link_preview: bool
    attempts: int


@dataclass(frozen=True, slots=True)
class Replica:
    """One running bot process as its heartbeat row shows it."""

    replica_id: str
    mode: str
    leader: bool
    started_at: datetime
    heartbeat_at: datetime


@dataclass(frozen=True, slots=True)
class QueuedDigest:
    """One chat's digest for `enqueue_digests`: no articles means only the schedule moves."""

    chat_id: int
    article_ids: tuple[str, ...]
    messages: tuple[str, ...]
    link_preview: bool
    next_digest_at: datetime | None
    # The due time the round read. When given, `next_digest_at` is written only if the chat
    # is still due then: a settings command between the read and the write has the last word.
    read_due_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SourceState:
    name: str
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    etag: str | None
    last_modified: str | None
    next_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoreStats:
    chats_total: int
    chats_active: int
    subscriptions: int
    articles: int
    deliveries: int
    outbox_pending: int
    outbox_sent: int
    outbox_failed: int


def require_aware(value: datetime, name: str) -> datetime:
    """Refuse naive datetimes: the store keeps every instant as UTC and cannot guess a zone."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value


def require_aware_or_none(value: datetime | None, name: str) -> datetime | None:
    return None if value is None else require_aware(value, name)


def require_subscription(sub: Subscription) -> Subscription:
    if sub.kind not in SUBSCRIPTION_KINDS:
        raise ValueError(
            f"subscription kind must be one of {SUBSCRIPTION_KINDS}, got {sub.kind!r}"
        )
    if not sub.value.strip():
        raise ValueError("subscription value must not be empty")
    return sub


def require_chat_type(chat_type: str) -> str:
    if chat_type not in CHAT_TYPES:
        raise ValueError(f"chat_type must be one of {CHAT_TYPES}, got {chat_type!r}")
    return chat_type


def _check_timezone(value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"timezone must be an IANA name like 'Asia/Shanghai', got {value!r}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {value!r} (expected e.g. 'Europe/Berlin')") from None


def _check_digest_time(value: Any) -> None:
    if not isinstance(value, time) or value.tzinfo is not None:
        raise ValueError(f"digest_time must be a naive datetime.time (local time), got {value!r}")


def _check_frequency(value: Any) -> None:
    if value not in FREQUENCIES:
        raise ValueError(f"frequency must be one of {FREQUENCIES}, got {value!r}")


def _check_int_range(name: str, low: int, high: int) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name} must be an integer from {low} to {high}, got {value!r}")

    return check


def _check_bool(name: str) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False, got {value!r}")

    return check


def _check_next_digest_at(value: Any) -> None:
    if value is not None:
        require_aware(value, "next_digest_at")


def _check_language(value: Any) -> None:
    if value is not None and not (isinstance(value, str) and re.fullmatch(r"[a-z]{2,8}", value)):
        raise ValueError(f"language must be a code like 'en' or 'zh', got {value!r}")


def _check_title(value: Any) -> None:
    if not isinstance(value, str):
        raise TypeError(f"title must be a string, got {value!r}")


# The settings update_chat may change, each with its check.
SETTING_CHECKS: Mapping[str, Callable[[Any], None]] = {
    "timezone": _check_timezone,
    "digest_time": _check_digest_time,
    "frequency": _check_frequency,
    "weekday": _check_int_range("weekday", 0, 6),
    "bullets": _check_int_range("bullets", MIN_BULLETS, MAX_BULLETS),
    "link_preview": _check_bool("link_preview"),
    "paused": _check_bool("paused"),
    "next_digest_at": _check_next_digest_at,
    "title": _check_title,
    "language": _check_language,
}


def check_setting_changes(changes: Mapping[str, Any]) -> None:
    """Raise ValueError (TypeError for a wrong type) naming the first unknown key or bad value."""
    for key, value in changes.items():
        check = SETTING_CHECKS.get(key)
        if check is None:
            allowed = ", ".join(sorted(SETTING_CHECKS))
            raise ValueError(f"update_chat cannot change {key!r}; allowed: {allowed}")
        check(value)


def check_defaults(defaults: ChatDefaults) -> None:
    check_setting_changes(
        {
            "timezone": defaults.timezone,
            "digest_time": defaults.digest_time,
            "frequency": defaults.frequency,
            "weekday": defaults.weekday,
            "bullets": defaults.bullets,
            "link_preview": defaults.link_preview,
        }
    )
