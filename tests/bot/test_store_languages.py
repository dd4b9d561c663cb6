"""An article's language is stored with it, so it is detected once, at ingest."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.store import Store
from summaries.models import Article, Digest

NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def test_an_articles_language_round_trips(store: Store):
    chinese = Article.create(source="zh", title="量子", paragraphs=["量子通信。"], language="zh")
    unknown = Article.create(source="x", title="Story", paragraphs=["Body."])
    store.add_articles([(a, Digest(a.id, ("B.",))) for a in (chinese, unknown)], NOW)
    stored = {s.article.id: s.article for s in store.get_articles([chinese.id, unknown.id])}
    assert stored[chinese.id] == chinese
    assert stored[unknown.id].language == ""  # stored before it was known: detected on use
