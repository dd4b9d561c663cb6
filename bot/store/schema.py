"""Tables, column types and the ordered migrations that create them.

The `Table` objects describe the current schema and are what the queries use. Migration 1
creates them as they were first shipped; a later schema change adds a numbered migration (an
ALTER or a new table) and updates the tables here, copying the version-1 definitions into
`_create_v1` first so that a fresh database still replays every step.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    and_,
    false,
    insert,
    inspect,
    literal_column,
    select,
    text,
    true,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

from bot.store.search_schema import create_search_index
from summaries.models import RankedBullet


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes (tzinfo is `datetime.UTC`) out, on both engines.

    PostgreSQL keeps `timestamptz`. SQLite has no time type: the value is stored as ISO text in
    UTC of fixed width ("2026-03-02 08:00:00.000000+00:00"), so text order is time order and
    reading it back is one `fromisoformat` call (rows of 100,000 chats are read per round).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | str | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; the store needs aware")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.isoformat(sep=" ", timespec="microseconds")
        return value

    def process_result_value(
        self, value: datetime | str | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value)
            # Text without an offset is UTC (an earlier bug stored some due times so).
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
        if value.tzinfo is UTC:
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class JsonTuple(TypeDecorator[tuple[str, ...]]):
    """A tuple of strings kept as a JSON array in a text column (readable on both engines)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: tuple[str, ...] | None, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(list(value), ensure_ascii=False)

    def process_result_value(self, value: str | None, dialect: Dialect) -> tuple[str, ...] | None:
        return None if value is None else tuple(json.loads(value))


class JsonRanking(TypeDecorator[tuple[RankedBullet, ...]]):
    """A digest's ranking as a JSON array of [position, text] pairs, best first."""

    impl = Text
    cache_ok = True

    def process_bind_param(
        self, value: tuple[RankedBullet, ...] | None, dialect: Dialect
    ) -> str | None:
        if value is None:
            return None
        pairs = [[bullet.position, bullet.text] for bullet in value]
        return json.dumps(pairs, ensure_ascii=False)

    def process_result_value(
        self, value: str | None, dialect: Dialect
    ) -> tuple[RankedBullet, ...] | None:
        if value is None:
            return None
        return tuple(RankedBullet(int(position), text) for position, text in json.loads(value))


# SQLite only turns exactly "INTEGER PRIMARY KEY" into the fast rowid alias.
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("applied_at", UtcDateTime, nullable=False),
)


def _chat_columns_v1() -> list[Column[Any]]:
    """The chats table as migration 1 created it (a function: a Column belongs to one Table)."""
    return [
        Column("chat_id", BIG_ID, primary_key=True, autoincrement=False),
        Column("chat_type", String(20), nullable=False),
        Column("title", Text, nullable=False, default=""),
        Column("timezone", String(64), nullable=False),
        Column("digest_time", Time, nullable=False),
        Column("frequency", String(10), nullable=False),
        Column("weekday", SmallInteger, nullable=False),
        Column("bullets", SmallInteger, nullable=False),
        Column("link_preview", Boolean, nullable=False),
        Column("paused", Boolean, nullable=False),
        Column("active", Boolean, nullable=False),
        Column("deactivated_reason", Text),
        Column("next_digest_at", UtcDateTime),
        Column("last_digest_at", UtcDateTime),
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
    ]


chats = Table(
    "chats",
    metadata,
    *_chat_columns_v1(),
    # The language of the bot's texts ("en", "zh"); NULL until known. Migration 2.
    Column("language", String(16)),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("chat_id", BIG_ID, ForeignKey("chats.chat_id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("value", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("chat_id", "kind", "value"),
)


def _article_columns_v1() -> list[Column[Any]]:
    return [
        Column("id", String(64), primary_key=True),
        Column("source", Text, nullable=False),
        Column("title", Text, nullable=False),
        Column("url", Text),
        Column("published", UtcDateTime),
        Column("tags", JsonTuple, nullable=False),
        Column("paragraphs", JsonTuple, nullable=False),
        Column("fetched_at", UtcDateTime, nullable=False),
        Column("bullets", JsonTuple, nullable=False),
        Column("topics", JsonTuple, nullable=False),
        Column("keywords", JsonTuple, nullable=False),
        Column("algorithm", String(32), nullable=False),
        Column("digest_updated_at", UtcDateTime, nullable=False),
    ]


articles = Table(
    "articles",
    metadata,
    *_article_columns_v1(),
    # Migration 3: up to 10 shortened bullets, best first, and which ranker made them.
    Column("ranking", JsonRanking, nullable=False, server_default="[]"),
    Column("ranker_version", String(32), nullable=False, server_default=""),
    # Migration 4: the article's ISO 639-1 language code; "" for rows stored before it.
    Column("language", String(16), nullable=False, server_default=""),
)

# Migration 7: which topics each article is filed under, so that a round finds a topic's
# articles in the look-back window by index instead of scanning a global newest-N pool.
article_topics = Table(
    "article_topics",
    metadata,
    Column(
        "article_id", String(64), ForeignKey("articles.id", ondelete="CASCADE"), nullable=False
    ),
    Column("topic", String(64), nullable=False),
    Column("fetched_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("article_id", "topic"),
)

# One row per digest enqueued for a chat: the id that deliveries and outbox parts share.
chat_digests = Table(
    "chat_digests",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    Column("chat_id", BIG_ID, ForeignKey("chats.chat_id", ondelete="CASCADE"), nullable=False),
    Column("articles", Integer, nullable=False),
    Column("parts", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    sqlite_autoincrement=True,
)

# The delivery invariant lives in this primary key: (chat, article) at most once.
DELIVERY_KEY = "uq_deliveries_chat_article"
deliveries = Table(
    "deliveries",
    metadata,
    Column("chat_id", BIG_ID, ForeignKey("chats.chat_id", ondelete="CASCADE"), nullable=False),
    Column("article_id", String(64), ForeignKey("articles.id"), nullable=False),
    Column("digest_id", BIG_ID, ForeignKey("chat_digests.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("chat_id", "article_id", name=DELIVERY_KEY),
)

outbox = Table(
    "outbox",
    metadata,
    # AUTOINCREMENT so that SQLite never reuses the id of a deleted message that a sender may
    # still hold.
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    Column("digest_id", BIG_ID, ForeignKey("chat_digests.id", ondelete="CASCADE"), nullable=False),
    Column("chat_id", BIG_ID, ForeignKey("chats.chat_id", ondelete="CASCADE"), nullable=False),
    Column("part", Integer, nullable=False),
    Column("parts", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("link_preview", Boolean, nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("not_before", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("telegram_message_id", BigInteger),
    Column("last_error", Text),
    # Which sender holds the message and until when (a lease): several replicas share the
    # outbox, and a dead one's claims are taken over when the lease runs out (migration 9).
    Column("claimed_by", String(64)),
    Column("claim_until", UtcDateTime),
    sqlite_autoincrement=True,
)

# One row per running bot process (replica): its heartbeat, for /stats (migration 9).
replicas = Table(
    "replicas",
    metadata,
    Column("replica_id", String(64), primary_key=True),
    Column("mode", String(20), nullable=False),
    Column("leader", Boolean, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
)

sources = Table(
    "sources",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("last_fetch_at", UtcDateTime),
    Column("last_success_at", UtcDateTime),
    Column("last_error", Text),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("next_attempt_at", UtcDateTime),
)

# One page of results per "More" press needs the result list wherever the press lands: kept here
# (not in one process's memory), a few per chat, each for a limited time.
saved_searches = Table(
    "saved_searches",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),  # the newest is the largest
    Column("chat_id", BIG_ID, nullable=False),
    Column("search_id", String(16), nullable=False),
    Column("query", Text, nullable=False),
    Column("article_ids", JsonTuple, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    UniqueConstraint("chat_id", "search_id", name="uq_saved_searches_chat_search"),
)

# Predicates shared by partial indexes and the queries that must match them word for word
# (SQLite only uses a partial index when the query repeats its WHERE terms); constants are
# literals, not bound parameters, for the same reason.
CHAT_SCHEDULED = and_(
    chats.c.active == true(),
    chats.c.paused == false(),
    chats.c.frequency != literal_column("'off'"),
)
OUTBOX_PENDING = outbox.c.status == literal_column("'pending'")


def _chats_due_index(table: Table) -> Index:
    return Index(
        "ix_chats_due",
        table.c.next_digest_at,
        table.c.chat_id,
        sqlite_where=CHAT_SCHEDULED,
        postgresql_where=CHAT_SCHEDULED,
    )


_chats_due_index(chats)
Index("ix_articles_fetched", articles.c.fetched_at, articles.c.published)
Index("ix_article_topics_topic", article_topics.c.topic, article_topics.c.fetched_at)
Index("ix_chat_digests_chat", chat_digests.c.chat_id)
Index("ix_deliveries_digest", deliveries.c.digest_id)
# Migration 8, for retention: which deliveries name an article (also what PostgreSQL checks
# before deleting one), and digests by age.
_DELIVERIES_BY_ARTICLE = Index("ix_deliveries_article", deliveries.c.article_id)
_DIGESTS_BY_TIME = Index("ix_chat_digests_created", chat_digests.c.created_at)
Index(
    "ix_outbox_pending",
    outbox.c.id,
    outbox.c.not_before,
    sqlite_where=OUTBOX_PENDING,
    postgresql_where=OUTBOX_PENDING,
)
Index("ix_outbox_chat", outbox.c.chat_id, outbox.c.status)
Index("ix_outbox_digest", outbox.c.digest_id)
Index("ix_saved_searches_expiry", saved_searches.c.expires_at)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]


def _create_v1(conn: Connection) -> None:
    # The chats and articles tables as first shipped; later migrations add newer columns.
    chats_v1 = Table("chats", MetaData(), *_chat_columns_v1())
    _chats_due_index(chats_v1)
    chats_v1.create(conn, checkfirst=False)
    articles_v1 = Table("articles", MetaData(), *_article_columns_v1())
    Index("ix_articles_fetched", articles_v1.c.fetched_at, articles_v1.c.published)
    articles_v1.create(conn, checkfirst=False)
    tables = [subscriptions, chat_digests, deliveries, outbox, sources]
    metadata.create_all(conn, tables=tables, checkfirst=False)


def _add_outbox_claims_and_replicas(conn: Connection) -> None:
    # A fresh database got the columns from _create_v1 (which creates the tables as they are
    # now); an older one lacks them.
    present = {column["name"] for column in inspect(conn).get_columns("outbox")}
    for column in (outbox.c.claimed_by, outbox.c.claim_until):
        if column.name not in present:
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE outbox ADD COLUMN {column.name} {kind}"))
    replicas.create(conn, checkfirst=True)


def _add_chat_language(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE chats ADD COLUMN language VARCHAR(16)"))


def _add_article_language(conn: Connection) -> None:
    # Older rows get "": their language is detected from their text when it is needed.
    conn.execute(text("ALTER TABLE articles ADD COLUMN language VARCHAR(16) NOT NULL DEFAULT ''"))


def _add_rankings(conn: Connection) -> None:
    # Existing digests keep their bullets; the re-rank job fills the ranking in the background.
    conn.execute(text("ALTER TABLE articles ADD COLUMN ranking TEXT NOT NULL DEFAULT '[]'"))
    conn.execute(
        text("ALTER TABLE articles ADD COLUMN ranker_version VARCHAR(32) NOT NULL DEFAULT ''")
    )


def _create_search(conn: Connection) -> None:
    create_search_index(conn)
    metadata.create_all(conn, tables=[saved_searches], checkfirst=False)


def _add_article_topics(conn: Connection) -> None:
    metadata.create_all(conn, tables=[article_topics], checkfirst=False)
    rows = conn.execute(select(articles.c.id, articles.c.topics, articles.c.fetched_at))
    for page in iter(lambda: rows.fetchmany(5000), []):
        values = [
            {"article_id": article_id, "topic": topic, "fetched_at": fetched_at}
            for article_id, topics, fetched_at in page
            for topic in dict.fromkeys(topics)
        ]
        if values:
            conn.execute(insert(article_topics), values)


def _add_retention_indexes(conn: Connection) -> None:
    for index in (_DELIVERIES_BY_ARTICLE, _DIGESTS_BY_TIME):
        index.create(conn, checkfirst=True)  # a fresh database made them in step 1


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "chats, subscriptions, articles, outbox", _create_v1),
    Migration(2, "chats.language", _add_chat_language),
    Migration(3, "articles keep a ranking of up to 10 bullets", _add_rankings),
    Migration(4, "articles.language", _add_article_language),
    Migration(5, "full-text search index, saved searches", _create_search),
)


# -- sources that chats add themselves (issue: "Your own sources") ------------------------------

# One row per distinct URL, however many chats follow it: it is fetched once per interval.
user_sources = Table(
    "user_sources",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    Column("url", Text, nullable=False, unique=True),
    Column("kind", String(10), nullable=False),  # "feed" or "page"
    Column("title", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_fetch_at", UtcDateTime),
    Column("last_success_at", UtcDateTime),
    Column("last_error", Text),
    Column("failing_since", UtcDateTime),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("next_fetch_at", UtcDateTime, nullable=False),
    Column("paused", Boolean, nullable=False),
    # Links already seen on a followed page (kind "page"), newest first, bounded.
    Column("seen_links", JsonTuple, nullable=False),
    sqlite_autoincrement=True,
)

chat_sources = Table(
    "chat_sources",
    metadata,
    Column("chat_id", BIG_ID, ForeignKey("chats.chat_id", ondelete="CASCADE"), nullable=False),
    Column("source_id", BIG_ID, ForeignKey("user_sources.id", ondelete="CASCADE"), nullable=False),
    Column("keywords", Text, nullable=False),  # a keyword query, "" for the whole source
    Column("added_by", BigInteger),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("chat_id", "source_id"),
)

# Every /add a user makes (successful or not), for the per-user hourly cap.
source_add_attempts = Table(
    "source_add_attempts",
    metadata,
    Column("user_id", BigInteger, nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

Index("ix_user_sources_due", user_sources.c.next_fetch_at)
Index("ix_chat_sources_source", chat_sources.c.source_id)
Index("ix_source_add_attempts_user", source_add_attempts.c.user_id, source_add_attempts.c.at)


def _create_user_sources(conn: Connection) -> None:
    metadata.create_all(
        conn, tables=[user_sources, chat_sources, source_add_attempts], checkfirst=False
    )


MIGRATIONS += (Migration(6, "sources that chats add themselves", _create_user_sources),)
MIGRATIONS += (
    Migration(7, "article_topics: topic index for digest candidates", _add_article_topics),
    Migration(8, "indexes for retention", _add_retention_indexes),
    Migration(
        9,
        "outbox claims (replicas share the outbox), replica heartbeats",
        _add_outbox_claims_and_replicas,
    ),
)


def _detailed_search_statistics(conn: Connection) -> None:
    """PostgreSQL: keep statistics on 2,000 of the search column's words, not 100. With the
    default most words fall outside the sampled most common elements and the planner
    misjudges how many articles hold them (a rare word then walked the table newest first:
    p95 196 ms at 300,000 articles, 6.6 ms with this). SQLite's FTS5 needs nothing."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(text("ALTER TABLE article_search ALTER COLUMN document SET STATISTICS 2000"))
    conn.execute(text("ANALYZE article_search"))


MIGRATIONS += (
    Migration(
        10, "detailed planner statistics for the search column", _detailed_search_statistics
    ),
)


def _search_windows_index(conn: Connection) -> None:
    """PostgreSQL: a BRIN index on the search rows' insertion order, so that a window of the
    newest rows (see `bot.store.search`) costs its GIN matches inside the window only, not
    every match in the table. Rows are appended in `seq` order, so a few hundred page ranges
    summarise a million rows; autosummarize keeps new ranges summarised. SQLite needs none."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(
        text(
            "CREATE INDEX ix_article_search_seq ON article_search USING BRIN (seq) "
            "WITH (autosummarize = on)"
        )
    )


MIGRATIONS += (
    Migration(11, "a BRIN index for searching newest rows first", _search_windows_index),
)
