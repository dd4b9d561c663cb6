"""Storage for the bot: one interface over SQLAlchemy Core, SQLite or PostgreSQL by URL.

`Store` is synchronous (each method one short transaction); `AsyncStore` wraps it for the event
loop. Schema changes are numbered migrations recorded in `schema_migrations`.
"""

from bot.store.async_store import AsyncStore
from bot.store.errors import (
    Conflict,
    StoreError,
    StoreUnavailable,
    SubscriptionLimitReached,
    UnknownChat,
)
from bot.store.search import SavedSearch
from bot.store.sync_store import Store
from bot.store.values import (
    CHAT_TYPES,
    FREQUENCIES,
    OUTBOX_STATUSES,
    SUBSCRIPTION_KINDS,
    ChatDefaults,
    ChatSettings,
    OutboxMessage,
    QueuedDigest,
    Replica,
    SourceState,
    StoredArticle,
    StoreStats,
    Subscription,
)

__all__ = [
    "CHAT_TYPES",
    "FREQUENCIES",
    "OUTBOX_STATUSES",
    "SUBSCRIPTION_KINDS",
    "AsyncStore",
    "ChatDefaults",
    "ChatSettings",
    "Conflict",
    "OutboxMessage",
    "Replica",
    "QueuedDigest",
    "SavedSearch",
    "SourceState",
    "Store",
    "StoreError",
    "StoreStats",
    "StoreUnavailable",
    "StoredArticle",
    "Subscription",
    "SubscriptionLimitReached",
    "UnknownChat",
]
