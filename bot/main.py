"""Running the bot from the command line (see run_bot.py)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from telegram import Update
from telegram.error import InvalidToken, NetworkError

from bot.app import build_application
from bot.config import SETUP_HELP, Settings, load_settings
from bot.ingest import ingest_due
from bot.logsafe import protect_logs
from bot.replica_runner import AnotherProcess, hold_sqlite, run_polling_replica, webhook_secret
from bot.services import Services, callback_key
from bot.store import AsyncStore, Store, StoreError
from summaries.matching import TopicMatcher
from summaries.yamlfile import ConfigError

logger = logging.getLogger(__name__)


def _load(config: Path) -> Settings | None:
    try:
        return load_settings(config)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


class DropBootstrapTraceback(logging.Filter):
    """python-telegram-bot logs a start-up network failure with its whole traceback (about
    100 lines) before raising; run_bot reports the same failure in one line, so drop it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (record.exc_info and "Network Retry Loop" in message and "Bootstrap" in message)


def _quiet_bootstrap_failures() -> None:
    for handler in logging.getLogger().handlers:
        handler.addFilter(DropBootstrapTraceback())


def run_bot(
    config: Path, *, webhook_url: str | None = None, listen: str = "127.0.0.1:8443"
) -> int:
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    redactor = protect_logs(token)
    _quiet_bootstrap_failures()
    settings = _load(config)
    if settings is None:
        return 2
    if not token:
        print(SETUP_HELP, file=sys.stderr)
        return 2
    try:
        guard = hold_sqlite(settings.bot.database_url)
    except AnotherProcess as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        return _run(settings, token, webhook_url, listen, redactor)
    finally:
        if guard is not None:
            guard.close()


def _run(
    settings: Settings, token: str, webhook_url: str | None, listen: str, redactor: Any
) -> int:
    application = build_application(settings, token)
    application.bot_data["mode"] = "webhook" if webhook_url else "polling"
    application.bot_data["settle_heap"] = True  # a process of its own: see bot.heap
    try:
        if webhook_url:
            _run_webhook(application, webhook_url, listen, token)
        elif make_url(settings.bot.database_url).get_backend_name() == "postgresql":
            run_polling_replica(application)  # one of several replicas: the leader polls
        else:
            application.run_polling(allowed_updates=Update.ALL_TYPES)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except InvalidToken:
        # PTB's message quotes the token; say what is wrong without it.
        print(
            "error: Telegram rejected TELEGRAM_BOT_TOKEN; copy it again from @BotFather",
            file=sys.stderr,
        )
        return 2
    except NetworkError as error:
        where = settings.bot.base_url or "api.telegram.org"
        print(
            f"error: cannot reach the Telegram Bot API at {redactor.redact(where)}: "
            f"{redactor.redact(str(error))}",
            file=sys.stderr,
        )
        return 1
    return 0


def _run_webhook(application: object, webhook_url: str, listen: str, token: str) -> None:
    # Every replica must accept Telegram's calls, so all of them use the same secret.
    secret = os.environ.get("TELEGRAM_WEBHOOK_SECRET") or webhook_secret(token)
    host, _, port = listen.rpartition(":")
    application.run_webhook(  # type: ignore[attr-defined]
        listen=host or "127.0.0.1",
        port=int(port),
        url_path=urlsplit(webhook_url).path.lstrip("/"),
        webhook_url=webhook_url,
        secret_token=secret,
        allowed_updates=Update.ALL_TYPES,
    )


def fetch_once(config: Path) -> int:
    """Fetch every source into the database once and print what happened."""
    protect_logs(None)
    settings = _load(config)
    if settings is None:
        return 2
    try:
        return asyncio.run(_fetch_all(settings))
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


async def _fetch_all(settings: Settings) -> int:
    import httpx

    from summaries.sources import USER_AGENT

    store = Store.from_url(settings.bot.database_url)
    await asyncio.to_thread(store.migrate)
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(20.0, connect=10.0),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
    ) as http:
        services = Services(
            settings=settings,
            store=AsyncStore(store),
            http=http,
            sender=None,
            callback_key=callback_key("offline"),
            topic_commands={},
            matcher=TopicMatcher(settings.app.topics),
        )
        reports = await ingest_due(services, services.clock(), force=True)
    store.close()
    for report in reports:
        outcome = report.error or f"{report.fetched} articles, {report.added} new"
        print(f"{report.source}: {outcome}")
    return 1 if any(report.error for report in reports) else 0
