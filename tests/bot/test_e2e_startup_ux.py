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
