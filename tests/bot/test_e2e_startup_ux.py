"""Start-up as operators see it (issue 9, item 13)."""

from __future__ import annotations

import pytest

from bot.config import bot_api_base_url
from tests.bot.conftest import Clock, start_bot, stop_bot, write_config
from tests.support import updates as build

ALICE = build.user(1001, "Alice")


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("http://127.0.0.1:8081", "http://127.0.0.1:8081/bot"),
        ("http://127.0.0.1:8081/", "http://127.0.0.1:8081/bot"),
        ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/bot"),
        ("http://127.0.0.1:8081/bot/", "http://127.0.0.1:8081/bot"),
        ("https://api.example.org/telegram/bot", "https://api.example.org/telegram/bot"),
        ("", None),
        (None, None),
    ],
)
def test_the_bot_suffix_is_added_when_missing(given, used):
    assert bot_api_base_url(given) == used


async def test_a_base_url_without_the_bot_suffix_works(fake, tmp_path, news_folder):
    application = await start_bot(fake, write_config(tmp_path), Clock(), base_url=fake.url)
    try:
        fake.private_command(ALICE, "help")
        reply = (await fake.wait_for_messages(ALICE["id"]))[0]
        assert "/digest" in reply.text
    finally:
        await stop_bot(application)


FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<item><title>Quantum relay finished</title><link>https://wire.test/1</link>
<description>The quantum relay links two districts with quantum key distribution.</description>
</item></channel></rss>"""


async def test_an_unchanged_feed_logs_unchanged(fake, tmp_path, news_folder, caplog):
    import logging

    import httpx

    from bot.app import public_database_url
    from bot.ingest import ingest_due

    def serve(request: httpx.Request) -> httpx.Response:
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304)
        return httpx.Response(200, content=FEED, headers={"ETag": '"v1"'})

    wire = "- name: wire\n  location: http://wire.test/rss.xml\n  kind: feed\n"
    clock = Clock()
    application = await start_bot(fake, write_config(tmp_path, extra_sources=wire), clock)
    services = application.bot_data["services"]
    await services.http.aclose()
    services.http = httpx.AsyncClient(transport=httpx.MockTransport(serve))
    try:
        with caplog.at_level(logging.INFO, logger="bot.ingest"):
            await ingest_due(services, clock(), force=True)
            assert "source wire: 1 articles, 1 new" in caplog.text
            caplog.clear()
            await ingest_due(services, clock(), force=True)
        assert "source wire: unchanged" in caplog.text
        assert "source wire: 0 articles" not in caplog.text
    finally:
        await stop_bot(application)
    assert public_database_url("postgresql://digest:secret@db.internal/digest") == (
        "postgresql://digest:***@db.internal/digest"
    )
