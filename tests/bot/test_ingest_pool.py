"""Ingestion runs on workers of its own, in chunks: huge feeds never queue the commands' thread
work, and never keep more than a chunk of digests alive. By default the workers are processes
(the interpreter lock stays with the bot); `processes: 0` puts them on threads, which the tests
that watch the work from inside use."""

from __future__ import annotations

import asyncio
import gc
import os
import textwrap
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot import ingest
from bot.handlers.search import parse_query
from bot.ingest import CHUNK, ingest_source, ingest_within
from bot.ingest_pool import IngestPool
from bot.services import Services
from summaries.models import Digest
from summaries.search_text import query_terms
from summaries.sources import fetch
from summaries.threads import WorkerProcesses
from tests.bot.test_ingest import offline_services

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
WORDS = [
    "council",
    "harbour",
    "budget",
    "railway",
    "library",
    "festival",
    "market",
    "bridge",
    "river",
    "tower",
]


def rss(count: int, host: str) -> bytes:
    items = []
    for i in range(count):
        words = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(12))
        body = " ".join(f"The {words} report {i} sentence {s}." for s in range(4))
        items.append(
            f"<item><title>Item {i} {WORDS[i % 10]}</title><link>https://{host}/{i}</link>"
            f"<description>{body}</description></item>"
        )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        + "".join(items)
        + "</channel></rss>"
    ).encode()


FEEDS = {"small.example": rss(3, "small.example"), "big.example": rss(1000, "big.example")}
FEEDS["other.example"] = rss(2 * CHUNK + 10, "other.example")


def handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, content=FEEDS[request.url.host], headers={"Content-Type": "application/rss+xml"}
    )


@asynccontextmanager
async def ingest_services(tmp_path: Path, ingest_settings: str) -> AsyncIterator[Services]:
    config = tmp_path / "config.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            sources:
              - {{name: small, location: "https://small.example/rss"}}
              - {{name: big, location: "https://big.example/rss", max_articles: 5000}}
              - {{name: other, location: "https://other.example/rss", max_articles: 5000}}
            topics:
              - {{name: harbour, keywords: [harbour]}}
            bot:
              database: bot.sqlite3
              ingest: {ingest_settings}
            """
        ),
        encoding="utf-8",
    )
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http,
        offline_services(config, http) as services,
    ):
        yield services


@pytest.fixture
async def services(tmp_path) -> AsyncIterator[Services]:
    threads = "{processes: 0, threads: 2, sources_at_once: 1}"
    async with ingest_services(tmp_path, threads) as found:
        yield found


def spec(services: Services, name: str):
    return next(s for s in services.settings.app.sources if s.name == name)


def test_the_pool_is_configured_from_the_bot_section(services):
    pool = services.ingest
    assert (pool.processes, pool.threads, pool.sources_at_once) == (0, 2, 1)
    assert isinstance(pool.executor, ThreadPoolExecutor)


async def test_by_default_ingestion_runs_in_a_worker_process(tmp_path):
    async with ingest_services(tmp_path, "{}") as services:
        assert services.ingest.processes == 1
        assert isinstance(services.ingest.executor, WorkerProcesses)


async def test_worker_processes_store_what_threads_store(tmp_path):
    stored = {}
    for mode, ingest_settings in (("threads", "{processes: 0}"), ("processes", "{processes: 1}")):
        folder = tmp_path / mode
        folder.mkdir()
        async with ingest_services(folder, ingest_settings) as services:
            report = await ingest_source(services, spec(services, "other"), NOW)
            assert report.added == 2 * CHUNK + 10 and report.error is None
            articles = await services.store.recent_articles(None, 5000)
            stored[mode] = sorted(
                (s.article.id, s.article.language, s.digest.bullets, s.digest.topics)
                for s in articles
            )
    assert stored["processes"] == stored["threads"]
    assert len(stored["threads"]) == 2 * CHUNK + 10


def die_in_worker(*_: object, **__: object) -> None:
    os._exit(3)  # as the kernel's OOM killer ends a worker: no exception, no clean-up


def hang_in_worker(*_: object, **__: object) -> None:
    time.sleep(3600)  # as a hostile feed keeps the parser busy for many minutes


async def test_a_parse_stuck_past_its_deadline_frees_the_worker_for_other_sources(
    tmp_path, monkeypatch
):
    async with ingest_services(tmp_path, "{processes: 1}") as services:
        monkeypatch.setattr(fetch, "read_feed_entries", hang_in_worker)
        report = await ingest_within(services, spec(services, "small"), NOW, deadline=1.0)
        assert report.error is not None and "no result within" in report.error
        monkeypatch.undo()
        # With the stuck parse still holding the only worker, this would wait for an hour.
        other = ingest_source(services, spec(services, "other"), NOW)
        report = await asyncio.wait_for(other, timeout=120)
        assert report.added == 2 * CHUNK + 10


async def test_a_worker_dying_while_parsing_fails_that_poll_with_a_reason(tmp_path, monkeypatch):
    async with ingest_services(tmp_path, "{processes: 1}") as services:
        monkeypatch.setattr(fetch, "read_feed_entries", die_in_worker)
        report = await ingest_source(services, spec(services, "small"), NOW)
        assert report.added == 0 and report.error == fetch.PARSER_DIED
        state = await services.store.get_source_state("small")
        assert state is not None and state.consecutive_failures == 1
        monkeypatch.undo()
        assert (await ingest_source(services, spec(services, "small"), NOW)).added == 3


async def test_a_worker_dying_fails_that_poll_with_a_reason_and_the_next_poll_works(
    tmp_path, monkeypatch
):
    async with ingest_services(tmp_path, "{processes: 1}") as services:
        monkeypatch.setattr(ingest, "summarise_new", die_in_worker)
        report = await ingest_source(services, spec(services, "small"), NOW)
        assert report.added == 0
        assert report.error is not None and "worker process" in report.error
        state = await services.store.get_source_state("small")
        assert state is not None and state.consecutive_failures == 1
        assert state.next_attempt_at is not None and state.next_attempt_at > NOW
        monkeypatch.undo()
        report = await ingest_source(services, spec(services, "small"), NOW)
        assert report.added == 3 and report.error is None


async def test_parsing_and_summarising_run_on_the_ingestion_threads(services, monkeypatch):
    threads: dict[str, set[str]] = {"parse": set(), "summarise": set()}

    def recorded(kind, func):
        def run(*args, **kwargs):
            threads[kind].add(threading.current_thread().name)
            return func(*args, **kwargs)

        return run

    monkeypatch.setattr(fetch, "read_feed_entries", recorded("parse", fetch.read_feed_entries))
    monkeypatch.setattr(ingest, "summarise_new", recorded("summarise", ingest.summarise_new))
    report = await ingest_source(services, spec(services, "small"), NOW)
    assert report.added == 3
    assert threads["parse"] and threads["summarise"]
    assert all(name.startswith("ingest") for name in threads["parse"] | threads["summarise"])


async def test_commands_thread_work_runs_while_every_ingestion_thread_is_busy(services):
    release = threading.Event()
    blockers = [
        asyncio.ensure_future(services.ingest.run(release.wait))
        for _ in range(services.ingest.threads)
    ]
    poll = asyncio.create_task(ingest_source(services, spec(services, "small"), NOW))
    try:
        # A command's thread work (as /search parses its query) on the default executor.
        terms = await asyncio.to_thread(query_terms, parse_query("harbour budget"))
        assert terms
        assert not poll.done()  # ingestion waits for its own threads, commands do not
    finally:
        release.set()
    await asyncio.gather(*blockers)
    assert (await poll).added == 3


async def test_ingestion_does_not_need_the_default_executor(services):
    release = threading.Event()
    loop = asyncio.get_running_loop()
    default = ThreadPoolExecutor(max_workers=1)
    loop.set_default_executor(default)
    blocker = loop.run_in_executor(None, release.wait)  # the commands' pool, fully busy
    try:
        report = await ingest_source(services, spec(services, "small"), NOW)
        assert report.added == 3 and not blocker.done()
    finally:
        release.set()
    await blocker


async def test_a_thousand_item_feed_is_stored_in_chunks_with_few_digests_alive(
    services, monkeypatch
):
    batches: list[int] = []
    alive: list[int] = []
    add_articles = services.store.add_articles

    async def counting(items, fetched_at):
        batches.append(len(items))
        gc.collect()
        alive.append(sum(isinstance(o, Digest) for o in gc.get_objects()))
        return await add_articles(items, fetched_at)

    monkeypatch.setattr(services.store, "add_articles", counting)
    report = await ingest_source(services, spec(services, "big"), NOW)
    assert report.added == 1000 and report.error is None
    assert batches == [CHUNK] * 5
    assert max(alive) <= CHUNK  # only the chunk being stored, never the whole feed


async def test_only_sources_at_once_sources_summarise_a_large_batch_at_a_time(
    services, monkeypatch
):
    order: list[str] = []
    summarise_new = ingest.summarise_new

    def recording(articles, settings, matcher):
        order.append(articles[0].url.split("/")[2])
        return summarise_new(articles, settings, matcher)

    monkeypatch.setattr(ingest, "summarise_new", recording)
    reports = await asyncio.gather(
        ingest_source(services, spec(services, "big"), NOW),
        ingest_source(services, spec(services, "other"), NOW),
    )
    assert [r.added for r in reports] == [1000, 2 * CHUNK + 10]
    # sources_at_once: 1, so one source's chunks all come before the other's
    firsts = [host for i, host in enumerate(order) if i == 0 or order[i - 1] != host]
    assert sorted(firsts) == ["big.example", "other.example"]


async def test_a_small_batch_does_not_wait_for_a_slot(services):
    pool = services.ingest
    async with pool.slot():  # the only slot, held by a large source
        report = await ingest_source(services, spec(services, "small"), NOW)
    assert report.added == 3


def test_shutdown_drops_queued_work():
    pool = IngestPool(1, 1)
    release = threading.Event()
    running = pool.executor.submit(release.wait)
    queued = pool.executor.submit(lambda: None)
    pool.shutdown()
    release.set()
    assert running.result() is True and queued.cancelled()
