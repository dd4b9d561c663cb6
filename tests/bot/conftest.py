"""The bot end to end: the real Application, over real HTTP, against the loopback Bot API fake."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import Timing, build_application
from bot.config import load_settings
from bot.ingest import ingest_due
from bot.rounds import digest_round
from bot.services import SERVICES_KEY, Services
from tests.support import updates as build
from tests.support.fake_bot_api import FakeBotApi

TOKEN = "123456:TEST-token"
ADMIN_ID = 4242

ARTICLES = {
    "quantum.txt": """\
        Quantum network links nine cities of the corridor

        The quantum metropolitan area network now links nine cities across the Yangtze River
        Delta. Engineers finished the last fibre section in March.

        Officials said the quantum key distribution equipment from three vendors works together.
        It is the first heterogeneous network of its kind in the region.

        Banks and hospitals will be the first users of the quantum network next year.
        """,
    "satellite.txt": """\
        Satellite internet cluster plan released in Songjiang

        A plan for the satellite internet industry cluster was released on Friday. It sets out
        how nine cities will build rockets, satellites and ground stations together.

        Songjiang will lead the industry, with a launch vehicle factory opening in 2025.
        The plan expects the satellite internet industry to be worth 100 billion yuan.

        Critics say the low orbit is getting crowded.
        """,
    "art.txt": """\
        Museum opens a painting show spanning six centuries

        The Pudong Art Museum opened an exhibition of paintings from six centuries on Saturday.
        It brings together works from museums in Europe and Asia.

        The exhibition runs until October and tickets sell out quickly, the museum said.
        Curators spent three years preparing the show with partner galleries.
        """,
}


def write_articles(folder: Path, articles: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in articles.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")


def write_config(
    tmp_path: Path, *, page_size: int = 5, extra_bot: str = "", extra_sources: str = ""
) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            sources:
              - name: local-news
                location: news
                kind: text
            {{extra_sources}}
            topics:
              - name: quantum
                title: Quantum communication
                titles: {{zh: 量子通信}}
                description: Quantum networks
                keywords: [quantum, quantum key distribution]
              - name: satellite
                title: Satellite internet
                description: Satellites and rockets
                keywords: [satellite, satellite internet, rocket, launch vehicle]
              - name: culture
                title: Culture and arts
                description: Exhibitions and museums
                keywords: [museum, exhibition, painting, art]
            bot:
              database: bot.sqlite3
              admins: [{ADMIN_ID}]
              defaults:
                timezone: Asia/Shanghai
                time: "08:00"
              search:
                page_size: {page_size}
                per_user_per_minute: 100
            """
        ).replace("{extra_sources}\n", textwrap.indent(textwrap.dedent(extra_sources), "  "))
        + extra_bot,
        encoding="utf-8",
    )
    return config


async def eventually(condition, timeout: float = 10.0, what: str = "condition") -> None:
    """Waits until `condition()` holds (checked outside the fake's lock)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"no {what} within {timeout} s")
        await asyncio.sleep(0.01)


@dataclass
class Clock:
    """The bot's notion of now, moved by the tests instead of waiting."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 26, 7, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now


@dataclass
class RunningBot:
    fake: FakeBotApi
    application: Any
    clock: Clock
    config: Path

    @property
    def services(self) -> Services:
        return self.application.bot_data[SERVICES_KEY]

    async def ingest(self) -> None:
        await ingest_due(self.services, self.clock(), force=True)

    async def round(self) -> None:
        await digest_round(self.services, self.clock())

    async def command(self, user: dict, name: str, args: str = "", chat: dict | None = None):
        chat = chat or build.private_chat(user)
        self.fake.command(chat, user, name, args)
        return (await self.fake.wait_for_messages(chat["id"]))[0]

    async def say(self, user: dict, text: str):
        self.fake.private_message(user, text)
        return (await self.fake.wait_for_messages(user["id"]))[0]


def ticking(clock: Clock) -> Timing:
    """Digest rounds every 50 ms of real time (the clock decides what is due); no polling,
    so a test ingests when it chooses (a poll finishing late would race the round)."""
    return Timing(
        round_seconds=0.05,
        poll_seconds=3600,
        first_round_seconds=0.05,
        first_poll_seconds=3600,
        clock=clock,
    )


async def start_bot(
    fake: FakeBotApi,
    config: Path,
    clock: Clock,
    timing: Timing | None = None,
    *,
    base_url: str | None = None,
) -> Any:
    environ = {"TELEGRAM_BASE_URL": base_url or fake.base_url}
    settings = load_settings(config, environ=environ)
    timing = timing or Timing(
        round_seconds=3600,
        poll_seconds=3600,
        first_round_seconds=3600,
        first_poll_seconds=3600,
        clock=clock,
    )
    application = build_application(settings, TOKEN, timing=timing)
    await application.initialize()
    await application.post_init(application)
    await application.start()
    await application.updater.start_polling(poll_interval=0.0, timeout=1)
    return application


async def stop_bot(application: Any) -> None:
    if application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.post_stop(application)
    await application.shutdown()
    await application.post_shutdown(application)


@pytest.fixture
def news_folder(tmp_path: Path) -> Path:
    write_articles(tmp_path / "news", ARTICLES)
    return tmp_path / "news"


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as server:
        yield server


@pytest.fixture
async def running_bot(
    fake: FakeBotApi, tmp_path: Path, news_folder: Path
) -> AsyncIterator[RunningBot]:
    clock = Clock()
    config = write_config(tmp_path, page_size=1)
    application = await start_bot(fake, config, clock)
    bot = RunningBot(fake, application, clock, config)
    await bot.ingest()
    try:
        yield bot
    finally:
        await stop_bot(application)
        await asyncio.sleep(0)
