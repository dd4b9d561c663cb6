"""The real Application in webhook mode: the fake pushes updates to it over loopback HTTP.

The bot's webhook server checks Telegram's secret header; a request without the right secret
is refused with 403 and never reaches a handler.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import Timing, build_application
from bot.config import load_settings
from bot.services import SERVICES_KEY
from tests.bot.conftest import TOKEN, Clock, stop_bot, write_config
from tests.support import updates as build
from tests.support.fake_bot_api import FakeBotApi

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
FRANK = build.user(3001, "Frank")
MALLORY = build.user(3002, "Mallory")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class WebhookBot:
    application: Any
    url: str
    secret: str


@pytest.fixture
async def webhook_bot(
    fake: FakeBotApi, tmp_path: Path, news_folder: Path
) -> AsyncIterator[WebhookBot]:
    """Started like `run_bot.py --webhook`: initialise, post_init, start, then the webhook."""
    settings = load_settings(write_config(tmp_path), environ={"TELEGRAM_BASE_URL": fake.base_url})
    never = 3600.0  # background jobs stay out of the way
    timing = Timing(never, never, never, never, clock=Clock())
    application = build_application(settings, TOKEN, timing=timing)
    port, secret = free_port(), secrets.token_urlsafe(16)
    url = f"http://127.0.0.1:{port}/telegram-hook"
    await application.initialize()
    await application.post_init(application)
    await application.start()
    await application.updater.start_webhook(
        listen="127.0.0.1",
        port=port,
        url_path="telegram-hook",
        webhook_url=url,
        secret_token=secret,
    )
    try:
        yield WebhookBot(application, url, secret)
    finally:
        await stop_bot(application)


async def test_a_command_pushed_to_the_webhook_is_answered(fake, webhook_bot):
    assert fake.webhook is not None
    assert fake.webhook["url"] == webhook_bot.url
    assert fake.webhook["secret_token"] == webhook_bot.secret

    fake.private_command(FRANK, "subscribe", "quantum")
    [subscribed] = await fake.wait_for_messages(FRANK["id"], timeout=10)
    fake.private_command(FRANK, "list")
    [listing] = await fake.wait_for_messages(FRANK["id"], timeout=10)

    assert subscribed.text.startswith("Subscribed to topic <b>Quantum communication</b>")
    assert "Quantum communication" in listing.text
    assert fake.stats.webhook_deliveries == 2
    assert fake.stats.requests["getUpdates"] == 0


def mallory_subscribes(update_id: int) -> dict:
    """An update as Telegram would push it: Mallory sends /subscribe quantum."""
    payload = build.command_message(
        build.private_chat(MALLORY), MALLORY, "subscribe", "quantum", message_id=1
    )
    return build.update(update_id, "message", payload)


@pytest.mark.parametrize("headers", [{SECRET_HEADER: "wrong"}, {}], ids=["wrong", "missing"])
async def test_a_request_without_the_secret_is_refused_without_effect(fake, webhook_bot, headers):
    async with httpx.AsyncClient(timeout=10) as client:
        refused = await client.post(
            webhook_bot.url, json=mallory_subscribes(900_001), headers=headers
        )
        # The same request with the right secret is taken: the secret alone made the difference.
        taken = await client.post(
            webhook_bot.url,
            json=mallory_subscribes(900_002),
            headers={SECRET_HEADER: webhook_bot.secret},
        )
    [answer] = await fake.wait_for_messages(MALLORY["id"], timeout=10)

    assert refused.status_code == 403
    assert taken.status_code == 200
    # One subscribe got through, so one answer and no "already follow" for a second one.
    assert answer.text.startswith("Subscribed to topic")
    fake.private_command(MALLORY, "list")
    [listing] = await fake.wait_for_messages(MALLORY["id"], timeout=10)
    assert "You follow" in listing.text
    assert len(fake.sent(MALLORY["id"])) == 2
    services = webhook_bot.application.bot_data[SERVICES_KEY]
    assert len(await services.store.list_subscriptions(MALLORY["id"])) == 1
