"""`Store`: the synchronous storage interface; each method is one short transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy import exc as sa_exc

from bot.store import articles as article_queries
from bot.store import chats as chat_queries
from bot.store import outbox as outbox_queries
from bot.store import replicas as replica_queries
from bot.store import retention as retention_queries
from bot.store import search as search_queries
from bot.store import sources as source_queries
from bot.store.articles import ArticleText
from bot.store.engine import (
    WRITE_OPTION,
    Database,
    database_errors,
    open_database,
    translate_error,
    violated_constraint,
)
from bot.store.errors import Conflict
from bot.store.migrations import apply_migrations
from bot.store.migrations import schema_version as read_schema_version
from bot.store.schema import DELIVERY_KEY, metadata
from bot.store.search import SavedSearch
from bot.store.search_schema import index_documents
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
    check_defaults,
    check_setting_changes,
    require_aware,
    require_aware_or_none,
    require_chat_type,
    require_subscription,
)
from summaries.digest import language_of
from summaries.models import Article, Digest
from summaries.search_text import SearchHit, Term, search_document

logger = logging.getLogger(__name__)


def _now() -> datetime:
    """Bookkeeping time (created_at, updated_at); schedule times always come from the caller."""
    return datetime.now(UTC)


class Store:
    """Chats, subscriptions, articles, deliveries and the outbox, in SQLite or PostgreSQL.

    Thread-safe: every call checks a connection out of the engine's pool. Database trouble is
    raised as `StoreUnavailable` (or `StoreError`), bad arguments as `ValueError`.
    """

    def __init__(self, database: Database) -> None:
        self._db = database
        self._closed = False

    @classmethod
    def from_url(
        cls, url: str, *, busy_timeout: float = 5.0, connect_timeout: float = 5.0
    ) -> Store:
        """Open (lazily: nothing connects until the first call) the database at `url`.

        `busy_timeout`: seconds a SQLite writer waits for a lock (and a PostgreSQL caller for a
        pooled connection); `connect_timeout`: seconds to reach a PostgreSQL server.
        """
        return cls(open_database(url, busy_timeout=busy_timeout, connect_timeout=connect_timeout))

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for tools and tests; application code uses the methods."""
        return self._db.engine

    @property
    def description(self) -> str:
        """Which database this is, fit for logs and messages (never contains a password)."""
        return self._db.description

    @property
    def dialect(self) -> str:
        return self._db.kind

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        try:
            with self._db.engine.connect() as conn:
                if write:
                    conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin():
                    yield conn
        except sa_exc.IntegrityError as exc:
            message = translate_error(exc, self._db).args[0]
            raise Conflict(message, violated_constraint(exc, metadata)) from exc
        except database_errors() as exc:
            raise translate_error(exc, self._db) from exc

    def transaction(self, *, write: bool) -> AbstractContextManager[Connection]:
        """One transaction, for query modules that live beside this class (user sources)."""
        return self._transaction(write=write)

    # -- lifecycle -------------------------------------------------------------------------

    def migrate(self) -> None:
        with self._transaction(write=True) as conn:
            apply_migrations(conn, self.description)

    def schema_version(self) -> int:
        with self._transaction(write=False) as conn:
            return read_schema_version(conn)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._db.engine.dispose()

    # -- chats -----------------------------------------------------------------------------

    def ensure_chat(
        self,
        chat_id: int,
        chat_type: str,
        title: str,
        defaults: ChatDefaults,
        next_digest_at: datetime | None,
    ) -> ChatSettings:
        """Insert the chat with `defaults` if absent; if known, keep its settings, reactivate it.

        A known chat without a schedule gets `next_digest_at`; one with a schedule keeps it.
        """
        require_chat_type(chat_type)
        check_defaults(defaults)
        require_aware_or_none(next_digest_at, "next_digest_at")
        with self._transaction(write=True) as conn:
            return chat_queries.ensure_chat(
                conn, chat_id, chat_type, title, defaults, next_digest_at, _now()
            )

    def get_chat(self, chat_id: int) -> ChatSettings | None:
        with self._transaction(write=False) as conn:
            return chat_queries.get_chat(conn, chat_id)

    def update_chat(self, chat_id: int, **changes: Any) -> ChatSettings:
        """Change settings fields; an unknown key or bad value raises ValueError, an unknown
        chat `UnknownChat`."""
        check_setting_changes(changes)
        with self._transaction(write=True) as conn:
            if not changes:
                return chat_queries.require_chat(conn, chat_id)
            return chat_queries.update_chat(conn, chat_id, changes, _now())

    def update_settings(
        self,
        chat_id: int,
        changes: dict[str, Any],
        reschedule: Callable[[ChatSettings], datetime | None] | None = None,
    ) -> ChatSettings:
        """Like `update_chat`, and when `reschedule` is given, the next digest time becomes
        `reschedule(the chat with the changes)`, computed from the row as stored at this moment
        in the same transaction, so two settings commands at once cannot leave a due time
        computed from the other's stale settings."""
        check_setting_changes(changes)
        with self._transaction(write=True) as conn:
            chat = chat_queries.update_settings(conn, chat_id, changes, reschedule, _now())
        return chat

    def deactivate_chat(self, chat_id: int, reason: str) -> None:
        """Stop sending to the chat; its pending messages become "failed" with `reason`."""
        with self._transaction(write=True) as conn:
            chat_queries.deactivate_chat(conn, chat_id, reason, _now())

    def migrate_chat(self, old_id: int, new_id: int) -> None:
        """Follow a group that became a supergroup: everything moves to `new_id`.

        If `new_id` is already stored, the old chat's settings win and subscriptions and
        deliveries are merged.
        """
        if old_id == new_id:
            return
        with self._transaction(write=True) as conn:
            chat_queries.migrate_chat(conn, old_id, new_id, _now())

    def delete_chat(self, chat_id: int) -> None:
        """Forget the chat: settings, subscriptions, deliveries and outbox messages."""
        with self._transaction(write=True) as conn:
            chat_queries.delete_chat(conn, chat_id)

    def due_chats(self, now: datetime, limit: int | None = None) -> list[ChatSettings]:
        """Active, unpaused, scheduled chats with a subscription whose digest is due, oldest
        due first."""
        require_aware(now, "now")
        with self._transaction(write=False) as conn:
            return chat_queries.due_chats(conn, now, limit)

    def list_chats(self, active_only: bool = True) -> list[ChatSettings]:
        with self._transaction(write=False) as conn:
            return chat_queries.list_chats(conn, active_only)

    # -- subscriptions -----------------------------------------------------------------------

    def add_subscription(
        self, chat_id: int, sub: Subscription, *, limit: int | None = None
    ) -> bool:
        """True if added, False if the chat had it already; `UnknownChat` if no such chat;
        `SubscriptionLimitReached` if it has `limit` already (checked in the same
        transaction as the insert)."""
        require_subscription(sub)
        with self._transaction(write=True) as conn:
            return chat_queries.add_subscription(conn, chat_id, sub, _now(), limit)

    def remove_subscription(self, chat_id: int, sub: Subscription) -> bool:
        with self._transaction(write=True) as conn:
            return chat_queries.remove_subscription(conn, chat_id, sub)

    def clear_subscriptions(self, chat_id: int) -> int:
        return sum(self.clear_subscriptions_by_kind(chat_id).values())

    def clear_subscriptions_by_kind(self, chat_id: int) -> dict[str, int]:
        """Removes every subscription and followed source: how many of each kind (topic,
        keywords, source) there were."""
        with self._transaction(write=True) as conn:
            return chat_queries.clear_subscriptions(conn, chat_id)

    def list_subscriptions(self, chat_id: int) -> list[Subscription]:
        return self.subscriptions_for([chat_id])[chat_id]

    def subscriptions_for(self, chat_ids: Sequence[int]) -> dict[int, list[Subscription]]:
        """Every requested chat id maps to its subscriptions (an empty list if none)."""
        with self._transaction(write=False) as conn:
            return chat_queries.subscriptions_for(conn, chat_ids)

    # -- articles ------------------------------------------------------------------------------

    def add_articles(
        self, items: Sequence[tuple[Article, Digest]], fetched_at: datetime
    ) -> list[str]:
        """Store new articles with their digests; return the ids actually inserted.

        Text is sanitised (no NUL or control characters reach the database); an article the
        database still refuses is logged and left out, and the others are stored.
        """
        require_aware(fetched_at, "fetched_at")
        for article, digest in items:
            if digest.article_id != article.id:
                raise ValueError(
                    f"digest for {digest.article_id!r} given with article {article.id!r}"
                )
            require_aware_or_none(article.published, f"published of article {article.id}")
        # Tokenising is CPU work: done before the transaction, so no lock is held meanwhile.
        documents = {
            article.id: search_document(article.title, article.text, language_of(article))
            for article, _ in items
        }
        with self._transaction(write=True) as conn:
            inserted, _refused = article_queries.add_articles(
                conn,
                items,
                fetched_at,
                also=lambda conn, key: index_documents(conn, [(key, documents[key])]),
            )
            return inserted

    def known_article_ids(self, ids: Sequence[str]) -> set[str]:
        with self._transaction(write=False) as conn:
            return article_queries.known_article_ids(conn, ids)

    def recent_articles(self, since: datetime | None, limit: int) -> list[StoredArticle]:
        """Newest first by fetch time, then publication time; `since` bounds the fetch time."""
        require_aware_or_none(since, "since")
        with self._transaction(write=False) as conn:
            return article_queries.recent_articles(conn, since, limit)

    def get_articles(self, ids: Sequence[str]) -> list[StoredArticle]:
        """The stored articles among `ids`, in the order given; unknown ids are skipped."""
        with self._transaction(write=False) as conn:
            return article_queries.get_articles(conn, ids)

    def update_digests(self, digests: Sequence[Digest]) -> None:
        """Replace the cached digests (re-summarised with new settings)."""
        with self._transaction(write=True) as conn:
            unknown = article_queries.update_digests(conn, digests, _now())
        if unknown:
            logger.warning("update_digests: %d digests name articles not in the store", unknown)

    def stale_articles(
        self, algorithm: str, ranker_version: str, after_id: str = "", limit: int = 100
    ) -> list[StoredArticle]:
        """A page of articles (by id, after `after_id`) ranked by another algorithm or ranker
        version than the ones given; an empty list when none is left."""
        with self._transaction(write=False) as conn:
            return article_queries.stale_articles(conn, algorithm, ranker_version, after_id, limit)

    def window_article_ids(self, since: datetime) -> list[str]:
        """Ids of the articles fetched since `since`, newest first (the order of digests)."""
        require_aware(since, "since")
        with self._transaction(write=False) as conn:
            return article_queries.window_article_ids(conn, since)

    def topic_article_ids(self, topics: Sequence[str], since: datetime) -> dict[str, list[str]]:
        """For each topic, its articles fetched since `since`, newest first."""
        require_aware(since, "since")
        with self._transaction(write=False) as conn:
            return article_queries.topic_article_ids(conn, topics, since)

    def source_article_ids(self, sources: Sequence[str], since: datetime) -> dict[str, list[str]]:
        """For each source, its articles fetched since `since`, newest first."""
        require_aware(since, "since")
        with self._transaction(write=False) as conn:
            return article_queries.source_article_ids(conn, sources, since)

    def article_texts(self, ids: Sequence[str]) -> list[ArticleText]:
        """(id, title, paragraphs, language) of the stored articles among `ids`."""
        with self._transaction(write=False) as conn:
            return article_queries.article_texts(conn, ids)

    def delivered_in_window(self, chat_ids: Sequence[int], since: datetime) -> dict[int, set[str]]:
        """For each requested chat, which articles fetched since `since` it was given."""
        require_aware(since, "since")
        with self._transaction(write=False) as conn:
            return outbox_queries.delivered_in_window(conn, chat_ids, since)

    def delivered_article_ids(
        self, chat_ids: Sequence[int], article_ids: Sequence[str]
    ) -> dict[int, set[str]]:
        """For each requested chat, which of `article_ids` it was already given."""
        with self._transaction(write=False) as conn:
            return outbox_queries.delivered_article_ids(conn, chat_ids, article_ids)

    # -- search ----------------------------------------------------------------------------------

    def search_articles(
        self, terms: Sequence[Term], *, limit: int, candidates: int
    ) -> list[SearchHit]:
        """Articles holding every term (from `summaries.search_text.query_terms`: each term
        its spellings, each a phrase), best first. Only the newest `candidates` matches are
        ranked."""
        with self._transaction(write=False) as conn:
            hits = search_queries.search_articles(conn, terms, limit=limit, candidates=candidates)
            private = article_queries.user_source_article_ids(
                conn, [hit.article_id for hit in hits]
            )
            return [hit for hit in hits if hit.article_id not in private]

    def matching_article_ids(
        self,
        terms: Sequence[Term],
        since: datetime,
        source: str | None = None,
        *,
        languages: Sequence[str] = (),
        other_languages: bool = False,
    ) -> set[str]:
        """Ids of the operator's articles (or `source`'s) fetched since `since` that hold every
        term, from the full-text index (see `bot.store.search.matching_article_ids`)."""
        require_aware(since, "since")
        with self._transaction(write=False) as conn:
            return search_queries.matching_article_ids(
                conn,
                terms,
                since,
                source,
                languages=languages,
                other_languages=other_languages,
            )

    def save_search(self, chat_id: int, saved: SavedSearch, now: datetime, keep: int) -> None:
        """Remember a search's results for paging; the chat keeps its newest `keep`."""
        require_aware(now, "now")
        require_aware(saved.expires_at, "expires_at")
        with self._transaction(write=True) as conn:
            search_queries.save_search(conn, chat_id, saved, now, keep)

    def get_saved_search(self, chat_id: int, search_id: str, now: datetime) -> SavedSearch | None:
        """The chat's saved search, None when unknown or expired."""
        require_aware(now, "now")
        with self._transaction(write=False) as conn:
            return search_queries.get_saved_search(conn, chat_id, search_id, now)

    # -- outbox ----------------------------------------------------------------------------------

    def enqueue_digest(
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
        """Record deliveries, message parts and the next schedule in ONE transaction.

        `keep_schedule` leaves the stored due time alone (on-demand digests); `read_due_at`
        (the due time the caller read) moves it only if the chat is still due then.
        The parts become due for `pending_messages` at `not_before` (default `now`): a caller
        that sends them itself at once gives the background sender a grace period.
        Returns the digest id. Returns None with nothing written when any article was already
        recorded for the chat (recompute and call again), or when the chat is gone or
        inactive. With no articles and no messages it only advances the schedule (None).
        """
        require_aware(now, "now")
        require_aware_or_none(next_digest_at, "next_digest_at")
        require_aware_or_none(not_before, "not_before")
        unique_ids = list(dict.fromkeys(article_ids))
        if bool(unique_ids) != bool(messages):
            raise ValueError(
                f"enqueue_digest for chat {chat_id}: articles and messages must both be given "
                f"or both be empty (got {len(unique_ids)} articles, {len(messages)} messages)"
            )
        if not messages:
            self.advance_schedule(chat_id, next_digest_at, now, read_due_at=read_due_at)
            return None
        try:
            with self._transaction(write=True) as conn:
                return outbox_queries.enqueue_digest(
                    conn,
                    chat_id,
                    unique_ids,
                    messages,
                    link_preview,
                    now,
                    next_digest_at,
                    not_before or now,
                    keep_schedule=keep_schedule,
                    read_due_at=read_due_at,
                )
        except Conflict as exc:
            if exc.constraint == DELIVERY_KEY:
                logger.info(
                    "digest for chat %d not enqueued: an article was already given", chat_id
                )
                return None
            missing = set(unique_ids) - self.known_article_ids(unique_ids)
            if missing:
                shown = ", ".join(sorted(missing)[:5])
                raise ValueError(f"enqueue_digest: articles not in the store: {shown}") from exc
            raise

    def enqueue_digests(
        self, items: Sequence[QueuedDigest], now: datetime, *, not_before: datetime | None = None
    ) -> dict[int, int | None]:
        """`enqueue_digest` for many chats in one transaction: chat id -> digest id, or None.

        Each chat stays all or nothing: one that is gone or inactive, or was already given one
        of its articles, gets None and nothing written (an item without articles only moves
        the schedule, and also gets None). A chat may appear once per call.
        """
        require_aware(now, "now")
        require_aware_or_none(not_before, "not_before")
        for item in items:
            require_aware_or_none(item.next_digest_at, "next_digest_at")
            if bool(item.article_ids) != bool(item.messages):
                raise ValueError(
                    f"enqueue_digests for chat {item.chat_id}: articles and messages must both "
                    "be given or both be empty"
                )
        try:
            with self._transaction(write=True) as conn:
                return outbox_queries.enqueue_digests(conn, items, now, not_before or now)
        except Conflict:
            # Only a writer racing past the checks gets here: fall back to one chat at a time.
            logger.info("batched enqueue hit a conflict; recording %d chats singly", len(items))
            return {item.chat_id: self._enqueue_one(item, now, not_before) for item in items}

    def _enqueue_one(
        self, item: QueuedDigest, now: datetime, not_before: datetime | None
    ) -> int | None:
        return self.enqueue_digest(
            item.chat_id,
            item.article_ids,
            item.messages,
            item.link_preview,
            now,
            item.next_digest_at,
            not_before=not_before,
            read_due_at=item.read_due_at,
        )

    def advance_schedule(
        self,
        chat_id: int,
        next_digest_at: datetime | None,
        now: datetime,
        *,
        read_due_at: datetime | None = None,
    ) -> None:
        """Nothing to send this time: just move the chat's next digest time (only if it is
        still due at `read_due_at`, when given)."""
        require_aware(now, "now")
        require_aware_or_none(next_digest_at, "next_digest_at")
        with self._transaction(write=True) as conn:
            outbox_queries.advance_schedule(conn, chat_id, next_digest_at, now, read_due_at)

    def pending_messages(self, now: datetime, limit: int) -> list[OutboxMessage]:
        """Pending parts of active chats that may be sent at `now`, by id (a chat's parts in
        order)."""
        require_aware(now, "now")
        with self._transaction(write=False) as conn:
            return outbox_queries.pending_messages(conn, now, limit)

    def claim_messages(
        self, owner: str, now: datetime, lease_until: datetime, chat_limit: int
    ) -> list[OutboxMessage]:
        """Claim the due messages of up to `chat_limit` chats for sender `owner` until
        `lease_until` (its own earlier claims included); a chat is held by one sender at a
        time. By id (a chat's parts in order)."""
        require_aware(now, "now")
        require_aware(lease_until, "lease_until")
        with self._transaction(write=True) as conn:
            return outbox_queries.claim_messages(conn, owner, now, lease_until, chat_limit)

    def renew_claims(self, owner: str, lease_until: datetime) -> set[int]:
        require_aware(lease_until, "lease_until")
        with self._transaction(write=True) as conn:
            return outbox_queries.renew_claims(conn, owner, lease_until)

    def release_claims(self, owner: str, chat_ids: Sequence[int] | None = None) -> None:
        with self._transaction(write=True) as conn:
            outbox_queries.release_claims(conn, owner, chat_ids)

    # -- replicas ------------------------------------------------------------------------------

    def heartbeat(
        self, replica_id: str, mode: str, leader: bool, started_at: datetime, now: datetime
    ) -> None:
        """Record that replica `replica_id` is alive at `now` (and whether it leads)."""
        require_aware(now, "now")
        with self._transaction(write=True) as conn:
            replica_queries.heartbeat(conn, replica_id, mode, leader, started_at, now)

    def forget_replica(self, replica_id: str) -> None:
        with self._transaction(write=True) as conn:
            replica_queries.forget_replica(conn, replica_id)

    def list_replicas(self, since: datetime) -> list[Replica]:
        """Replicas heard from at or after `since`, the leader first (older rows are dropped)."""
        require_aware(since, "since")
        with self._transaction(write=True) as conn:
            return replica_queries.list_replicas(conn, since)

    def digest_messages(self, digest_id: int) -> list[OutboxMessage]:
        """The digest's parts still pending, in order (whatever their `not_before`)."""
        with self._transaction(write=False) as conn:
            return outbox_queries.digest_messages(conn, digest_id)

    def mark_sent(self, message_id: int, telegram_message_id: int, sent_at: datetime) -> None:
        require_aware(sent_at, "sent_at")
        with self._transaction(write=True) as conn:
            outbox_queries.mark_sent(conn, message_id, telegram_message_id, sent_at)

    def mark_sent_many(self, rows: Sequence[tuple[int, int, datetime]]) -> None:
        """Record many sends in one transaction: (message id, Telegram message id, sent at)."""
        for _, _, sent_at in rows:
            require_aware(sent_at, "sent_at")
        with self._transaction(write=True) as conn:
            outbox_queries.mark_sent_many(conn, rows)

    def mark_retry(
        self, message_id: int, not_before: datetime, error: str, *, counted: bool = True
    ) -> None:
        """Hold the message until `not_before`; a `counted` failure adds to its attempts (a
        429 is Telegram pacing us, not a failed try, and is not counted)."""
        require_aware(not_before, "not_before")
        with self._transaction(write=True) as conn:
            outbox_queries.mark_retry(conn, message_id, not_before, error, counted)

    def mark_failed(self, message_id: int, error: str) -> None:
        """Give up on a pending message (it stays counted as failed)."""
        with self._transaction(write=True) as conn:
            outbox_queries.mark_failed(conn, message_id, error)

    def count_pending(self) -> int:
        with self._transaction(write=False) as conn:
            return outbox_queries.count_pending(conn)

    # -- retention (see bot.store.retention) --------------------------------------------------

    def last_digest_before(self, cutoff: datetime) -> int | None:
        """The highest digest id created before `cutoff`; None if there is none."""
        require_aware(cutoff, "cutoff")
        with self._transaction(write=False) as conn:
            return retention_queries.last_digest_before(conn, cutoff)

    def prune_messages(self, up_to_digest: int, limit: int) -> int:
        """Delete up to `limit` sent or failed message parts of digests up to the id given."""
        with self._transaction(write=True) as conn:
            return retention_queries.prune_messages(conn, up_to_digest, limit)

    def prune_digests(self, up_to_digest: int, limit: int) -> int:
        """Delete up to `limit` digests (with their deliveries and parts) up to the id given,
        keeping any with a part still pending."""
        with self._transaction(write=True) as conn:
            return retention_queries.prune_digests(conn, up_to_digest, limit)

    def prune_articles(self, cutoff: datetime, limit: int) -> int:
        """Delete up to `limit` articles fetched before `cutoff` that no delivery names."""
        require_aware(cutoff, "cutoff")
        with self._transaction(write=True) as conn:
            return retention_queries.prune_articles(conn, cutoff, limit)

    def prune_saved_searches(self, now: datetime) -> int:
        """Delete expired saved searches; return how many."""
        require_aware(now, "now")
        with self._transaction(write=True) as conn:
            return retention_queries.prune_saved_searches(conn, now)

    # -- sources and stats -------------------------------------------------------------------

    def record_fetch(
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
        """Remember a fetch of source `name`: success resets the failure count, failure adds one.

        On success, an `etag`/`last_modified` of None keeps the stored validator.
        """
        require_aware(at, "at")
        require_aware_or_none(next_attempt_at, "next_attempt_at")
        with self._transaction(write=True) as conn:
            source_queries.record_fetch(
                conn,
                name,
                at=at,
                ok=ok,
                error=error,
                etag=etag,
                last_modified=last_modified,
                next_attempt_at=next_attempt_at,
            )

    def source_states(self) -> list[SourceState]:
        with self._transaction(write=False) as conn:
            return source_queries.source_states(conn)

    def get_source_state(self, name: str) -> SourceState | None:
        with self._transaction(write=False) as conn:
            return source_queries.get_source_state(conn, name)

    def stats(self) -> StoreStats:
        with self._transaction(write=False) as conn:
            return source_queries.stats(conn)
