import socket

import httpx
import pytest

from summaries.sources import (
    USER_AGENT,
    FeedValidators,
    SourceSpec,
    fetch_source,
    make_client,
)
from summaries.sources import feeds as feeds_module
from summaries.sources import fetch as fetch_module
from tests.summaries.sources.conftest import DATA, SAMPLE, Answer, LoopbackServer

ETAG = '"v1-abc"'
LAST_MODIFIED = "Fri, 24 May 2024 03:48:00 GMT"
PAGE = (DATA / "news_page.html").read_bytes()


def rss(items: list[tuple[str, str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{title}</title><link>{link}</link><description>{text}</description></item>"
        for title, link, text in items
    )
    head = '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
    return f"{head}{body}</channel></rss>".encode()


def conditional_feed(feed: bytes):
    """A feed route that answers 304 when the client shows the current validators."""

    def route(request):
        if request.headers.get("if-none-match") == ETAG or (
            request.headers.get("if-modified-since") == LAST_MODIFIED
        ):
            return Answer(304, headers={"ETag": ETAG})
        headers = {
            "Content-Type": "application/rss+xml; charset=utf-8",
            "ETag": ETAG,
            "Last-Modified": LAST_MODIFIED,
        }
        return Answer(200, feed, headers)

    return route


@pytest.fixture
async def client():
    async with make_client(timeout=5.0) as http:
        yield http


async def test_unchanged_feed_is_answered_304_to_a_conditional_get(server: LoopbackServer, client):
    feed = rss([("One", "https://x.org/1", "First text."), ("Two", "https://x.org/2", "Second.")])
    server.routes["/feed"] = conditional_feed(feed)
    spec = SourceSpec(name="feed", location=server.url("/feed"))

    first = await fetch_source(spec, client)
    assert first.error is None and not first.not_modified
    assert [a.title for a in first.articles] == ["One", "Two"]
    assert first.validators == FeedValidators(etag=ETAG, last_modified=LAST_MODIFIED)
    assert all(a.source == spec.location for a in first.articles)

    second = await fetch_source(spec, client, first.validators)
    sent = server.requests_to("/feed")[1].headers
    assert sent["if-none-match"] == ETAG
    assert sent["if-modified-since"] == LAST_MODIFIED
    assert second.not_modified and second.articles == () and second.error is None
    assert second.validators == first.validators


async def test_first_fetch_sends_no_validators_and_a_user_agent(server, client):
    server.routes["/feed"] = conditional_feed(rss([("One", "https://x.org/1", "Text.")]))
    await fetch_source(SourceSpec(name="f", location=server.url("/feed")), client)
    (request,) = server.requests
    assert "if-none-match" not in request.headers
    assert "if-modified-since" not in request.headers
    assert request.headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("digest-bot/")


async def test_user_agent_is_sent_even_by_a_plain_client(server):
    server.routes["/feed"] = conditional_feed(rss([("One", "https://x.org/1", "Text.")]))
    async with httpx.AsyncClient() as plain:
        await fetch_source(SourceSpec(name="f", location=server.url("/feed")), plain)
    assert server.requests[0].headers["user-agent"] == USER_AGENT


@pytest.mark.parametrize("status", [500, 503, 404, 403])
async def test_http_errors_become_the_source_error(server, client, status):
    server.routes["/feed"] = lambda request: Answer(status, b"oops")
    result = await fetch_source(SourceSpec(name="f", location=server.url("/feed")), client)
    assert result.articles == ()
    assert result.error is not None and result.error.startswith(f"HTTP {status} ")
    assert server.url("/feed") in result.error


async def test_timeout_becomes_the_source_error(server):
    server.routes["/slow"] = lambda request: Answer(200, b"<rss/>", delay=10)
    async with make_client(timeout=0.2) as quick:
        result = await fetch_source(SourceSpec(name="f", location=server.url("/slow")), quick)
    assert result.error == f"timed out fetching {server.url('/slow')}"
    assert result.articles == ()


async def test_overall_deadline_bounds_a_fetch(server, client):
    server.routes["/slow"] = lambda request: Answer(200, b"<rss/>", delay=10)
    spec = SourceSpec(name="f", location=server.url("/slow"))
    result = await fetch_source(spec, client, deadline=0.2)
    assert result.error == f"timed out fetching {server.url('/slow')}"


async def test_connection_refused_becomes_the_source_error(client):
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = await fetch_source(SourceSpec(name="f", location=f"http://127.0.0.1:{port}/"), client)
    assert result.error is not None and result.error.startswith("cannot fetch http://127.0.0.1")


async def test_garbage_instead_of_a_feed_becomes_the_source_error(server, client):
    server.routes["/feed"] = lambda request: Answer(
        200, b"\x00\x01garbage<<<", {"Content-Type": "application/rss+xml"}
    )
    result = await fetch_source(SourceSpec(name="f", location=server.url("/feed")), client)
    assert result.error is not None
    assert result.error.startswith(f"{server.url('/feed')}: not an RSS or Atom feed")


async def test_forced_feed_kind_on_a_web_page_is_an_error(server, client):
    server.routes["/page"] = lambda request: Answer(200, PAGE, {"Content-Type": "text/html"})
    spec = SourceSpec(name="f", location=server.url("/page"), kind="feed")
    result = await fetch_source(spec, client)
    assert result.error is not None and "not an RSS or Atom feed" in result.error


async def test_oversized_response_becomes_the_source_error(server, client, monkeypatch):
    monkeypatch.setattr(fetch_module, "MAX_RESPONSE_BYTES", 1000)
    server.routes["/big"] = lambda request: Answer(200, b"<rss>" + b" " * 5000)
    result = await fetch_source(SourceSpec(name="f", location=server.url("/big")), client)
    assert result.error == f"response from {server.url('/big')} is larger than 1000 bytes"


async def test_a_web_page_url_gives_its_article_with_the_canonical_url(server, client):
    server.routes["/world/42"] = lambda request: Answer(
        200, PAGE, {"Content-Type": "text/html; charset=utf-8"}
    )
    result = await fetch_source(SourceSpec(name="p", location=server.url("/world/42")), client)
    (article,) = result.articles
    assert article.title == "Quantum link spans 300 km"
    assert article.url == server.url("/world/quantum-link")


async def test_feed_served_as_text_html_is_sniffed_as_a_feed(server, client):
    feed = rss([("One", "https://x.org/1", "Text.")])
    server.routes["/feed"] = lambda request: Answer(200, feed, {"Content-Type": "text/html"})
    result = await fetch_source(SourceSpec(name="f", location=server.url("/feed")), client)
    assert [a.title for a in result.articles] == ["One"]


async def test_redirects_are_followed(server, client):
    server.routes["/old"] = lambda request: Answer(301, headers={"Location": "/feed"})
    server.routes["/feed"] = conditional_feed(rss([("One", "https://x.org/1", "Text.")]))
    result = await fetch_source(SourceSpec(name="f", location=server.url("/old")), client)
    assert [a.title for a in result.articles] == ["One"]


async def test_seed_text_over_http(server, client):
    server.routes["/news.txt"] = lambda request: Answer(
        200, SAMPLE.read_bytes(), {"Content-Type": "text/plain; charset=utf-8"}
    )
    result = await fetch_source(SourceSpec(name="s", location=server.url("/news.txt")), client)
    assert len(result.articles) == 6


async def test_full_text_is_fetched_from_entry_links_with_a_fallback(server, client):
    page_links = [server.url(f"/story/{n}") for n in range(6)]
    broken = server.url("/story/broken")
    items = [(f"Story {n}", link, f"Teaser {n}.") for n, link in enumerate(page_links)]
    items.append(("Broken", broken, "Broken teaser."))
    items.append(("Bare", server.url("/story/bare-missing"), ""))
    server.routes["/feed"] = lambda request: Answer(200, rss(items))
    for n in range(6):
        page = (
            f"<html><body><article><h1>Story {n}</h1><p>Full text of story {n}, "
            f"much longer than its teaser.</p><p>Second paragraph {n}.</p></article></body></html>"
        ).encode()
        server.routes[f"/story/{n}"] = lambda request, page=page: Answer(
            200, page, {"Content-Type": "text/html"}, delay=0.05
        )
    server.routes["/story/broken"] = lambda request: Answer(500, b"down")

    spec = SourceSpec(name="f", location=server.url("/feed"), fetch_full_text=True)
    result = await fetch_source(spec, client)

    assert result.error is None
    by_title = {a.title: a for a in result.articles}
    assert set(by_title) == {*(f"Story {n}" for n in range(6)), "Broken"}
    for n in range(6):
        assert by_title[f"Story {n}"].paragraphs == (
            f"Full text of story {n}, much longer than its teaser.",
            f"Second paragraph {n}.",
        )
        assert by_title[f"Story {n}"].url == page_links[n]
    assert by_title["Broken"].paragraphs == ("Broken teaser.",)
    broken_note, *others = [p for p in result.problems if "Broken" in p]
    assert not others
    assert "HTTP 500" in broken_note and broken_note.endswith("kept the feed's text")
    bare_notes = [p for p in result.problems if "'Bare'" in p]
    assert len(bare_notes) == 2  # the page failed, then the entry had no text at all
    assert bare_notes[0].endswith("; skipped")
    assert bare_notes[1] == f"{spec.location}: entry 8 'Bare' has no text; skipped"
    assert 1 <= server.peak_in_flight <= fetch_module.FULL_TEXT_CONCURRENCY + 1  # feed + pages


async def test_full_text_skips_entries_already_known(server, client):
    link = server.url("/story/1")
    server.routes["/feed"] = lambda request: Answer(200, rss([("One", link, "Teaser.")]))
    known = await fetch_source(SourceSpec(name="f", location=server.url("/feed")), client)
    spec = SourceSpec(name="f", location=server.url("/feed"), fetch_full_text=True)
    result = await fetch_source(spec, client, known_ids={known.articles[0].id})
    assert result.articles == () and result.problems == ()
    assert server.requests_to("/story/1") == []


async def test_local_paths_are_read_from_disk(client, tmp_path):
    (tmp_path / "a.txt").write_text("Title\n\nBody.\n")
    result = await fetch_source(SourceSpec(name="disk", location=str(tmp_path)), client)
    assert [a.title for a in result.articles] == ["Title"]
    missing = await fetch_source(SourceSpec(name="disk", location=str(tmp_path / "no")), client)
    assert missing.error == f"{tmp_path / 'no'} does not exist"


async def test_a_parser_crash_becomes_the_source_error(server, client, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(fetch_module, "entries_to_articles", explode)
    server.routes["/feed"] = lambda request: Answer(200, rss([("One", "https://x.org/1", "T.")]))
    result = await fetch_source(SourceSpec(name="f", location=server.url("/feed")), client)
    assert result.error == f"{server.url('/feed')}: could not be parsed (internal error)"


async def test_full_text_fetches_no_more_pages_than_max_articles(server, client):
    links = [server.url(f"/story/{n}") for n in range(5)]
    server.routes["/feed"] = lambda request: Answer(
        200, rss([(f"S{n}", link, f"Teaser {n}.") for n, link in enumerate(links)])
    )
    spec = SourceSpec(name="f", location=server.url("/feed"), fetch_full_text=True, max_articles=2)
    result = await fetch_source(spec, client)
    assert [a.title for a in result.articles] == ["S0", "S1"]
    assert sum(len(server.requests_to(f"/story/{n}")) for n in range(5)) == 2
    assert f"{spec.location}: kept the first 2 of 5 entries (max_articles)" in result.problems


async def test_a_lone_surrogate_reference_in_one_item_costs_no_item(server, client, caplog):
    feed = rss([(f"Item {n}", f"https://x.org/{n}", f"Text {n}.") for n in range(1, 5)])
    feed = feed.replace(b"Text 4.", b"Text &#xD800; four &#55296;.")
    server.routes["/feed"] = lambda request: Answer(200, feed)
    result = await fetch_source(SourceSpec(name="f", location=server.url("/feed")), client)
    assert result.error is None
    assert [a.title for a in result.articles] == [f"Item {n}" for n in range(1, 5)]
    assert result.articles[-1].paragraphs == ("Text \ufffd four \ufffd.",)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_a_feed_parser_crash_is_a_clear_source_error_not_a_traceback(
    server, client, monkeypatch, caplog
):
    def explode(*args, **kwargs):
        raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

    monkeypatch.setattr(feeds_module.feedparser, "parse", explode)
    server.routes["/feed"] = lambda request: Answer(200, rss([("One", "https://x.org/1", "T.")]))
    result = await fetch_source(SourceSpec(name="f", location=server.url("/feed")), client)
    assert result.error is not None
    assert result.error.startswith(f"{server.url('/feed')}: the feed parser failed")
    assert "UnicodeEncodeError" in result.error
    assert not [r for r in caplog.records if r.levelname == "ERROR" or r.exc_info]
