"""Shared by the delivery benchmarks: seed a round, run the fake, start and judge the sender."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.store import ChatDefaults, Store  # noqa: E402
from summaries.models import Article, Digest  # noqa: E402
from tests.support.fake_bot_api import FakeBotApi  # noqa: E402
from tests.support.fake_bot_api import RateLimits as FakeLimits  # noqa: E402

WORKER = Path(__file__).with_name("_delivery_worker.py")
NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def chat_ids(count: int, group_share: float = 0.05) -> list[int]:
    """``count`` chats: mostly private (positive ids), a share of groups (negative)."""
    groups = int(count * group_share)
    return [-(1_000 + i) for i in range(groups)] + [10_000 + i for i in range(count - groups)]


def digest_text(chat_id: int) -> str:
    return (
        f"<b>Morning digest</b> for chat {chat_id}\n"
        "• <b>Quantum</b>: a sample bullet with enough words to look like a real digest line.\n"
        "• <i>Satellites</i>: another bullet, <a href='https://example.org/a'>with a link</a>."
    )


def seed_round(url: str, chats: Iterable[int]) -> None:
    """A migrated store in which every chat has one digest message pending."""
    store = Store.from_url(url)
    store.migrate()
    article = Article.create(source="bench", title="Bench", paragraphs=["Body."], url=None)
    store.add_articles([(article, Digest(article.id, ("A bullet.",)))], NOW)
    for chat_id in chats:
        chat_type = "private" if chat_id > 0 else "group"
        store.ensure_chat(chat_id, chat_type, f"Chat {chat_id}", ChatDefaults(), NOW)
        store.enqueue_digest(chat_id, [article.id], [digest_text(chat_id)], False, NOW, None)
    store.close()


def pending_chat_ids(url: str) -> set[int]:
    """Chats that still have a message pending in the store, whenever it is due."""
    store = Store.from_url(url)
    try:
        return {m.chat_id for m in store.pending_messages(NOW + timedelta(days=3650), 10**9)}
    finally:
        store.close()


def start_fake(scale: float) -> FakeBotApi:
    """The strict fake in a background thread of this process (the sender gets its own)."""
    fake = FakeBotApi(rate_limits=FakeLimits(scale=scale))
    fake.start_in_thread()
    return fake


def worker_command(url: str, fake: FakeBotApi, *, scale: float, extra: list[str]) -> list[str]:
    return [
        sys.executable,
        str(WORKER),
        "--db",
        url,
        "--base-url",
        fake.base_url,
        "--token",
        fake.token,
        "--scale",
        str(scale),
        *extra,
    ]


def run_worker(command: list[str]) -> dict[str, object]:
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise RuntimeError(f"sender process failed ({finished.returncode}):\n{finished.stderr}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class Tally:
    """What reached the chats, judged against what should have."""

    delivered: int
    lost: int
    duplicated: int


def tally(fake: FakeBotApi, expected_chats: Iterable[int]) -> Tally:
    counts = Counter(message.chat_id for message in fake.sent())
    expected = list(expected_chats)
    return Tally(
        delivered=sum(1 for chat_id in expected if counts[chat_id] >= 1),
        lost=sum(1 for chat_id in expected if counts[chat_id] == 0),
        duplicated=sum(max(0, n - 1) for n in counts.values()),
    )


class ServerCpu:
    """CPU seconds the shared servers spent during a run: the PostgreSQL backends of one
    database (found by their process title) and redis-server, sampled from /proc (a backend
    that exits between two samples loses at most its last ``every`` seconds)."""

    def __init__(self, database: str, every: float = 0.25) -> None:
        self.database = database
        self.every = every
        self._seen: dict[tuple[str, int], float] = {}
        self._base: dict[tuple[str, int], float] = {}
        self._kinds: dict[int, str | None] = {}  # pid -> what it is (read once)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ServerCpu:
        self._base = dict(self._sample())
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._seen.update(self._sample())

    def seconds(self, kind: str) -> float:
        return sum(t - self._base.get(key, 0.0) for key, t in self._seen.items() if key[0] == kind)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._seen.update(self._sample())

    def _sample(self) -> Iterator[tuple[tuple[str, int], float]]:
        ticks = os.sysconf("SC_CLK_TCK")
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            if pid not in self._kinds:
                self._kinds[pid] = self._kind(pid)
            kind = self._kinds[pid]
            if kind is None:
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            yield (kind, pid), (int(fields[11]) + int(fields[12])) / ticks

    def _kind(self, pid: int) -> str | None:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                title = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return None
        if title.startswith("postgres:") and f" {self.database} " in title:
            return "postgres"
        if title.split(" ")[0].endswith("redis-server"):
            return "redis"
        return None


def frozen_fake(limits: FakeLimits):
    """The fake in a thread of this process, and the GC pauses of this process from now on.

    The fake stands for Telegram's servers, which do not stop for 60 ms: a full collection of
    this process's start-up heap froze the fake's clock that long, and the requests it then
    stamped all at once overfilled its one-second window (429s that no sender made). So the
    heap is frozen first, as the bot does after start-up (bot.heap).
    """
    from _delivery_worker import GcPauses

    gc.collect()
    gc.freeze()
    fake = FakeBotApi(rate_limits=limits)
    fake.start_in_thread()
    return fake, GcPauses()


def pauses_line(pauses) -> str:
    longest = "/".join(f"{1000 * x:.1f}" for x in pauses.longest)
    return f"the fake's process: longest GC pause (gen 0/1/2) {longest} ms, runs {pauses.count}"
