"""Stored rankings: kept with each article, filled for old databases by the re-rank job."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import insert, text

from bot.store import Store
from bot.store.schema import MIGRATIONS, schema_migrations
from summaries.models import Article, Digest, RankedBullet

NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
RANKING = (RankedBullet(3, "Fourth."), RankedBullet(0, "First."), RankedBullet(7, "Eighth."))


def make_article(number: int) -> Article:
    return Article.create(
        source="feed", title=f"Story {number}", paragraphs=[f"Body {number}."], url=f"u{number}"
    )


def test_a_digest_ranking_and_ranker_version_round_trip(store: Store):
    article = make_article(1)
    digest = Digest(article.id, ("First.",), ("quantum",), ranking=RANKING, ranker_version="7")
    store.add_articles([(article, digest)], NOW)
    [stored] = store.get_articles([article.id])
    assert stored.digest == digest
    assert stored.digest.top(2) == ("First.", "Fourth.")


def test_stale_articles_are_paged_by_id_and_skip_current_ones(store: Store):
    items = []
    for number in range(5):
        article = make_article(number)
        version = "2" if number % 2 else "1"
        items.append((article, Digest(article.id, ("B.",), ranker_version=version)))
    store.add_articles(items, NOW)
    stale = sorted(article.id for article, digest in items if digest.ranker_version == "1")
    first = store.stale_articles("default", "2", "", limit=2)
    assert [s.article.id for s in first] == stale[:2]
    rest = store.stale_articles("default", "2", first[-1].article.id, limit=2)
    assert [s.article.id for s in rest] == stale[2:]
    assert len(store.stale_articles("lead", "2")) == 5  # another algorithm: all are stale


def test_articles_stored_before_rankings_migrate_with_an_empty_ranking(store_url: str):
    store = Store.from_url(store_url)
    try:
        with store.engine.begin() as conn:
            schema_migrations.create(conn)
            MIGRATIONS[0].apply(conn)
            conn.execute(insert(schema_migrations).values(version=1, name="v1", applied_at=NOW))
            conn.execute(
                text(
                    "INSERT INTO articles (id, source, title, url, published, tags, paragraphs,"
                    " fetched_at, bullets, topics, keywords, algorithm, digest_updated_at)"
                    " VALUES (:id, 's', 't', NULL, NULL, '[]', :body, :at, :bullets, :topics,"
                    " '[]', 'default', :at)"
                ),
                {
                    "id": "old",
                    "body": json.dumps(["Body."]),
                    "bullets": json.dumps(["One.", "Two."]),
                    "topics": json.dumps(["quantum"]),
                    "at": NOW if store.dialect == "postgresql" else str(NOW),
                },
            )
        store.migrate()
        [stored] = store.get_articles(["old"])
        assert stored.digest.ranking == () and stored.digest.ranker_version == ""
        assert stored.digest.top(5) == ("One.", "Two.")
        assert [s.article.id for s in store.stale_articles("default", "1")] == ["old"]
        # Migration 5 filed the old article under its topics.
        assert store.topic_article_ids(["quantum"], NOW) == {"quantum": ["old"]}
    finally:
        store.close()
