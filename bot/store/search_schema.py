"""The full-text index on each engine, created (and filled from stored articles) by a migration.

SQLite: an FTS5 table over `article_search_rows`, which holds each article's index tokens
(external content: FTS5 keeps only its inverted index). Triggers keep the two in step, and the
rows go with their article (ON DELETE CASCADE), so whoever prunes articles prunes the index.
`seq` is an explicit INTEGER PRIMARY KEY because VACUUM may renumber implicit rowids.

PostgreSQL: `article_search` holds a tsvector per article (title weighted A, body D) under a
GIN index; `seq` (insertion order, so newest last) bounds how many matches are ranked, and
a BRIN index on it (migration 11) lets a search ask the GIN index about the newest rows only.

Both store tokens made by `summaries.search_text` (stemmed, Chinese segmented), so the engines
only split on spaces: SQLite's `ascii` tokenizer, PostgreSQL's `simple` configuration.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, text

from summaries import language as languages
from summaries.search_text import SearchDocument, search_document

_SQLITE_DDL = (
    """
    CREATE TABLE article_search_rows (
        seq INTEGER PRIMARY KEY,
        article_id VARCHAR(64) NOT NULL UNIQUE REFERENCES articles (id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        body TEXT NOT NULL
    )
    """,
    """
    CREATE VIRTUAL TABLE article_search USING fts5(
        title, body, content='article_search_rows', content_rowid='seq', tokenize='ascii'
    )
    """,
    """
    CREATE TRIGGER article_search_rows_insert AFTER INSERT ON article_search_rows BEGIN
        INSERT INTO article_search (rowid, title, body) VALUES (new.seq, new.title, new.body);
    END
    """,
    """
    CREATE TRIGGER article_search_rows_delete AFTER DELETE ON article_search_rows BEGIN
        INSERT INTO article_search (article_search, rowid, title, body)
        VALUES ('delete', old.seq, old.title, old.body);
    END
    """,
)

_POSTGRES_DDL = (
    """
    CREATE TABLE article_search (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        article_id VARCHAR(64) NOT NULL UNIQUE REFERENCES articles (id) ON DELETE CASCADE,
        document TSVECTOR NOT NULL
    )
    """,
    "CREATE INDEX ix_article_search_document ON article_search USING GIN (document)",
)

_SQLITE_INSERT = text(
    "INSERT INTO article_search_rows (article_id, title, body) VALUES (:id, :title, :body) "
    "ON CONFLICT (article_id) DO NOTHING"
)
_POSTGRES_INSERT = text(
    "INSERT INTO article_search (article_id, document) VALUES (:id, "
    "setweight(to_tsvector('simple', :title), 'A') || "
    "setweight(to_tsvector('simple', :body), 'D')) "
    "ON CONFLICT (article_id) DO NOTHING"
)
_BACKFILL_BATCH = 1000


def index_documents(conn: Connection, documents: Iterable[tuple[str, SearchDocument]]) -> None:
    """Add articles (already in `articles`) to the index; ones indexed already are skipped."""
    rows = [{"id": key, "title": doc.title, "body": doc.body} for key, doc in documents]
    if rows:
        sqlite = conn.dialect.name == "sqlite"
        conn.execute(_SQLITE_INSERT if sqlite else _POSTGRES_INSERT, rows)


def create_search_index(conn: Connection) -> None:
    """Migration: the engine's full-text index, filled from the articles stored so far."""
    for statement in _SQLITE_DDL if conn.dialect.name == "sqlite" else _POSTGRES_DDL:
        conn.execute(text(statement))
    for batch in _stored_articles(conn):
        index_documents(
            conn,
            (
                # Rows stored before articles kept a language get it detected, as digests do.
                (key, search_document(title, body, language or languages.detect(title + body)))
                for key, title, body, language in batch
            ),
        )


def _stored_articles(conn: Connection) -> Iterable[Sequence[tuple[str, str, str, str]]]:
    """Every stored article (id, title, body, language), oldest first so `seq` follows age."""
    after: tuple[Any, str] | None = None
    while True:
        query = "SELECT id, title, paragraphs, language, fetched_at FROM articles"
        params: dict[str, Any] = {"limit": _BACKFILL_BATCH}
        if after is not None:
            query += " WHERE fetched_at > :fetched OR (fetched_at = :fetched AND id > :id)"
            params.update(fetched=after[0], id=after[1])
        rows = conn.execute(text(query + " ORDER BY fetched_at, id LIMIT :limit"), params).all()
        if not rows:
            return
        yield [
            (row.id, row.title, "\n\n".join(json.loads(row.paragraphs)), row.language)
            for row in rows
        ]
        after = (rows[-1].fetched_at, rows[-1].id)
