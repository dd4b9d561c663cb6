"""Responsiveness benchmark: command round trips while the bot delivers a large digest round.

    .venv/bin/python benchmarks/responsiveness.py                 # 10,000 chats, ~10 minutes
    .venv/bin/python benchmarks/responsiveness.py --chats 1000    # ~1 minute
    .venv/bin/python benchmarks/responsiveness.py --messages-per-second 29   # pace below 30/s

The strict Bot API fake (30 msg/s overall, 1/s per chat, 20/min per group; 429 + retry_after
beyond) runs in a thread of this process. The bot runs as users run it, in a process of its
own: ``python run_bot.py --config <tmp config>`` with TELEGRAM_BOT_TOKEN, TELEGRAM_BASE_URL and
DATABASE_URL (a fresh SQLite file) set. Before it starts, ``run_bot.py fetch`` stores the
bundled sample articles and N chats subscribed to a topic of them are seeded, all due now, so
the bot's first digest round (about 5 s after start) queues N digests.

Simulated users (20 by default, each one command every ~2 s: /help, /list, /search quantum)
write to the bot during the round. Latency is the reply's arrival at the fake minus the
command's injection, both on the fake's clock. Prints p50/p95/p99/max per phase (before the
first digest message, during delivery), the round's progress, 429s, lost and duplicated
digests, and delivery wall time against the ideal N/30 s. Target: p99 under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from _delivery_common import ROOT, start_fake  # puts the repository on sys.path

from bot.store import ChatDefaults, Store, Subscription
from tests.support import updates as build
from tests.support.fake_bot_api import FakeBotApi, SentMessage

RUN_BOT = ROOT / "run_bot.py"
BUNDLED_CONFIG = ROOT / "config" / "config.yaml"
GLOBAL_RATE = 30.0  # Telegram's messages per second per bot
FIRST_CHAT_ID = 100_000
FIRST_USER_ID = 900_000_000
PROBE_USER = build.user(FIRST_USER_ID - 1, "Probe")
COMMANDS: tuple[tuple[str, str], ...] = (("help", ""), ("list", ""), ("search", "quantum"))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=10_000, help="chats in the digest round")
    parser.add_argument("--users", type=int, default=20, help="simulated users sending commands")
    parser.add_argument(
        "--interval", type=float, default=2.0, help="seconds between a user's commands"
    )
    parser.add_argument("--topic", default="quantum", help="the topic every chat follows")
    parser.add_argument("--reply-timeout", type=float, default=30.0, help="unanswered after this")
    parser.add_argument(
        "--messages-per-second",
        type=float,
        help="the bot's delivery.messages_per_second (default: the bundled config's)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    return parser.parse_args(argv)


# -- setting up ------------------------------------------------------------------------------


def write_config(folder: Path, messages_per_second: float | None) -> Path:
    """The bundled configuration, with the sample's path made absolute and search unthrottled.

    The per-user search throttle (6/min by default) would answer most /search commands with
    its friendly refusal; the benchmark wants the real search's latency.
    """
    document = yaml.safe_load(BUNDLED_CONFIG.read_text(encoding="utf-8"))
    for source in document["sources"]:
        source["location"] = str((BUNDLED_CONFIG.parent / source["location"]).resolve())
    bot = document.setdefault("bot", {})
    bot["database"] = str(folder / "unused.sqlite3")  # DATABASE_URL wins
    bot.setdefault("search", {})["per_user_per_minute"] = 600
    if messages_per_second is not None:
        bot.setdefault("delivery", {})["messages_per_second"] = messages_per_second
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return config


def bot_environment(url: str, fake: FakeBotApi | None = None) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    environment.update(DATABASE_URL=url, PYTHONUNBUFFERED="1")
    if fake is not None:
        environment.update(TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_BASE_URL=fake.base_url)
    return environment


def fetch_articles(config: Path, url: str) -> None:
    """The sample articles go in through the bot's own `fetch` command."""
    finished = subprocess.run(
        [sys.executable, str(RUN_BOT), "fetch", "--config", str(config)],
        env=bot_environment(url),
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        raise SystemExit(f"run_bot.py fetch failed ({finished.returncode}):\n{finished.stderr}")


def seed_chats(url: str, count: int, topic: str) -> list[int]:
    """`count` private chats following `topic`, every one due a minute ago."""
    store = Store.from_url(url)
    try:
        matching = [s for s in store.recent_articles(None, 1000) if topic in s.digest.topics]
        if not matching:
            raise SystemExit(f"no stored article has the topic {topic!r}: choose another --topic")
        due = datetime.now(UTC) - timedelta(minutes=1)
        chats = list(range(FIRST_CHAT_ID, FIRST_CHAT_ID + count))
        for chat_id in chats:
            store.ensure_chat(chat_id, "private", f"Chat {chat_id}", ChatDefaults(), due)
            store.add_subscription(chat_id, Subscription("topic", topic))
        print(f"{len(matching)} stored articles have the topic {topic!r}")
        return chats
    finally:
        store.close()


def start_bot(config: Path, url: str, fake: FakeBotApi, log: Path) -> subprocess.Popen:
    with log.open("w") as output:
        return subprocess.Popen(
            [sys.executable, str(RUN_BOT), "--config", str(config)],
            cwd=ROOT,
            env=bot_environment(url, fake),
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a live process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


# -- the simulated users ------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    command: str
    injected: float  # the fake's time.monotonic() at injection
    replied: float | None  # at the reply's acceptance; None if unanswered
    update_id: int = 0

    @property
    def latency(self) -> float | None:
        return None if self.replied is None else self.replied - self.injected


async def ask(fake: FakeBotApi, user: dict, command: tuple[str, str], timeout: float) -> Sample:
    """Sends the command and waits for the chat's next message.

    ``wait_for_messages`` reads only messages no earlier call returned, so the cost of a check
    stays flat however long the chat gets (copying the whole chat each time starved the fake's
    thread and made it see bursts that the bot did not send).
    """
    update = fake.private_command(user, *command)
    injected = fake.injected_at(update["update_id"])
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            [reply] = await fake.wait_for_messages(user["id"], timeout=left)
        except TimeoutError:
            break
        if reply.at >= injected:  # not the late answer to an earlier, unanswered command
            return Sample(command[0], injected, reply.at, update["update_id"])
    return Sample(command[0], injected, None, update["update_id"])


async def simulate_user(
    fake: FakeBotApi,
    user: dict,
    start_after: float,
    args: argparse.Namespace,
    stop: asyncio.Event,
    samples: list[Sample],
) -> None:
    """One command every ~`interval` s (jittered), each sent once the previous is answered."""
    rng = random.Random(f"{args.seed}-{user['id']}")
    commands = itertools.cycle(COMMANDS[user["id"] % len(COMMANDS) :] + COMMANDS)
    await asyncio.sleep(start_after)
    while not stop.is_set():
        sample = await ask(fake, user, next(commands), args.reply_timeout)
        samples.append(sample)
        pause = args.interval * rng.uniform(0.8, 1.2) - (time.monotonic() - sample.injected)
        if pause > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)


# -- watching the round -----------------------------------------------------------------------


@dataclass
class Progress:
    chats: list[int]
    bot: subprocess.Popen
    url: str
    started: float = field(default_factory=time.monotonic)

    def delivered_chats(self, fake: FakeBotApi) -> int:
        per_chat = fake.stats.per_chat
        return sum(1 for chat_id in self.chats if per_chat[chat_id])

    def pending(self) -> int:
        store = Store.from_url(self.url)
        try:
            return store.count_pending()
        finally:
            store.close()


async def wait_for_round(fake: FakeBotApi, progress: Progress, timeout: float) -> bool:
    """Until every chat got its digest and nothing is pending; False on timeout."""
    deadline = time.monotonic() + timeout
    last_report = 0.0
    while time.monotonic() < deadline:
        if progress.bot.poll() is not None:
            raise SystemExit(f"the bot exited with {progress.bot.returncode} during the round")
        delivered = progress.delivered_chats(fake)
        if delivered == len(progress.chats) and progress.pending() == 0:
            return True
        if time.monotonic() - last_report >= 30:
            last_report = time.monotonic()
            elapsed = last_report - progress.started
            print(f"  {elapsed:5.0f} s: {delivered}/{len(progress.chats)} chats have their digest")
        await asyncio.sleep(0.5)
    return False


async def wait_until_answering(fake: FakeBotApi, bot: subprocess.Popen, log: Path) -> float:
    """The bot is up once it answers a /help; returns the seconds that took."""
    started = time.monotonic()
    update = fake.private_command(PROBE_USER, "help")
    while not fake.sent(PROBE_USER["id"]):
        if bot.poll() is not None:
            raise SystemExit(f"the bot exited with {bot.returncode}:\n{log.read_text()[-4000:]}")
        if time.monotonic() - started > 120:
            raise SystemExit(f"the bot did not answer /help within 120 s; see {log}")
        await asyncio.sleep(0.05)
    return fake.sent(PROBE_USER["id"])[0].at - fake.injected_at(update["update_id"])


async def measure(
    fake: FakeBotApi, progress: Progress, args: argparse.Namespace
) -> tuple[list[Sample], bool]:
    stop = asyncio.Event()
    samples: list[Sample] = []
    users = [build.user(FIRST_USER_ID + n, f"User{n}") for n in range(args.users)]
    tasks = [
        asyncio.create_task(
            simulate_user(fake, user, n * args.interval / max(1, args.users), args, stop, samples)
        )
        for n, user in enumerate(users)
    ]
    ideal = len(progress.chats) / GLOBAL_RATE
    complete = await wait_for_round(fake, progress, timeout=3 * ideal + 180)
    stop.set()
    await asyncio.gather(*tasks)
    return samples, complete


# -- figures ------------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_line(label: str, samples: Iterable[Sample]) -> str:
    chosen = list(samples)
    latencies = sorted(s.latency for s in chosen if s.latency is not None)
    unanswered = sum(1 for s in chosen if s.latency is None)
    if not latencies:
        return f"{label}: no answered commands ({unanswered} unanswered)"
    figures = ", ".join(
        f"{name} {percentile(latencies, share) * 1000:.0f} ms"
        for name, share in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))
    )
    verdict = "OK" if percentile(latencies, 0.99) < 1.0 else "OVER the 1 s target"
    return (
        f"{label}: {figures}, max {latencies[-1] * 1000:.0f} ms, count {len(latencies)},"
        f" unanswered {unanswered} (p99 {verdict})"
    )


@dataclass(frozen=True)
class Tally:
    delivered: int  # chats that got their digest
    lost: int  # chats that did not
    duplicated: int  # the same text accepted again in the same chat


def tally_digests(digests: Sequence[SentMessage], chats: Sequence[int]) -> Tally:
    """Judged on the seeded chats only: the users' chats get the same /help text many times."""
    per_chat = Counter(message.chat_id for message in digests)
    texts = Counter((message.chat_id, message.text) for message in digests)
    return Tally(
        delivered=sum(1 for chat_id in chats if per_chat[chat_id]),
        lost=sum(1 for chat_id in chats if not per_chat[chat_id]),
        duplicated=sum(count - 1 for count in texts.values()),
    )


def report(
    fake: FakeBotApi, chats: list[int], samples: list[Sample], users: int, complete: bool
) -> None:
    chat_set = set(chats)
    everything = fake.sent()
    digests = [m for m in everything if m.chat_id in chat_set]
    replies = [m for m in everything if FIRST_USER_ID <= m.chat_id < FIRST_USER_ID + users]
    stats = fake.stats
    if not digests:
        print("no digest message was delivered: nothing to measure (see the bot's log)")
        return
    first, last = digests[0].at, digests[-1].at
    wall = last - first
    replies_during = sum(1 for m in replies if first <= m.at <= last)
    counted = tally_digests(digests, chats)
    ideal = len(digests) / GLOBAL_RATE
    shared_ideal = (len(digests) + replies_during) / GLOBAL_RATE
    print()
    print(latency_line("before delivery", (s for s in samples if s.injected < first)))
    print(latency_line("during delivery", (s for s in samples if first <= s.injected <= last)))
    print(latency_line("all commands", samples))
    print(
        f"round {'complete' if complete else 'INCOMPLETE (timed out)'}: {len(digests)} digest"
        f" messages to {counted.delivered} of {len(chats)} chats in {wall:.1f} s;"
        f" lost {counted.lost}, duplicated {counted.duplicated}"
    )
    print(
        f"429 received {stats.rate_limited} (global {stats.rate_limited_global},"
        f" chat {stats.rate_limited_chat}, group {stats.rate_limited_group})"
    )
    print(
        f"delivery wall time {wall:.1f} s, ideal N/30 {ideal:.1f} s, ratio {wall / ideal:.3f};"
        f" with the {replies_during} replies sent meanwhile sharing the 30/s budget:"
        f" ideal {shared_ideal:.1f} s, ratio {wall / shared_ideal:.3f}"
    )


# -- main -------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, folder: Path) -> None:
    url = f"sqlite:///{folder / 'bot.sqlite3'}"
    config = write_config(folder, args.messages_per_second)
    started = time.perf_counter()
    fetch_articles(config, url)
    chats = seed_chats(url, args.chats, args.topic)
    print(f"seeded {len(chats)} due chats in {time.perf_counter() - started:.1f} s")

    fake = start_fake(1.0)
    log = folder / "bot.log"
    bot = start_bot(config, url, fake, log)
    try:
        startup = await wait_until_answering(fake, bot, log)
        print(f"the bot answers (/help in {startup * 1000:.0f} ms); {args.users} users start")
        progress = Progress(chats, bot, url)
        wall, own_cpu, bot_cpu = time.monotonic(), time.process_time(), cpu_seconds(bot.pid)
        samples, complete = await measure(fake, progress, args)
        wall, own_cpu = time.monotonic() - wall, time.process_time() - own_cpu
        bot_cpu = (cpu_seconds(bot.pid) or 0.0) - (bot_cpu or 0.0)
        rss = peak_rss_mb(bot.pid)
        report(fake, chats, samples, args.users, complete)
        print(f"peak RSS of the bot process {rss:.0f} MB" if rss else "peak RSS unknown")
        print(
            f"CPU during the measurement ({wall:.0f} s): bot process {bot_cpu / wall:.0%},"
            f" this process (fake + users) {own_cpu / wall:.0%} of one core"
        )
    finally:
        bot.send_signal(signal.SIGTERM)
        try:
            code = bot.wait(timeout=60)
        except subprocess.TimeoutExpired:
            bot.kill()
            code = bot.wait()
        fake.stop_in_thread()
    print(f"bot stopped by SIGTERM with exit code {code}")
    if args.keep:
        print(f"its log: {log}")


def main() -> None:
    args = parse_args()
    if args.keep:
        folder = Path(tempfile.mkdtemp(prefix="responsiveness-"))
        asyncio.run(run(args, folder))
        return
    with tempfile.TemporaryDirectory(prefix="responsiveness-") as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
