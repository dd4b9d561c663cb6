"""Full-text search queries and saved searches, inside the caller's transaction.

Ranking is the engine's own: FTS5's bm25() on SQLite, ts_rank() on PostgreSQL, with title
words weighted as the topic matcher weights them. To keep a query fast at millions of
articles, only the newest `candidates` articles containing every term are ranked (a common
word matches most of the store; a news reader wants the recent ones among them). FTS5 reads
its index newest first and stops; PostgreSQL's GIN index cannot, so it looks for them window
by window, newest first (`_postgres_newest_matches`).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, TextClause, bindparam, delete, select, text

from bot.store.schema import UtcDateTime, saved_searches
from summaries.matching import TITLE_WEIGHT
from summaries.search_text import SearchHit, Term

# PostgreSQL's weights are listed D, C, B, A: the body is D, the title A.
_POSTGRES_WEIGHTS = [0.1, 0.1, 0.1, 0.1 * TITLE_WEIGHT]

_SQLITE_SEARCH = text(
    """
    SELECT rows.article_id, -matches.score AS score
    FROM (
        SELECT rowid AS seq, bm25(article_search, :title_weight, 1.0) AS score
        FROM article_search WHERE article_search MATCH :match
        ORDER BY rowid DESC LIMIT :candidates
    ) AS matches
    JOIN article_search_rows AS rows ON rows.seq = matches.seq
    ORDER BY matches.score, matches.seq DESC
    LIMIT :limit
    """
)
# One window of `seq` (see `_postgres_newest_matches`): its newest `:wanted` matches, ranked.
# ts_rank's normalisation 1 divides by 1 + log(length), so long articles do not win by size.
_POSTGRES_WINDOW = """
    SELECT matches.seq, matches.article_id,
           ts_rank(CAST(:weights AS real[]), matches.document,
                   to_tsquery('simple', :match), 1) AS score
    FROM (
        SELECT seq, article_id, document FROM article_search
        WHERE seq >= :floor AND seq < :below AND {condition}
        ORDER BY seq DESC LIMIT :wanted
    ) AS matches
    """
# Walking: ts_match_vq is the function behind @@, which no index serves, so the window can
# only be walked newest first, and planning it skips the word statistics (0.1 ms, not 1.4).
_POSTGRES_WALK = text(
    _POSTGRES_WINDOW.format(condition="ts_match_vq(document, to_tsquery('simple', :match))")
)
# Asking the GIN index (with plain index scans disabled, see `_POSTGRES_SCANS`). `:every` (all
# tokens, no phrases) repeats what `:match` implies when the query has a phrase: PostgreSQL
# estimates a phrase as common as its words together; with both conditions it expects fewer
# rows. Without a phrase `:every` is '' (no condition).
_POSTGRES_ASK_INDEX = text(
    _POSTGRES_WINDOW.format(
        condition="document @@ to_tsquery('simple', :match) "
        "AND (:every = '' OR document @@ to_tsquery('simple', :every))"
    )
)
# PostgreSQL looks for the newest matches in windows of `seq` (see `_postgres_newest_matches`).
# Walking newest first reads every row of a window; the GIN index reads only the rows it
# matches (for a phrase, every row holding its words), each about as dear as 12 rows walked
# (measured at 1,000,000 articles), plus its posting lists. So walk on while at least
# _WALK_DENSITY of the rows would come back from the GIN index.
FIRST_WINDOW = 4096
_WALK_DENSITY = 0.08
_WINDOW_MARGIN = 1.5  # size the next window for this many times the matches still wanted
# psycopg prepares a statement after five runs, and PostgreSQL may then keep a generic plan
# that cannot see the query's words or window: measured at 1,000,000 articles, a rare word
# walked the table newest first (p50 690 ms) instead of asking the GIN index. So every window
# is planned for its own words and bounds (plan_cache_mode, this transaction only). The scan
# settings in force are kept, to be restored once the windows are done.
_POSTGRES_START = text(
    """
    SELECT min(seq) AS oldest, max(seq) AS newest,
           current_setting('enable_indexscan') AS walk,
           set_config('plan_cache_mode', 'force_custom_plan', true) AS plans
    FROM article_search
    """
)
# Asked to use an index for a window, the planner may still walk it newest first (expecting
# to stop early); with plain index scans off it asks the GIN index (bitmap scan).
_POSTGRES_SCANS = text("SELECT set_config('enable_indexscan', :walk, true)")
_POSTGRES_ESTIMATE = text(
    "EXPLAIN (FORMAT JSON) SELECT 1 FROM article_search "
    "WHERE document @@ to_tsquery('simple', :every)"
)


# Keyword subscriptions: every article fetched since `:since` that holds every term, unranked.
# Only ids come back, so a digest's candidates cost no article text however large the window.
_SQLITE_MATCHING = """
    SELECT rows.article_id
    FROM article_search
    JOIN article_search_rows AS rows ON rows.seq = article_search.rowid
    JOIN articles ON articles.id = rows.article_id
    WHERE article_search MATCH :match AND articles.fetched_at >= :since
    """
_POSTGRES_MATCHING = """
    SELECT matches.article_id
    FROM article_search AS matches
    JOIN articles ON articles.id = matches.article_id
    WHERE matches.document @@ to_tsquery('simple', :match)
      AND (:every = '' OR matches.document @@ to_tsquery('simple', :every))
      AND articles.fetched_at >= :since
    """
# Whose articles: the operator's sources (topics and keywords never draw from a source a chat
# added itself), or one source's.
_OPERATOR_SOURCES = " AND articles.source NOT IN (SELECT url FROM user_sources)"
_ONE_SOURCE = " AND articles.source = :source"
# Articles in these languages, or in none of them (each language's stems are its own).
_IN_LANGUAGES = " AND articles.language IN :languages"
_NOT_IN_LANGUAGES = " AND articles.language NOT IN :languages"


def _matching_statement(dialect: str, *, one_source: bool, languages: bool | None) -> TextClause:
    body = _SQLITE_MATCHING if dialect == "sqlite" else _POSTGRES_MATCHING
    body += _ONE_SOURCE if one_source else _OPERATOR_SOURCES
    if languages is not None:
        body += _IN_LANGUAGES if languages else _NOT_IN_LANGUAGES
    statement = text(body).bindparams(bindparam("since", type_=UtcDateTime()))
    if languages is not None:
        statement = statement.bindparams(bindparam("languages", expanding=True))
    return statement


@dataclass(frozen=True, slots=True)
class SavedSearch:
    """A search's ranked results, kept so that "More" can page through them later."""

    search_id: str
    query: str
    article_ids: tuple[str, ...]
    expires_at: datetime


def match_expression(terms: Sequence[Term], dialect: str, *, phrases: bool = True) -> str:
    """The engine's query syntax for "every term, in any of its spellings, each a phrase".

    Without `phrases`, a spelling's tokens need only all occur (PostgreSQL only). Tokens hold
    only letters and digits (see `summaries.search_text`), so none can be read as an
    operator; the expression is passed as a bound parameter all the same.
    """
    if dialect == "sqlite":
        spell, either, every = (lambda tokens: '"' + " ".join(tokens) + '"'), " OR ", " AND "
    else:
        joiner = " <-> " if phrases else " & "
        spell, either, every = (lambda tokens: "(" + joiner.join(tokens) + ")"), " | ", " & "
    return every.join("(" + either.join(spell(tokens) for tokens in term) + ")" for term in terms)


def _phrase_free(terms: Sequence[Term], dialect: str) -> str:
    if all(len(spelling) == 1 for term in terms for spelling in term):
        return ""
    return match_expression(terms, dialect, phrases=False)


def search_articles(
    conn: Connection,
    terms: Sequence[Term],
    *,
    limit: int,
    candidates: int,
    first_window: int = FIRST_WINDOW,
) -> list[SearchHit]:
    """Articles containing every term, best first (ties: newest first)."""
    terms = [term for term in terms if term]
    if not terms or limit <= 0:
        return []
    dialect = conn.dialect.name
    params = {
        "match": match_expression(terms, dialect),
        "every": _phrase_free(terms, dialect),
        "candidates": max(candidates, limit),
        "limit": limit,
        "title_weight": TITLE_WEIGHT,
        "weights": _POSTGRES_WEIGHTS,
    }
    if dialect == "sqlite":
        rows = conn.execute(_SQLITE_SEARCH, params)
        return [SearchHit(row.article_id, float(row.score)) for row in rows]
    matches = _postgres_newest_matches(conn, params, first_window)
    matches.sort(key=lambda row: (-row.score, -row.seq))
    return [SearchHit(row.article_id, float(row.score)) for row in matches[:limit]]


def _postgres_newest_matches(
    conn: Connection, params: dict[str, Any], first_window: int
) -> list[Row[Any]]:
    """The newest `candidates` matches with their scores, found window by window.

    Asked of the whole table at once, the planner misjudged both ways at 1,000,000 articles
    (p95 243 ms for phrases, 85 ms for mid-frequency words): it fetched every match of a word
    in 5% of the table to keep the newest 1,000, and walked the table for a phrase that the
    GIN index would have found, or decoded huge posting lists where a short walk would do.
    Here the newest `first_window` rows are walked (bounded, and enough for a common word);
    what was found sizes the next window and picks its way: walk on while the rows the GIN
    index would fetch are dense, else ask it, the BRIN index bounding it to the window (for a
    rare word, the rest of the table at once).
    """
    start = conn.execute(_POSTGRES_START).one()
    if start.newest is None:
        return []
    found: list[Row[Any]] = []
    below, width, walk, asked = start.newest + 1, first_window, True, False
    holding_words: float | None = None
    while below > start.oldest and len(found) < params["candidates"]:
        floor = max(below - width, start.oldest)
        if not walk and not asked:
            conn.execute(_POSTGRES_SCANS, {"walk": "off"})
            asked = True
        window = {"floor": floor, "below": below, "wanted": params["candidates"] - len(found)}
        statement = _POSTGRES_WALK if walk else _POSTGRES_ASK_INDEX
        found += conn.execute(statement, {**params, **window}).all()
        below, searched = floor, start.newest + 1 - floor
        walk = len(found) / searched >= _WALK_DENSITY
        if params["every"] and not walk:  # a phrase: the GIN index fetches more than matches
            if holding_words is None:
                holding_words = _estimated_share(conn, params["every"], start)
            walk = holding_words >= _WALK_DENSITY
        width = _next_width(params["candidates"] - len(found), len(found), searched)
    if asked:
        conn.execute(_POSTGRES_SCANS, {"walk": start.walk})
    return found


def _estimated_share(conn: Connection, every: str, start: Row[Any]) -> float:
    """For a phrase, the planner's estimate of the share of rows holding all its words (for
    a common word it is close; a word outside its statistics counts as rare)."""
    plan = conn.execute(_POSTGRES_ESTIMATE, {"every": every}).scalar_one()
    return float(plan[0]["Plan"]["Plan Rows"]) / (start.newest - start.oldest + 1)


def _next_width(wanted: int, found: int, searched: int) -> int:
    """How many older rows probably hold `wanted` more matches, at the density seen so far;
    with none found yet, the rest of the table (the words are rare: one GIN look-up)."""
    if found == 0:
        return sys.maxsize
    return math.ceil(wanted * searched / found * _WINDOW_MARGIN)


def matching_article_ids(
    conn: Connection,
    terms: Sequence[Term],
    since: datetime,
    source: str | None = None,
    *,
    languages: Sequence[str] = (),
    other_languages: bool = False,
) -> set[str]:
    """Ids of the articles fetched since `since` that hold every term: the operator's, or
    `source`'s when given; only those in `languages` when given, or (`other_languages`) only
    those in none of them. The index's answer for a keyword query (see
    `summaries.search_text.tokens_by_language` for when it is the exact one)."""
    terms = [term for term in terms if term]
    if not terms:
        return set()
    dialect = conn.dialect.name
    params = {
        "match": match_expression(terms, dialect),
        "every": _phrase_free(terms, dialect),
        "since": since,
    }
    if source is not None:
        params["source"] = source
    if languages:
        params["languages"] = list(languages)
    if dialect != "sqlite":
        conn.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))  # see _POSTGRES_START
    in_languages = (not other_languages) if languages else None
    statement = _matching_statement(dialect, one_source=source is not None, languages=in_languages)
    return set(conn.scalars(statement, params))


def save_search(
    conn: Connection, chat_id: int, saved: SavedSearch, now: datetime, keep: int
) -> None:
    """Keep `saved` for the chat, drop the chat's oldest beyond `keep` and everyone's expired."""
    conn.execute(delete(saved_searches).where(saved_searches.c.expires_at <= now))
    conn.execute(
        saved_searches.insert().values(
            chat_id=chat_id,
            search_id=saved.search_id,
            query=saved.query,
            article_ids=saved.article_ids,
            created_at=now,
            expires_at=saved.expires_at,
        )
    )
    newest = (
        select(saved_searches.c.id)
        .where(saved_searches.c.chat_id == chat_id)
        .order_by(saved_searches.c.id.desc())
        .limit(keep)
    )
    conn.execute(
        delete(saved_searches).where(
            saved_searches.c.chat_id == chat_id,
            saved_searches.c.id.not_in(newest.scalar_subquery()),
        )
    )


def get_saved_search(
    conn: Connection, chat_id: int, search_id: str, now: datetime
) -> SavedSearch | None:
    """The chat's saved search, or None when unknown or expired."""
    row = conn.execute(
        select(saved_searches).where(
            saved_searches.c.chat_id == chat_id,
            saved_searches.c.search_id == search_id,
            saved_searches.c.expires_at > now,
        )
    ).first()
    if row is None:
        return None
    return SavedSearch(row.search_id, row.query, row.article_ids, row.expires_at)
