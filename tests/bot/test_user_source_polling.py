"""Polling user sources: once per interval per URL, conditional, paced, backing off, pausing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.i18n import english
from bot.store import AsyncStore, ChatDefaults, Store
from bot.store.user_sources import AsyncUserSourceStore
from bot.usersources.poll import RequestPacer, UserSourcePoller, pause_notice
from bot.usersources.settings import UserSourceSettings

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
SETTINGS = UserSourceSettings(min_interval_minutes=30, pause_after_days=2, concurrency=4)


def rss(*titles: str, ttl: int | None = None) -> bytes:
    items = "".join(
        f"<item><title>{t}</title><link>https://news.example/{i}</link>"
        f"<description>{t} happened today. It matters to many people here.</description></item>"
        for i, t in enumerate(titles)
    )
    ttl_tag = f"<ttl>{ttl}</ttl>" if ttl else ""
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>News &amp; Co</title>'
        f"{ttl_tag}{items}</channel></rss>"
    ).encode()


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.now += seconds


class Web:
    """An httpx MockTransport site: path -> (status, headers, body); counts requests."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, headers, body = self.pages.get(request.url.path, (404, {}, b"no"))
        if request.headers.get("if-none-match") and request.headers.get(
            "if-none-match"
        ) == headers.get("ETag"):
            return httpx.Response(304, headers=headers)
        return httpx.Response(status, headers=headers, content=body)

    def hits(self, path: str) -> int:
        return sum(1 for request in self.requests if request.url.path == path)


@pytest.fixture
def world(tmp_path):
    store = Store.from_url(f"sqlite:///{tmp_path / 'poll.db'}")
    store.migrate()
    for chat_id in (1, 2, 3):
        store.ensure_chat(chat_id, "private", "c", ChatDefaults(), NOW)
    web = Web()
    client = httpx.AsyncClient(transport=httpx.MockTransport(web.handler))
    yield store, web, client
    store.close()


class Recorder:
    def __init__(self) -> None:
        self.stored: list[str] = []
        self.notices: list[tuple[tuple[int, ...], str]] = []

    async def store_articles(self, articles, now) -> int:
        fresh = [a.title for a in articles if a.title not in self.stored]
        self.stored += fresh
        return len(fresh)

    async def notify(self, chat_ids, source) -> None:
        self.notices.append((tuple(chat_ids), pause_notice(source, SETTINGS, english())))


def make_poller(store, client, settings=SETTINGS, clock=None):
    recorder = Recorder()
    clock = clock or FakeClock()
    pacer = RequestPacer(settings.requests_per_second, clock=clock, sleep=clock.sleep)
    sources = AsyncUserSourceStore(AsyncStore(store))
    poller = UserSourcePoller(
        sources, client, settings, recorder.store_articles, recorder.notify, pacer=pacer
    )
    return poller, sources, recorder


def follow(sources, chat_id, url, kind="feed"):
    return sources.sync.follow(
        chat_id,
        url=url,
        kind=kind,
        title=url,
        keywords="",
        added_by=None,
        max_per_chat=50,
        now=NOW,
    )


async def test_a_feed_followed_by_many_chats_is_fetched_once_per_interval(world):
    store, web, client = world
    web.pages["/feed"] = (200, {"ETag": '"v1"'}, rss("Quantum link opens", "Art show"))
    poller, sources, recorder = make_poller(store, client)
    for chat_id in (1, 2, 3):
        follow(sources, chat_id, "https://news.example/feed")

    report = await poller.poll_due(NOW)
    assert (report.polled, report.added) == (1, 2)
    assert recorder.stored == ["Quantum link opens", "Art show"]
    await poller.poll_due(NOW + timedelta(minutes=29))
    assert web.hits("/feed") == 1  # not due before the interval
    report = await poller.poll_due(NOW + timedelta(minutes=30))
    assert report.not_modified == 1  # the ETag came back: 304
    assert web.requests[-1].headers["if-none-match"] == '"v1"'
    assert sources.sync.by_url("https://news.example/feed").title == "News & Co"


@pytest.mark.parametrize(
    ("headers", "ttl", "wait"),
    [({"Cache-Control": "public, max-age=7200"}, None, 120), ({}, 90, 90), ({}, None, 30)],
)
async def test_the_servers_own_refresh_time_is_honoured(world, headers, ttl, wait):
    store, web, client = world
    web.pages["/feed"] = (200, headers, rss("One", ttl=ttl))
    poller, sources, _ = make_poller(store, client)
    source = follow(sources, 1, "https://news.example/feed").source
    await poller.poll_due(NOW)
    assert sources.sync.get(source.id).next_fetch_at == NOW + timedelta(minutes=wait)


async def test_a_failing_source_backs_off_then_pauses_and_tells_its_followers_once(world):
    store, web, client = world
    web.pages["/feed"] = (500, {}, b"down")
    poller, sources, recorder = make_poller(store, client)
    source = follow(sources, 1, "https://news.example/feed").source
    follow(sources, 2, "https://news.example/feed")

    when, waits = NOW, []
    for _ in range(40):
        due = sources.sync.due_sources(when + timedelta(days=30), 10)
        if not due:
            break
        when = due[0].next_fetch_at
        await poller.poll_due(when)
        waits.append(sources.sync.get(source.id).next_fetch_at - when)
    assert waits[0] == timedelta(minutes=30)
    assert max(waits) == timedelta(hours=6)  # grows, then stays at the cap
    assert sources.sync.get(source.id).paused
    assert len(recorder.notices) == 1
    chats, text = recorder.notices[0]
    assert set(chats) == {1, 2}
    assert "HTTP 500" in text and "/sources" in text
    hits = web.hits("/feed")
    await poller.poll_due(when + timedelta(days=3))
    assert web.hits("/feed") == hits  # paused: never fetched again


async def test_a_page_source_fetches_only_its_new_article_links(world):
    store, web, client = world
    links = "".join(
        f'<a href="/story/{i}">Story number {i} about the quantum network</a>' for i in range(3)
    )
    web.pages["/news"] = (200, {"Content-Type": "text/html"}, f"<html>{links}</html>".encode())
    for i in range(3):
        body = (
            f"<html><head><title>Story {i}</title></head><body><article><h1>Story {i}</h1>"
            f"<p>Story {i} tells how the quantum network reached new districts this week.</p>"
            "</article></body></html>"
        )
        web.pages[f"/story/{i}"] = (200, {"Content-Type": "text/html"}, body.encode())
    poller, sources, recorder = make_poller(store, client)
    follow(sources, 1, "https://news.example/news", kind="page")

    await poller.poll_due(NOW)
    assert len(recorder.stored) == 3
    await poller.poll_due(NOW + timedelta(hours=1))
    assert [web.hits(f"/story/{i}") for i in range(3)] == [1, 1, 1]


async def test_requests_keep_to_the_configured_pace(world):
    store, web, client = world
    settings = UserSourceSettings(requests_per_second=5.0, concurrency=4)
    clock = FakeClock()
    poller, sources, _ = make_poller(store, client, settings, clock)
    for index in range(50):
        web.pages[f"/f{index}"] = (200, {}, rss(f"Item {index}"))
        follow(sources, 1 + index % 3, f"https://news.example/f{index}")
    await poller.poll_due(NOW)
    assert len(web.requests) == 50
    # 50 requests at 5 per second: the first goes at once, the rest 0.2 s apart.
    assert clock.now == pytest.approx(49 / 5.0)


async def test_one_source_that_breaks_unexpectedly_costs_only_itself(world):
    store, web, client = world
    web.pages["/good"] = (200, {}, rss("Fine"))
    web.pages["/bad"] = (200, {}, rss("Boom"))
    poller, sources, recorder = make_poller(store, client)
    follow(sources, 1, "https://news.example/good")
    bad = follow(sources, 2, "https://news.example/bad").source

    original = recorder.store_articles

    async def explode_on_bad(articles, now):
        if any(a.title == "Boom" for a in articles):
            raise RuntimeError("surprise")
        return await original(articles, now)

    poller._store_articles = explode_on_bad
    report = await poller.poll_due(NOW)
    assert report.polled == 2 and report.failed == 1
    assert recorder.stored == ["Fine"]
    assert "internal error" in sources.sync.get(bad.id).last_error
