"""Queries about articles and their cached digests, inside the caller's transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    bindparam,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy import exc as sa_exc

from bot.store.engine import chunked, insert_ignore, one_of
from bot.store.schema import article_topics, articles, user_sources
from bot.store.values import StoredArticle
from summaries.models import Article, Digest
from summaries.sanitize import sanitize_optional, sanitize_text

logger = logging.getLogger(__name__)

_IN_CHUNK = 500
# (id, title, paragraphs, language): what keyword matching needs of an article.
ArticleText = tuple[str, str, tuple[str, ...], str]


def _clean(texts: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sanitize_text(text) for text in texts)


def _article_row(article: Article, digest: Digest, fetched_at: datetime) -> dict[str, Any]:
    """The row to insert. Text is sanitised again here, whoever built the article: one NUL
    would make PostgreSQL refuse the row."""
    return {
        "id": article.id,
        "source": sanitize_text(article.source),
        "title": sanitize_text(article.title),
        "url": sanitize_optional(article.url),
        "published": article.published,
        "tags": _clean(article.tags),
        "paragraphs": _clean(article.paragraphs),
        "language": article.language,
        "fetched_at": fetched_at,
        **_digest_values(digest, fetched_at),
        "bullets": _clean(digest.bullets),
        "topics": _clean(digest.topics),
        "keywords": _clean(digest.keywords),
    }


def _digest_values(digest: Digest, now: datetime) -> dict[str, Any]:
    return {
        "bullets": digest.bullets,
        "topics": digest.topics,
        "keywords": digest.keywords,
        "algorithm": digest.algorithm,
        "ranking": digest.ranking,
        "ranker_version": digest.ranker_version,
        "digest_updated_at": now,
    }


def stored_from_row(row: Row[Any]) -> StoredArticle:
    article = Article(
        id=row.id,
        source=row.source,
        title=row.title,
        paragraphs=row.paragraphs,
        url=row.url,
        published=row.published,
        tags=row.tags,
        language=row.language,
    )
    digest = Digest(
        article_id=row.id,
        bullets=row.bullets,
        topics=row.topics,
        keywords=row.keywords,
        algorithm=row.algorithm,
        ranking=row.ranking,
        ranker_version=row.ranker_version,
    )
    return StoredArticle(article=article, digest=digest, fetched_at=row.fetched_at)


def known_article_ids(conn: Connection, ids: Sequence[str]) -> set[str]:
    known: set[str] = set()
    for chunk in chunked(list(dict.fromkeys(ids)), _IN_CHUNK):
        known.update(conn.scalars(select(articles.c.id).where(articles.c.id.in_(chunk))))
    return known


def add_articles(
    conn: Connection,
    items: Sequence[tuple[Article, Digest]],
    fetched_at: datetime,
    also: Callable[[Connection, str], None] = lambda _conn, _id: None,
) -> tuple[list[str], dict[str, str]]:
    """Insert the articles not stored yet (first copy wins), each with `also` (its search
    index entry) in a savepoint: a row the database refuses costs only itself.

    Returns the ids inserted, in input order, and why each refused one was refused.
    """
    fresh: dict[str, tuple[Article, Digest]] = {}
    for article, digest in items:
        fresh.setdefault(article.id, (article, digest))
    known = known_article_ids(conn, list(fresh))
    inserted: list[str] = []
    refused: dict[str, str] = {}
    for article_id, (article, digest) in fresh.items():
        if article_id in known:
            continue
        row = _article_row(article, digest, fetched_at)
        # Row by row so that a concurrent writer's copy is skipped, not reported as ours.
        statement = insert_ignore(conn, articles, ["id"]).values(**row).returning(articles.c.id)
        try:
            with conn.begin_nested():
                if conn.execute(statement).first() is not None:
                    _index_topics(conn, [(article_id, digest.topics, fetched_at)])
                    also(conn, article_id)
                    inserted.append(article_id)
        except _ROW_ERRORS as exc:
            refused[article_id] = _first_line(exc)
            logger.warning(
                "article %s (%r from %s) refused by the database: %s",
                article_id,
                row["title"][:60],
                row["source"],
                refused[article_id],
            )
    return inserted, refused


# What one row's values can cause; a lost connection still fails the whole call.
_ROW_ERRORS = (sa_exc.DataError, sa_exc.IntegrityError)


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip()
    return text.splitlines()[0] if text else type(original).__name__


def _index_topics(
    conn: Connection, items: Sequence[tuple[str, tuple[str, ...], datetime]]
) -> None:
    """File (article id, topics, fetched_at) under their topics in `article_topics`."""
    rows = [
        {"article_id": article_id, "topic": topic, "fetched_at": fetched_at}
        for article_id, topics, fetched_at in items
        for topic in dict.fromkeys(topics)
    ]
    if rows:
        conn.execute(insert(article_topics), rows)


# The order digests list articles in: newest fetch first, then newest publication.
NEWEST_FIRST = (
    articles.c.fetched_at.desc(),
    articles.c.published.desc().nulls_last(),
    articles.c.id,
)


def recent_articles(conn: Connection, since: datetime | None, limit: int) -> list[StoredArticle]:
    query = select(articles).order_by(*NEWEST_FIRST).limit(limit)
    if since is not None:
        query = query.where(articles.c.fetched_at >= since)
    return [stored_from_row(row) for row in conn.execute(query)]


def get_articles(conn: Connection, ids: Sequence[str]) -> list[StoredArticle]:
    """The stored articles among `ids`, in the order asked; unknown ids are left out."""
    found: dict[str, StoredArticle] = {}
    for chunk in chunked(list(dict.fromkeys(ids)), _IN_CHUNK):
        for row in conn.execute(select(articles).where(one_of(conn, articles.c.id, chunk))):
            found[row.id] = stored_from_row(row)
    return [found[article_id] for article_id in dict.fromkeys(ids) if article_id in found]


def update_digests(conn: Connection, digests: Sequence[Digest], now: datetime) -> int:
    """Replace cached digests; return how many articles were unknown (and so not updated)."""
    if not digests:
        return 0
    statement = (
        update(articles)
        .where(articles.c.id == bindparam("target_id"))
        .values(
            bullets=bindparam("bullets"),
            topics=bindparam("topics"),
            keywords=bindparam("keywords"),
            algorithm=bindparam("algorithm"),
            ranking=bindparam("ranking"),
            ranker_version=bindparam("ranker_version"),
            digest_updated_at=bindparam("digest_updated_at"),
        )
    )
    latest = {digest.article_id: digest for digest in digests}  # the last one given wins
    known = known_article_ids(conn, list(latest))
    rows = [
        {"target_id": article_id, **_digest_values(digest, now)}
        for article_id, digest in latest.items()
        if article_id in known
    ]
    if rows:
        conn.execute(statement, rows)
        _reindex_topics(conn, [latest[row["target_id"]] for row in rows])
    return len(latest) - len(known)


def _reindex_topics(conn: Connection, digests: Sequence[Digest]) -> None:
    ids = [digest.article_id for digest in digests]
    fetched: dict[str, datetime] = {}
    for chunk in chunked(ids, _IN_CHUNK):
        conn.execute(delete(article_topics).where(article_topics.c.article_id.in_(chunk)))
        query = select(articles.c.id, articles.c.fetched_at).where(articles.c.id.in_(chunk))
        fetched.update((row.id, row.fetched_at) for row in conn.execute(query))
    _index_topics(conn, [(d.article_id, d.topics, fetched[d.article_id]) for d in digests])


def operator_articles() -> ColumnElement[bool]:
    """Articles of the operator's sources: a source a chat added itself is its followers'
    alone, so topics, keywords and search never draw from it (only `source` subscriptions)."""
    return articles.c.source.not_in(select(user_sources.c.url).scalar_subquery())


def window_article_ids(conn: Connection, since: datetime) -> list[str]:
    """Ids of the operator's articles fetched since `since`, newest first (digest order)."""
    query = (
        select(articles.c.id)
        .where(articles.c.fetched_at >= since, operator_articles())
        .order_by(*NEWEST_FIRST)
    )
    return list(conn.scalars(query))


def topic_article_ids(
    conn: Connection, topics: Sequence[str], since: datetime
) -> dict[str, list[str]]:
    """For each topic, the ids of its articles fetched since `since`, newest first."""
    found: dict[str, list[str]] = {topic: [] for topic in topics}
    for chunk in chunked(list(found), _IN_CHUNK):
        query = (
            select(article_topics.c.topic, articles.c.id)
            .join(articles, articles.c.id == article_topics.c.article_id)
            .where(
                article_topics.c.topic.in_(chunk),
                article_topics.c.fetched_at >= since,
                operator_articles(),
            )
            .order_by(*NEWEST_FIRST)
        )
        for topic, article_id in conn.execute(query):
            found[topic].append(article_id)
    return found


def user_source_article_ids(conn: Connection, ids: Sequence[str]) -> set[str]:
    """Which of `ids` come from sources chats added themselves (kept out of search)."""
    found: set[str] = set()
    for chunk in chunked(list(ids), _IN_CHUNK):
        query = select(articles.c.id).where(
            articles.c.id.in_(chunk), articles.c.source.in_(select(user_sources.c.url))
        )
        found.update(conn.scalars(query))
    return found


def source_article_ids(
    conn: Connection, sources: Sequence[str], since: datetime
) -> dict[str, list[str]]:
    """For each source (URL or path), its articles fetched since `since`, newest first."""
    found: dict[str, list[str]] = {source: [] for source in sources}
    for chunk in chunked(list(found), _IN_CHUNK):
        query = (
            select(articles.c.source, articles.c.id)
            .where(articles.c.source.in_(chunk), articles.c.fetched_at >= since)
            .order_by(*NEWEST_FIRST)
        )
        for source, article_id in conn.execute(query):
            found[source].append(article_id)
    return found


def article_texts(conn: Connection, ids: Sequence[str]) -> list[ArticleText]:
    """(id, title, paragraphs, language) of the stored articles among `ids`, for matching."""
    texts: list[ArticleText] = []
    columns = (articles.c.id, articles.c.title, articles.c.paragraphs, articles.c.language)
    for chunk in chunked(list(dict.fromkeys(ids)), _IN_CHUNK):
        query = select(*columns).where(articles.c.id.in_(chunk))
        texts.extend(
            (row.id, row.title, row.paragraphs, row.language) for row in conn.execute(query)
        )
    return texts


def stale_articles(
    conn: Connection, algorithm: str, ranker_version: str, after_id: str, limit: int
) -> list[StoredArticle]:
    """Up to `limit` articles, by id after `after_id`, whose ranking another algorithm or
    ranker version made: the re-rank job walks the table with these pages."""
    query = (
        select(articles)
        .where(
            articles.c.id > after_id,
            or_(articles.c.algorithm != algorithm, articles.c.ranker_version != ranker_version),
        )
        .order_by(articles.c.id)
        .limit(limit)
    )
    return [stored_from_row(row) for row in conn.execute(query)]
