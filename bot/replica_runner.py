"""Starting a replica: the one-process guard for SQLite, and polling by the leader only.

Telegram serves one ``getUpdates`` poller per token, so in polling mode only the leader (see
``bot.replicas``) polls; the others run everything else (sending the outbox, answering
nothing until they lead) and start polling the moment they become the leader. In webhook mode
every replica serves the webhook, so this runner is not needed there.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import hmac
import logging
import signal
from pathlib import Path
from typing import IO, Any

from sqlalchemy.engine import make_url
from telegram import Update
from telegram.ext import Application

from bot.services import SERVICES_KEY, Services

_LOG = logging.getLogger(__name__)


class AnotherProcess(Exception):
    """A second bot process on an SQLite database."""


def hold_sqlite(database_url: str) -> IO[str] | None:
    """Lock ``<database>.lock`` for the life of the process; None if not SQLite.

    SQLite is the embedded, one-process engine: a second bot process on the same file would
    poll the same token and send the same outbox. Raises ``AnotherProcess`` with the one line
    to print.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    lock_path = Path(url.database).with_name(Path(url.database).name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = lock_path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise AnotherProcess(
            f"another bot process is already running on {url.database}; SQLite serves one "
            "process: set DATABASE_URL to a PostgreSQL database to run several replicas"
        ) from None
    return handle


def webhook_secret(token: str) -> str:
    """The same secret on every replica (so any of them accepts Telegram's calls), derived
    from the token; Telegram allows A-Z, a-z, 0-9, _ and -."""
    return hmac.new(token.encode(), b"digest-bot webhook secret", hashlib.sha256).hexdigest()


def run_polling_replica(application: Application) -> None:
    """Like ``Application.run_polling``, but the updater runs only while this replica leads."""
    asyncio.run(_run(application))


async def _run(application: Application) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        try:
            await _poll_while_leading(application, stop)
        finally:
            await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


async def _poll_while_leading(application: Application, stop: asyncio.Event) -> None:
    services: Services = application.bot_data[SERVICES_KEY]
    coordinator = services.replicas
    updater = application.updater
    assert updater is not None
    while not stop.is_set():
        leading = coordinator is None or coordinator.is_leader
        if leading and not updater.running:
            _LOG.info("Leading: polling Telegram for updates")
            await updater.start_polling(allowed_updates=Update.ALL_TYPES)
        elif not leading and updater.running:
            _LOG.info("No longer leading: another replica polls")
            await updater.stop()
        if coordinator is not None:
            coordinator.changed.clear()
        await _first_of(stop.wait(), coordinator.changed.wait() if coordinator else None)
    if updater.running:
        await updater.stop()


async def _first_of(*waits: Any) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits if w is not None]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
