"""One bad item never costs the others: text is cleaned before it is stored (issue 8 #11)."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bot.config import load_settings
from bot.handlers.admin import _source_line
from bot.i18n import Catalogs
from bot.ingest import ingest_due
from bot.services import Services, callback_key
from bot.store import AsyncStore, SourceState, Store
from summaries.matching import TopicMatcher
from summaries.models import Article, Digest

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def raw_article(key: str, title: str, body: str) -> tuple[Article, Digest]:
    """Built directly, as a caller that skips `Article.create` (and its cleaning) would."""
    article = Article(key, "feed\x00", title, (body,), url=f"https://x.example/{key}")
    return article, Digest(key, (body,), keywords=("k\x00",))


def test_a_nul_in_one_article_loses_nothing(store: Store) -> None:
    items = [
        raw_article("a1", "Fine", "Plain text."),
        raw_article("a2", "NUL\x00 in the title", "And\x00 in the body\u202e."),
        raw_article("a3", "Also fine", "More text."),
    ]
    assert store.add_articles(items, NOW) == ["a1", "a2", "a3"]
    stored = {s.article.id: s for s in store.get_articles(["a1", "a2", "a3"])}
    assert stored["a2"].article.title == "NUL in the title"
    assert stored["a2"].article.paragraphs == ("And in the body.",)
    assert stored["a2"].article.source == "feed"
    assert stored["a2"].digest.keywords == ("k",)


def test_a_row_the_database_refuses_costs_only_itself(store: Store) -> None:
    # An id longer than the column: PostgreSQL refuses it (SQLite, typeless, does not).
    long_id = "x" * 100
    items = [raw_article("b1", "One", "One."), raw_article(long_id, "Two", "Two.")]
    items.append(raw_article("b3", "Three", "Three."))
    inserted = store.add_articles(items, NOW)
    assert {"b1", "b3"} <= set(inserted)
    assert store.known_article_ids(["b1", "b3"]) == {"b1", "b3"}
    if store.dialect == "postgresql":
        assert long_id not in inserted


async def test_a_source_with_a_nul_keeps_all_its_articles(store_url: str, tmp_path: Path) -> None:
    news = tmp_path / "news"
    news.mkdir()
    for name, text in {
        "one.txt": "Quantum network opens\n\nThe quantum network links nine cities today.\n",
        "two.txt": "Museum\x00 opens\n\nThe museum\x00 shows paintings from six centuries.\n",
        "three.txt": "Rocket factory\n\nA launch vehicle factory opened in Songjiang.\n",
    }.items():
        (news / name).write_text(text, encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            sources:
              - {{name: local, location: {news}, kind: text}}
            topics:
              - {{name: culture, keywords: [museum]}}
            bot:
              database: bot.sqlite3
            """
        ),
        encoding="utf-8",
    )
    settings = load_settings(config, environ={})
    store = Store.from_url(store_url)
    store.migrate()
    async_store = AsyncStore(store)
    try:
        async with httpx.AsyncClient() as http:
            services = Services(
                settings=settings,
                store=async_store,
                http=http,
                sender=None,
                callback_key=callback_key("x"),
                topic_commands={},
                matcher=TopicMatcher(settings.app.topics),
            )
            (report,) = await ingest_due(services, NOW)
        assert (report.added, report.error) == (3, None)
        titles = {s.article.title for s in await async_store.recent_articles(None, 10)}
        assert "Museum opens" in titles
        (state,) = await async_store.source_states()
        assert state.last_error is None and state.consecutive_failures == 0
    finally:
        await async_store.close()


def test_stats_show_a_problem_of_a_healthy_source() -> None:
    state = SourceState(
        "feed", NOW, NOW, "1 new items refused by the database ('x')", 0, None, None, None
    )
    english = Catalogs.load().get("en")
    assert "problem: 1 new items refused" in _source_line(state, english)
    assert "failing" not in _source_line(state, english)


BAD_FEED = (
    (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>m</title>'
        "<item><title>\u91cf\u5b50\u901a\u4fe1\u7f51\u7edc\u5728\u4e0a\u6d77\u5f00\u901a</title>"
        "<link>https://m.example/1</link><description>\u4e0a\u6d77\u7684\u91cf\u5b50\u901a\u4fe1"
        "\u7f51\u7edc\u4eca\u5929\u6b63\u5f0f\u5f00\u901a\u3002</description></item>"
        "<item><title>Stra\u00dfenbahn f\u00e4hrt \u00fcber die Br\u00fccke</title>"
        "<link>https://m.example/2</link>"
        "<description>Die Stra\u00dfenbahn f\u00e4hrt \u00fcber die "
        "neue Br\u00fccke nach S\u00fcden.</description></item>"
        "<item><title>One stray byte here</title><link>https://m.example/3</link>"
        "<description>An otherwise fine museum item.</description></item>"
        "<item><title>Lone surrogate &#xD800; here</title><link>https://m.example/4</link>"
        "<description>Market tower &#55296; rises over the museum.</description></item>"
        "</channel></rss>"
    )
    .encode()
    .replace(b"One stray byte", b"One stray \xff byte")
)


async def test_a_feed_with_a_stray_byte_and_a_surrogate_reference_keeps_every_item(
    store_url: str, tmp_path: Path
) -> None:
    def serve(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Type": "application/rss+xml; charset=utf-8"}
        return httpx.Response(200, content=BAD_FEED, headers=headers)

    config = tmp_path / "config.yaml"
    config.write_text(
        textwrap.dedent(
            """\
            sources:
              - {name: mixed, location: "https://m.example/feed.xml", kind: feed}
            topics:
              - {name: culture, keywords: [museum]}
            bot:
              database: bot.sqlite3
            """
        ),
        encoding="utf-8",
    )
    settings = load_settings(config, environ={})
    store = Store.from_url(store_url)
    store.migrate()
    async_store = AsyncStore(store)
    try:
        async with httpx.AsyncClient(transport=httpx.MockTransport(serve)) as http:
            services = Services(
                settings=settings,
                store=async_store,
                http=http,
                sender=None,
                callback_key=callback_key("x"),
                topic_commands={},
                matcher=TopicMatcher(settings.app.topics),
            )
            (report,) = await ingest_due(services, NOW)
        assert (report.added, report.error) == (4, None)
        titles = {s.article.title for s in await async_store.recent_articles(None, 10)}
        assert titles == {
            "\u91cf\u5b50\u901a\u4fe1\u7f51\u7edc\u5728\u4e0a\u6d77\u5f00\u901a",
            "Stra\u00dfenbahn f\u00e4hrt \u00fcber die Br\u00fccke",
            "One stray \ufffd byte here",
            "Lone surrogate \ufffd here",
        }
        (state,) = await async_store.source_states()
        assert state.last_error is None and state.consecutive_failures == 0
    finally:
        await async_store.close()
