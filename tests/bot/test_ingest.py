"""Fetching into the store: new articles summarised once, failing sources isolated and retried."""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.config import load_settings
from bot.ingest import ingest_due, retry_delay
from bot.services import Services, callback_key
from bot.store import AsyncStore, Store
from summaries.matching import TopicMatcher
from tests.bot.conftest import ARTICLES, write_articles

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>Rocket factory opens</title><link>https://news.example/rocket</link>
<description>A launch vehicle factory opened in Songjiang on Monday. It will build rockets
for the satellite internet constellation. Three hundred people work there.</description>
</item></channel></rss>"""


def handler(request: httpx.Request) -> httpx.Response:
    if request.url.host == "good.example":
        return httpx.Response(200, content=RSS, headers={"Content-Type": "application/rss+xml"})
    if request.url.host == "broken.example":
        return httpx.Response(503, text="down for maintenance")
    if request.url.host == "slow.example":
        raise httpx.ReadTimeout("timed out", request=request)
    return httpx.Response(
        200, content=b"\x00\x01 not a feed \xff", headers={"Content-Type": "application/rss+xml"}
    )


@contextlib.asynccontextmanager
async def offline_services(
    config: Path, http: httpx.AsyncClient, clock: Callable[[], datetime] | None = None
) -> AsyncIterator[Services]:
    """Services over a migrated store, for calling ingest without a running bot."""
    settings = load_settings(config, environ={})
    store = Store.from_url(settings.bot.database_url)
    store.migrate()
    extra = {"clock": clock} if clock else {}
    services = Services(
        settings=settings,
        store=AsyncStore(store),
        http=http,
        sender=None,
        callback_key=callback_key("x"),
        topic_commands={},
        matcher=TopicMatcher(settings.app.topics),
        **extra,
    )
    try:
        yield services
    finally:
        services.ingest.shutdown()
        store.close()


@pytest.fixture
async def services(tmp_path):
    write_articles(tmp_path / "news", ARTICLES)
    config = tmp_path / "config.yaml"
    config.write_text(
        textwrap.dedent(
            """\
            sources:
              - {name: local, location: news, kind: text}
              - {name: good-feed, location: "https://good.example/rss", interval_minutes: 30}
              - {name: broken-feed, location: "https://broken.example/rss"}
              - {name: slow-feed, location: "https://slow.example/rss"}
              - {name: garbage-feed, location: "https://garbage.example/rss"}
            topics:
              - {name: satellite, keywords: [satellite, rocket, launch vehicle]}
            bot:
              database: bot.sqlite3
            """
        ),
        encoding="utf-8",
    )
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http,
        offline_services(config, http) as services,
    ):
        yield services


async def test_failing_sources_do_not_stop_the_others_and_show_their_error(services):
    now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    reports = {report.source: report for report in await ingest_due(services, now)}
    assert reports["local"].added == 3
    assert reports["good-feed"].added == 1
    assert "503" in reports["broken-feed"].error
    assert reports["slow-feed"].error
    assert reports["garbage-feed"].error
    states = {state.name: state for state in await services.store.source_states()}
    assert states["broken-feed"].consecutive_failures == 1
    assert "503" in states["broken-feed"].last_error
    assert states["good-feed"].last_error is None
    assert states["good-feed"].next_attempt_at == now + timedelta(minutes=30)
    assert states["broken-feed"].next_attempt_at == now + timedelta(minutes=1)
    stored = await services.store.recent_articles(None, 10)
    rocket = next(s for s in stored if s.article.url == "https://news.example/rocket")
    assert rocket.digest.topics == ("satellite",)
    assert rocket.digest.bullets


async def test_failing_sources_back_off_and_stored_articles_are_not_summarised_again(services):
    now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    await ingest_due(services, now)
    later = now + timedelta(minutes=2)
    reports = {report.source: report for report in await ingest_due(services, later)}
    # only the failing sources were due again (after 1 minute); the good ones wait 30
    assert set(reports) == {"broken-feed", "slow-feed", "garbage-feed"}
    states = {state.name: state for state in await services.store.source_states()}
    assert states["broken-feed"].consecutive_failures == 2
    assert states["broken-feed"].next_attempt_at == later + timedelta(minutes=2)
    reports = await ingest_due(services, later, force=True)
    assert sum(report.added for report in reports) == 0
    stored = await services.store.recent_articles(None, 10)
    assert len(stored) == 4
    rocket = next(s for s in stored if s.article.url == "https://news.example/rocket")
    # ingested articles are searchable at once, through the store's own index
    hits = await services.store.search_articles([(("hundr",),)], limit=5, candidates=10)
    assert [hit.article_id for hit in hits] == [rocket.article.id]


def test_retry_delay_doubles_and_is_capped():
    interval = timedelta(minutes=30)
    assert [retry_delay(n, interval).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert retry_delay(20, interval) == timedelta(hours=6)


async def test_an_item_stored_under_its_link_before_guids_counted_is_not_stored_again(services):
    from bot.ingest import stored_under_link_id
    from summaries.models import Article, Digest, make_article_id

    link = "https://news.example/live"
    old = Article(make_article_id(link, "First", ["a"]), "feed", "First", ("a",), url=link)
    await services.store.add_articles([(old, Digest(old.id, ("a",)))], datetime.now(UTC))
    first = Article.create(source="feed", title="First", paragraphs=["a"], url=link, guid="g1")
    second = Article.create(source="feed", title="Second", paragraphs=["b"], url=link, guid="g2")
    assert await stored_under_link_id(services.store, [first, second]) == {first.id}
