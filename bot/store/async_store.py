"""`AsyncStore`: the same methods as `Store`, awaitable, each run in a worker thread.

SQLite allows one writer at a time, so its calls go through a single worker thread (writers
queue in-process instead of contending for the file lock). PostgreSQL gets a few workers, as
many as the connection pool can serve at once. Queued calls go in order of how busy the
calling chat is (`bot.ranked`), then of arrival.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from bot.ranked import RankedExecutor
from bot.store.articles import ArticleText
from bot.store.search import SavedSearch
from bot.store.sync_store import Store
from bot.store.values import (
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
from summaries.models import Article, Digest
from summaries.search_text import SearchHit, Term

P = ParamSpec("P")
R = TypeVar("R")

_POSTGRES_WORKERS = 4


class AsyncStore:
    """Await the store from the event loop without blocking it. See `Store` for the semantics."""

    def __init__(self, store: Store) -> None:
        self.store = store
        workers = 1 if store.dialect == "sqlite" else _POSTGRES_WORKERS
        # Queued calls go least busy chat first (bot.ranked): a quiet chat's command does not
        # wait behind every call of 32 flooding chats' handlers.
        self._executor = RankedExecutor(max_workers=workers, thread_name_prefix="store")
        self._closed = False

    async def _run(self, method: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(method, *args, **kwargs)
        )

    async def run(self, method: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run any blocking store call on the store's workers (for query modules beside it)."""
        return await self._run(method, *args, **kwargs)

    @property
    def description(self) -> str:
        return self.store.description

    # -- lifecycle -------------------------------------------------------------------------

    async def migrate(self) -> None:
        await self._run(self.store.migrate)

    async def schema_version(self) -> int:
        return await self._run(self.store.schema_version)

    async def close(self) -> None:
        """Finish queued calls, then close the store. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        await self._run(self.store.close)
        self._executor.shutdown(wait=False)

    # -- chats -----------------------------------------------------------------------------

    async def ensure_chat(
        self,
        chat_id: int,
        chat_type: str,
        title: str,
        defaults: ChatDefaults,
        next_digest_at: datetime | None,
    ) -> ChatSettings:
        return await self._run(
            self.store.ensure_chat, chat_id, chat_type, title, defaults, next_digest_at
        )

    async def get_chat(self, chat_id: int) -> ChatSettings | None:
        return await self._run(self.store.get_chat, chat_id)

    async def update_chat(self, chat_id: int, **changes: Any) -> ChatSettings:
        return await self._run(self.store.update_chat, chat_id, **changes)

    async def update_settings(
        self,
        chat_id: int,
        changes: dict[str, Any],
        reschedule: Callable[[ChatSettings], datetime | None] | None = None,
    ) -> ChatSettings:
        return await self._run(self.store.update_settings, chat_id, changes, reschedule)

    async def deactivate_chat(self, chat_id: int, reason: str) -> None:
        await self._run(self.store.deactivate_chat, chat_id, reason)

    async def migrate_chat(self, old_id: int, new_id: int) -> None:
        await self._run(self.store.migrate_chat, old_id, new_id)

    async def delete_chat(self, chat_id: int) -> None:
        await self._run(self.store.delete_chat, chat_id)

    async def due_chats(self, now: datetime, limit: int | None = None) -> list[ChatSettings]:
        return await self._run(self.store.due_chats, now, limit)

    async def list_chats(self, active_only: bool = True) -> list[ChatSettings]:
        return await self._run(self.store.list_chats, active_only)

    # -- subscriptions -----------------------------------------------------------------------

    async def add_subscription(
        self, chat_id: int, sub: Subscription, *, limit: int | None = None
    ) -> bool:
        return await self._run(self.store.add_subscription, chat_id, sub, limit=limit)

    async def remove_subscription(self, chat_id: int, sub: Subscription) -> bool:
        return await self._run(self.store.remove_subscription, chat_id, sub)

    async def clear_subscriptions(self, chat_id: int) -> int:
        return await self._run(self.store.clear_subscriptions, chat_id)

    async def clear_subscriptions_by_kind(self, chat_id: int) -> dict[str, int]:
        return await self._run(self.store.clear_subscriptions_by_kind, chat_id)

    async def list_subscriptions(self, chat_id: int) -> list[Subscription]:
        return await self._run(self.store.list_subscriptions, chat_id)

    async def subscriptions_for(self, chat_ids: Sequence[int]) -> dict[int, list[Subscription]]:
        return await self._run(self.store.subscriptions_for, chat_ids)

    # -- articles ------------------------------------------------------------------------------

    async def add_articles(
        self, items: Sequence[tuple[Article, Digest]], fetched_at: datetime
    ) -> list[str]:
        return await self._run(self.store.add_articles, items, fetched_at)

    async def known_article_ids(self, ids: Sequence[str]) -> set[str]:
        return await self._run(self.store.known_article_ids, ids)

    async def recent_articles(self, since: datetime | None, limit: int) -> list[StoredArticle]:
        return await self._run(self.store.recent_articles, since, limit)

    async def get_articles(self, ids: Sequence[str]) -> list[StoredArticle]:
        return await self._run(self.store.get_articles, ids)

    async def update_digests(self, digests: Sequence[Digest]) -> None:
        await self._run(self.store.update_digests, digests)

    async def stale_articles(
        self, algorithm: str, ranker_version: str, after_id: str = "", limit: int = 100
    ) -> list[StoredArticle]:
        return await self._run(
            self.store.stale_articles, algorithm, ranker_version, after_id, limit
        )

    async def window_article_ids(self, since: datetime) -> list[str]:
        return await self._run(self.store.window_article_ids, since)

    async def topic_article_ids(
        self, topics: Sequence[str], since: datetime
    ) -> dict[str, list[str]]:
        return await self._run(self.store.topic_article_ids, topics, since)

    async def source_article_ids(
        self, sources: Sequence[str], since: datetime
    ) -> dict[str, list[str]]:
        return await self._run(self.store.source_article_ids, sources, since)

    async def article_texts(self, ids: Sequence[str]) -> list[ArticleText]:
        return await self._run(self.store.article_texts, ids)

    async def delivered_in_window(
        self, chat_ids: Sequence[int], since: datetime
    ) -> dict[int, set[str]]:
        return await self._run(self.store.delivered_in_window, chat_ids, since)

    async def delivered_article_ids(
        self, chat_ids: Sequence[int], article_ids: Sequence[str]
    ) -> dict[int, set[str]]:
        return await self._run(self.store.delivered_article_ids, chat_ids, article_ids)

    # -- search ----------------------------------------------------------------------------------

    async def search_articles(
        self, terms: Sequence[Term], *, limit: int, candidates: int
    ) -> list[SearchHit]:
        return await self._run(
            self.store.search_articles, terms, limit=limit, candidates=candidates
        )

    async def matching_article_ids(
        self,
        terms: Sequence[Term],
        since: datetime,
        source: str | None = None,
        *,
        languages: Sequence[str] = (),
        other_languages: bool = False,
    ) -> set[str]:
        return await self._run(
            self.store.matching_article_ids,
            terms,
            since,
            source,
            languages=languages,
            other_languages=other_languages,
        )

    async def save_search(
        self, chat_id: int, saved: SavedSearch, now: datetime, keep: int
    ) -> None:
        await self._run(self.store.save_search, chat_id, saved, now, keep)

    async def get_saved_search(
        self, chat_id: int, search_id: str, now: datetime
    ) -> SavedSearch | None:
        return await self._run(self.store.get_saved_search, chat_id, search_id, now)

    # -- outbox ----------------------------------------------------------------------------------

    async def enqueue_digest(
        self,
        chat_id: int,
        article_ids: Sequence[str],
        messages: Sequence[str],
        link_preview: bool,
        now: datetime,
        next_digest_at: datetime | None,
        *,
        not_before: datetime | None = None,
        keep_schedule: bool = False,
        read_due_at: datetime | None = None,
    ) -> int | None:
        return await self._run(
            self.store.enqueue_digest,
            chat_id,
            article_ids,
            messages,
            link_preview,
            now,
            next_digest_at,
            not_before=not_before,
            keep_schedule=keep_schedule,
            read_due_at=read_due_at,
        )

    async def enqueue_digests(
        self, items: Sequence[QueuedDigest], now: datetime, *, not_before: datetime | None = None
    ) -> dict[int, int | None]:
        return await self._run(self.store.enqueue_digests, items, now, not_before=not_before)

    async def advance_schedule(
        self,
        chat_id: int,
        next_digest_at: datetime | None,
        now: datetime,
        *,
        read_due_at: datetime | None = None,
    ) -> None:
        await self._run(
            self.store.advance_schedule, chat_id, next_digest_at, now, read_due_at=read_due_at
        )

    async def pending_messages(self, now: datetime, limit: int) -> list[OutboxMessage]:
        return await self._run(self.store.pending_messages, now, limit)

    async def claim_messages(
        self, owner: str, now: datetime, lease_until: datetime, chat_limit: int
    ) -> list[OutboxMessage]:
        return await self._run(self.store.claim_messages, owner, now, lease_until, chat_limit)

    async def renew_claims(self, owner: str, lease_until: datetime) -> set[int]:
        return await self._run(self.store.renew_claims, owner, lease_until)

    async def release_claims(self, owner: str, chat_ids: Sequence[int] | None = None) -> None:
        await self._run(self.store.release_claims, owner, chat_ids)

    async def heartbeat(
        self, replica_id: str, mode: str, leader: bool, started_at: datetime, now: datetime
    ) -> None:
        await self._run(self.store.heartbeat, replica_id, mode, leader, started_at, now)

    async def forget_replica(self, replica_id: str) -> None:
        await self._run(self.store.forget_replica, replica_id)

    async def list_replicas(self, since: datetime) -> list[Replica]:
        return await self._run(self.store.list_replicas, since)

    async def digest_messages(self, digest_id: int) -> list[OutboxMessage]:
        return await self._run(self.store.digest_messages, digest_id)

    async def mark_sent(
        self, message_id: int, telegram_message_id: int, sent_at: datetime
    ) -> None:
        await self._run(self.store.mark_sent, message_id, telegram_message_id, sent_at)

    async def mark_sent_many(self, rows: Sequence[tuple[int, int, datetime]]) -> None:
        await self._run(self.store.mark_sent_many, rows)

    async def mark_retry(
        self, message_id: int, not_before: datetime, error: str, *, counted: bool = True
    ) -> None:
        await self._run(self.store.mark_retry, message_id, not_before, error, counted=counted)

    async def mark_failed(self, message_id: int, error: str) -> None:
        await self._run(self.store.mark_failed, message_id, error)

    async def count_pending(self) -> int:
        return await self._run(self.store.count_pending)

    # -- retention -----------------------------------------------------------------------------

    async def last_digest_before(self, cutoff: datetime) -> int | None:
        return await self._run(self.store.last_digest_before, cutoff)

    async def prune_messages(self, up_to_digest: int, limit: int) -> int:
        return await self._run(self.store.prune_messages, up_to_digest, limit)

    async def prune_digests(self, up_to_digest: int, limit: int) -> int:
        return await self._run(self.store.prune_digests, up_to_digest, limit)

    async def prune_articles(self, cutoff: datetime, limit: int) -> int:
        return await self._run(self.store.prune_articles, cutoff, limit)

    async def prune_saved_searches(self, now: datetime) -> int:
        return await self._run(self.store.prune_saved_searches, now)

    # -- sources and stats -------------------------------------------------------------------

    async def record_fetch(
        self,
        name: str,
        *,
        at: datetime,
        ok: bool,
        error: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        await self._run(
            self.store.record_fetch,
            name,
            at=at,
            ok=ok,
            error=error,
            etag=etag,
            last_modified=last_modified,
            next_attempt_at=next_attempt_at,
        )

    async def source_states(self) -> list[SourceState]:
        return await self._run(self.store.source_states)

    async def get_source_state(self, name: str) -> SourceState | None:
        return await self._run(self.store.get_source_state, name)

    async def stats(self) -> StoreStats:
        return await self._run(self.store.stats)
