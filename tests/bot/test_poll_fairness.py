"""Sources are polled independently: one that never answers delays only itself."""

from __future__ import annotations

import asyncio
import logging
import textwrap
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest

from bot.app import poll_sources_job, stop_polls
from bot.ingest import ingest_within, poll_due_sources
from bot.services import SERVICES_KEY, Services
from bot.store import StoreUnavailable
from tests.bot.conftest import ARTICLES, write_articles
from tests.bot.test_ingest import offline_services

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@pytest.fixture
async def hanging_server() -> AsyncIterator[str]:
    """A loopback HTTP server that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in held:
            writer.close()
        server.close()


@pytest.fixture
async def services(tmp_path, hanging_server) -> AsyncIterator[Services]:
    write_articles(tmp_path / "news", ARTICLES)
    config = tmp_path / "config.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            sources:
              - {{name: hanging, location: "{hanging_server}/rss", fetch_full_text: true}}
              - {{name: local, location: news, kind: text, interval_minutes: 5}}
            topics:
              - {{name: satellite, keywords: [satellite, rocket]}}
            bot:
              database: bot.sqlite3
            """
        ),
        encoding="utf-8",
    )
    async with (
        httpx.AsyncClient(timeout=3600) as http,
        offline_services(config, http, clock=lambda: NOW) as services,
    ):
        yield services
        for task in services.polling.values():
            task.cancel()
        await asyncio.gather(*services.polling.values(), return_exceptions=True)


async def test_the_poll_job_does_not_wait_for_a_source_that_never_answers(services):
    context = SimpleNamespace(bot_data={SERVICES_KEY: services})
    await asyncio.wait_for(poll_sources_job(context), timeout=60)
    assert set(services.polling) <= {"hanging", "local"}
    local = services.polling.get("local")
    if local is not None:
        await local
    assert len(await services.store.recent_articles(None, 10)) == len(ARTICLES)
    assert "hanging" in services.polling  # still waiting, on its own


async def test_a_healthy_source_is_polled_again_while_a_slow_one_hangs(services):
    first = await poll_due_sources(services, NOW)
    assert sorted(task.get_name() for task in first) == ["poll hanging", "poll local"]
    await services.polling["local"]
    later = NOW + timedelta(minutes=5)
    again = await poll_due_sources(services, later)
    assert [task.get_name() for task in again] == ["poll local"]  # not a second "hanging"
    report = await again[0]
    assert report.error is None
    state = await services.store.get_source_state("local")
    assert state is not None and state.last_success_at == later


async def test_a_poll_past_its_deadline_is_stopped_and_backs_off(services):
    [spec] = [s for s in services.settings.app.sources if s.name == "hanging"]
    report = await ingest_within(services, spec, NOW, deadline=0.2)
    assert report.error is not None and "no result within 0.2 s" in report.error
    state = await services.store.get_source_state("hanging")
    assert state is not None and state.consecutive_failures == 1
    assert state.next_attempt_at is not None and state.next_attempt_at > NOW


async def test_stopping_cancels_the_polls_and_waits_for_them_to_end(services):
    await poll_due_sources(services, NOW)
    hanging = services.polling["hanging"]
    await stop_polls(services)
    assert hanging.done() and hanging.cancelled()  # not left pending for the loop to destroy
    assert services.polling == {}


async def test_a_database_outage_during_a_poll_is_named_without_a_traceback(
    services, monkeypatch, caplog
):
    async def unavailable(*_: object, **__: object) -> None:
        raise StoreUnavailable("database bot.sqlite3 is unavailable: disk I/O error")

    monkeypatch.setattr(services.store, "get_source_state", unavailable)
    with caplog.at_level(logging.WARNING, logger="bot.ingest"):
        await poll_due_sources(services, NOW)
        report = await services.polling["local"]
    assert report.error is not None and "database" in report.error
    assert "internal error" not in report.error
    [record] = [r for r in caplog.records if "source local" in r.getMessage()]
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert "unavailable" in record.getMessage()
