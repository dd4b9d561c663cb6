"""Fairness benchmark: one chat floods the bot while 20 others use it; then SIGTERM.

    .venv/bin/python benchmarks/fairness.py                      # 1,000 commands, 60 s
    .venv/bin/python benchmarks/fairness.py --flood 250 --seconds 30
    .venv/bin/python benchmarks/fairness.py --minute --chats 2000 # digests at their minute
    .venv/bin/python benchmarks/fairness.py --flooders 100 --flood 20  # 100 chats at once
    .venv/bin/python benchmarks/fairness.py --flooders 100 --flood 2 --flood-every 1
    .venv/bin/python benchmarks/fairness.py --group               # a member floods a group

The strict Bot API fake (30 msg/s overall, 1/s per chat) runs in a thread of this process; the
bot runs as users run it, ``python run_bot.py`` in a process of its own, over a fresh SQLite
file holding the bundled sample plus ``--articles`` synthetic articles of the topic (so every
/quantum draws from a full candidate pool, as in production).

Flood (issue 8, items 1 and 2): ``--users`` users each send a command every ~2 s for
``--seconds`` (the baseline), then one private chat sends ``--flood`` /quantum commands in one
burst and the users go on for ``--seconds`` more. Prints the others' round trip p50/p95/p99
in both phases (target p99 under 1 s; on a loaded machine compare the phases), the bot's CPU,
what the flooder got, the bot's peak RSS (VmHWM; target under 250 MB), and how long SIGTERM
takes to end the process (target under 10 s).

``--flooders N`` makes N chats flood together (each ``--flood`` commands, again every
``--flood-every`` s if given); the split line says whether the others waited for the bot to
fetch their update (behind the flood's) or for the reply once fetched.

Group: a group follows the topic and its digest is due at the next top of a minute at least
45 s away; from 30 s before that a member sends /help every ``--member-interval`` s. Prints
when the digest's first message reached the group, in seconds after its minute, and how many
replies the group got meanwhile (the group may get 20 messages a minute).

Minute (item 13): once the bot is up, ``--chats`` chats become due at the next top of a
minute at least 15 s away; prints when the first and last digest message reached the fake, in
seconds after that minute (target: the first within 5 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from responsiveness import (  # benchmarks/ is on sys.path when this runs as a script
    Sample,
    cpu_seconds,
    fetch_articles,
    latency_line,
    peak_rss_mb,
    percentile,
    simulate_user,
    start_bot,
    start_fake,
    wait_until_answering,
    write_config,
)
from sqlalchemy import update

from bot.store import ChatDefaults, Store, Subscription
from bot.store.schema import chats
from summaries.models import Article, Digest
from tests.support import updates as build
from tests.support.fake_bot_api import FakeBotApi, SentMessage

FIRST_FLOODER_ID = 700_000_001
FIRST_USER_ID = 900_000_000
FIRST_CHAT_ID = 100_000
# The synthetic articles carry the topic in their digest, not the word "quantum" in their
# text: the users' /search quantum then costs what it costs on the sample alone, and the
# flooder's /quantum still draws from a pool of --articles full-size articles.
PARAGRAPH = (
    "Entangled photon links between the cities carried bank traffic for a month "
    "without a fault, engineers said, and the operators plan to add three more nodes. "
) * 8


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=1000, help="commands in each chat's burst")
    parser.add_argument("--flooders", type=int, default=1, help="chats that flood at once")
    parser.add_argument(
        "--flood-every",
        type=float,
        default=0.0,
        help="each flooder sends another burst this often during the flood (0: once)",
    )
    parser.add_argument("--command", default="quantum", help="what the flooder sends")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=60.0, help="measure this long")
    parser.add_argument("--articles", type=int, default=1000, help="synthetic /quantum articles")
    parser.add_argument("--reply-timeout", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--minute", action="store_true", help="measure digests at their minute")
    parser.add_argument("--chats", type=int, default=2000, help="due chats in --minute mode")
    parser.add_argument("--keep", action="store_true", help="keep the bot's log and database")
    parser.add_argument("--group", action="store_true", help="a member floods a group")
    parser.add_argument("--member-interval", type=float, default=0.5)
    return parser.parse_args()


def seed_articles(url: str, count: int) -> None:
    store = Store.from_url(url)
    try:
        now = datetime.now(UTC)
        items = []
        for number in range(count):
            article = Article.create(
                source="bench",
                title=f"Photon link number {number} opens",
                paragraphs=[PARAGRAPH, f"Node {number} is the newest. " + PARAGRAPH],
                url=f"https://example.org/q/{number}",
                published=now - timedelta(minutes=number),
            )
            bullets = ("Photon links carried bank traffic.", f"Node {number} opened.")
            items.append((article, Digest(article.id, bullets, ("quantum",))))
        for start in range(0, len(items), 200):
            store.add_articles(items[start : start + 200], now)
    finally:
        store.close()


def seed_due_chats(url: str, count: int, due: datetime) -> list[int]:
    store = Store.from_url(url)
    try:
        chats = list(range(FIRST_CHAT_ID, FIRST_CHAT_ID + count))
        for chat_id in chats:
            store.ensure_chat(chat_id, "private", f"Chat {chat_id}", ChatDefaults(), due)
            store.add_subscription(chat_id, Subscription("topic", "quantum"))
        return chats
    finally:
        store.close()


def stop_bot(bot: subprocess.Popen) -> tuple[int, float]:
    started = time.monotonic()
    bot.send_signal(signal.SIGTERM)
    try:
        code = bot.wait(timeout=120)
    except subprocess.TimeoutExpired:
        bot.kill()
        code = bot.wait()
    return code, time.monotonic() - started


async def end_users_then_bot(
    bot: subprocess.Popen, stop: asyncio.Event, users: list[asyncio.Task[None]]
) -> tuple[float | None, int, float]:
    """Stop the simulated users, then SIGTERM the bot: its peak RSS, exit code and exit time."""
    stop.set()
    await asyncio.gather(*users)
    rss = peak_rss_mb(bot.pid)
    code, stop_seconds = stop_bot(bot)
    return rss, code, stop_seconds


async def flood(args: argparse.Namespace, folder: Path, url: str, config: Path) -> None:
    fake = start_fake(1.0)
    log = folder / "bot.log"
    bot = start_bot(config, url, fake, log)
    flooders = [build.user(FIRST_FLOODER_ID + n, f"Flood{n}") for n in range(args.flooders)]
    try:
        await wait_until_answering(fake, bot, log)
        rss_idle = peak_rss_mb(bot.pid)
        print(f"the bot answers; peak RSS so far {rss_idle:.0f} MB")
        stop = asyncio.Event()
        samples: list[Sample] = []
        users = [build.user(FIRST_USER_ID + n, f"User{n}") for n in range(args.users)]
        tasks = [
            asyncio.create_task(
                simulate_user(fake, user, n * args.interval / args.users, args, stop, samples)
            )
            for n, user in enumerate(users)
        ]
        await asyncio.sleep(args.seconds)  # the same users without a flood: the baseline
        flood_at = time.monotonic()
        cpu_before = cpu_seconds(bot.pid) or 0.0
        await send_floods(fake, flooders, args)
        bot_cpu = (cpu_seconds(bot.pid) or 0.0) - cpu_before
        rss, code, stop_seconds = await end_users_then_bot(bot, stop, tasks)
    finally:
        if bot.poll() is None:
            bot.kill()
        fake.stop_in_thread()
    print_timeline(samples, flood_at)
    per_second = Counter(int(m.at - flood_at) for m in fake.sent() if m.at >= flood_at)
    rates = ", ".join(str(per_second[n]) for n in range(int(args.seconds)))
    print(f"messages the fake accepted per second from the flood: {rates}")
    for name in sorted({s.command for s in samples}):
        print(latency_line(f"  /{name}", (s for s in samples if s.command == name)))
    flooder = [m.text for user in flooders for m in fake.sent(user["id"])]
    notices = sum("faster than I can answer" in text for text in flooder)
    sent_by_flooders = args.flood * len(flooders) * bursts(args)
    print()
    baseline = (s for s in samples if s.injected < flood_at)
    print(latency_line("others, baseline (no flood)", baseline))
    during = [s for s in samples if s.injected >= flood_at]
    print(latency_line("others, during the flood", during))
    print(fetch_line(fake, during))
    print(
        f"the {len(flooders)} flooder(s) got {len(flooder) - notices} answers and {notices}"
        f" slow-down notice(s) for {sent_by_flooders} commands"
    )
    stats = fake.stats
    events = sorted(event.at for event in stats.rate_limit_events)
    episodes = [at for n, at in enumerate(events) if n == 0 or at - events[n - 1] > 1.0]
    print(
        f"429 received {stats.rate_limited} (global {stats.rate_limited_global},"
        f" chat {stats.rate_limited_chat}, group {stats.rate_limited_group})"
        f" in {len(episodes)} episode(s) (429s less than 1 s apart count as one); at"
        f" {', '.join(f'{at - flood_at:+.1f}' for at in episodes[:12])} s from the flood"
    )
    print(f"peak RSS of the bot process {rss:.0f} MB (target under 250 MB)")
    print(f"bot CPU during the flood: {bot_cpu / args.seconds:.0%} of one core")
    verdict = "OK" if stop_seconds < 10 else "OVER the 10 s target"
    print(f"SIGTERM to exit: {stop_seconds:.1f} s, exit code {code} ({verdict})")


def fetch_line(fake: FakeBotApi, samples: list[Sample]) -> str:
    """Where the others' round trips went: waiting for the bot to fetch their update (behind
    the flood's) and from then on to the reply."""
    waits, rests = [], []
    for sample in samples:
        fetched = fake.fetched_at(sample.update_id)
        if fetched is not None and sample.replied is not None:
            waits.append(fetched - sample.injected)
            rests.append(sample.replied - fetched)
    if not waits:
        return "no answered update to split"
    waits.sort()
    rests.sort()
    return (
        f"  of which waiting to be fetched: p50 {percentile(waits, 0.5) * 1000:.0f} ms,"
        f" p99 {percentile(waits, 0.99) * 1000:.0f} ms; fetched to reply: p50"
        f" {percentile(rests, 0.5) * 1000:.0f} ms, p99 {percentile(rests, 0.99) * 1000:.0f} ms"
    )


def bursts(args: argparse.Namespace) -> int:
    if args.flood_every <= 0:
        return 1
    return max(1, math.ceil(args.seconds / args.flood_every))


async def send_floods(fake: FakeBotApi, flooders: list[dict], args: argparse.Namespace) -> None:
    """Each flooder's burst, interleaved as chats flooding together arrive; again every
    ``--flood-every`` s; returns after ``--seconds``."""
    started = time.monotonic()
    for number in range(bursts(args)):
        await asyncio.sleep(max(0.0, started + number * args.flood_every - time.monotonic()))
        for _ in range(args.flood):
            for user in flooders:
                fake.private_command(user, args.command)
        if number == 0:
            print(f"{len(flooders)} chat(s) each sent {args.flood} /{args.command} at once")
    await asyncio.sleep(max(0.0, started + args.seconds - time.monotonic()))


def print_timeline(samples: list[Sample], flood_at: float) -> None:
    """The others' worst round trip per 5 s around the flood: a one-off burst or lasting."""
    buckets: dict[int, list[float]] = {}
    for sample in samples:
        if sample.latency is not None:
            buckets.setdefault(int((sample.injected - flood_at) // 5), []).append(sample.latency)
    line = ", ".join(
        f"{key * 5:+d}s: {max(values) * 1000:.0f}" for key, values in sorted(buckets.items())
    )
    print(f"others' worst round trip (ms) per 5 s from the flood: {line}")


async def minute(args: argparse.Namespace, folder: Path, url: str, config: Path) -> None:
    chats = seed_due_chats(url, args.chats, datetime.now(UTC) + timedelta(days=1))
    fake = start_fake(1.0)
    log = folder / "bot.log"
    bot = start_bot(config, url, fake, log)
    offset = time.time() - time.monotonic()  # the fake stamps messages with time.monotonic()
    try:
        await wait_until_answering(fake, bot, log)
        # Once the bot is up (start-up is slow on a loaded machine), all chats become due at
        # the next top of a minute at least 15 s away.
        now = datetime.now(UTC)
        due = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        if due - now < timedelta(seconds=15):
            due += timedelta(minutes=1)
        make_due(url, due)
        print(f"{len(chats)} chats due at {due:%H:%M:%S} UTC")
        chat_set = set(chats)
        deadline = due.timestamp() + 120
        while time.time() < deadline:
            if sum(1 for m in fake.sent() if m.chat_id in chat_set) >= min(len(chats), 300):
                break
            await asyncio.sleep(0.5)
        digests = [m for m in fake.sent() if m.chat_id in chat_set]
    finally:
        code, _ = stop_bot(bot)
        fake.stop_in_thread()
    if not digests:
        print(f"no digest arrived within 120 s of its minute; see {log}")
        return
    first = digests[0].at + offset - due.timestamp()
    print(f"first digest message {first:.1f} s after its minute (target under 5 s)")
    last = digests[-1].at + offset - due.timestamp()
    print(f"{len(digests)} digest messages within {last:.0f} s of the minute")
    print(f"bot exit code {code}")


def make_due(url: str, due: datetime, chat_ids: list[int] | None = None) -> None:
    store = Store.from_url(url)
    try:
        with store.engine.begin() as conn:
            statement = update(chats).values(next_digest_at=due)
            if chat_ids is not None:
                statement = statement.where(chats.c.chat_id.in_(chat_ids))
            conn.execute(statement)
    finally:
        store.close()


GROUP = build.group(-700_100, "Busy group")
MEMBER = build.user(700_200_001, "Member")


async def group(args: argparse.Namespace, folder: Path, url: str, config: Path) -> None:
    store = Store.from_url(url)
    try:
        later = datetime.now(UTC) + timedelta(days=1)
        store.ensure_chat(GROUP["id"], "group", GROUP["title"], ChatDefaults(), later)
        store.add_subscription(GROUP["id"], Subscription("topic", "quantum"))
    finally:
        store.close()
    fake = start_fake(1.0)
    log = folder / "bot.log"
    bot = start_bot(config, url, fake, log)
    try:
        await wait_until_answering(fake, bot, log)
        now = datetime.now(UTC)
        due = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        while due - now < timedelta(seconds=45):
            due += timedelta(minutes=1)
        make_due(url, due, [GROUP["id"]])
        print(f"the group's digest is due at {due:%H:%M:%S} UTC; the member starts 30 s before")
        await asyncio.sleep(max(0.0, due.timestamp() - 30 - time.time()))
        sent, first = await flood_group(fake, due, args.member_interval)
    finally:
        code, _ = stop_bot(bot)
        fake.stop_in_thread()
    offset = time.time() - time.monotonic()  # the fake stamps messages with time.monotonic()
    messages = fake.sent(GROUP["id"])
    after = [m for m in messages if m.at + offset >= due.timestamp()]
    replies = sum(1 for m in after if m.text.startswith("<b>Commands"))
    if first is None:
        print(f"no digest reached the group within 150 s of its minute; see {log}")
    else:
        print(
            f"the group's digest: first message {first.at + offset - due.timestamp():.1f} s"
            f" after its minute, while the member sent {sent} commands"
        )
    print(f"messages in the group after its minute: {len(after)}, of which {replies} replies")
    print(f"bot exit code {code}")


def is_digest(message: SentMessage) -> bool:
    text = message.text
    return not text.startswith("<b>Commands") and "faster than I can answer" not in text


async def flood_group(
    fake: FakeBotApi, due: datetime, interval: float
) -> tuple[int, SentMessage | None]:
    """The member's commands until the digest arrives (or 150 s after its minute)."""
    sent = 0
    while time.time() < due.timestamp() + 150:
        fake.command(GROUP, MEMBER, "help")
        sent += 1
        digest = next((m for m in fake.sent(GROUP["id"]) if is_digest(m)), None)
        if digest is not None:
            return sent, digest
        await asyncio.sleep(interval)
    return sent, None


def main() -> None:
    args = parse_args()
    if args.keep:
        folder = Path(tempfile.mkdtemp(prefix="fairness-"))
        print(f"the bot's log and database stay in {folder}")
        run(args, folder)
        return
    with tempfile.TemporaryDirectory(prefix="fairness-") as tmp:
        run(args, Path(tmp))


def run(args: argparse.Namespace, folder: Path) -> None:
    url = f"sqlite:///{folder / 'bot.sqlite3'}"
    config = write_config(folder, None)
    fetch_articles(config, url)
    seed_articles(url, args.articles)
    runner = minute if args.minute else group if args.group else flood
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(runner(args, folder, url, config))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
