"""Big feeds benchmark: huge feeds arrive while 20 users use the bot. Does anyone wait?

    .venv/bin/python benchmarks/big_feeds.py                          # 6 feeds x 5,000 items
    .venv/bin/python benchmarks/big_feeds.py --feeds 2 --items 1000   # a quick look

A source that publishes thousands of long items at once (a hostile or broken feed, or a big
site's archive) makes the bot parse megabytes of XML and summarise every item. That is the
bot's own work, but it must not slow anybody's commands (issue 8: no one source may hurt
anyone else).

The strict Bot API fake and an HTTP server for the feeds run in threads of this process; the
bot runs as users run it, ``python run_bot.py`` in its own process, over a fresh SQLite file,
with the bundled sources plus ``--feeds`` feed sources polled every minute (``max_articles``
raised to ``--items``); ``--processes`` sets ``bot.ingest.processes`` (0: ingestion on threads
of the bot's own process, as before worker processes). The feeds first carry one item each.
``--users`` users send a command every ~2 s; after ``--seconds`` every feed switches to
``--items`` new items of ~1 KB each, and the run goes on until the bot has stored them all (or
``--timeout``). Prints the users' round trips (p50/p95/p99, target p99 under 1 s) before the
bot fetched the grown feeds (the baseline) and while it ingested them, how long ingestion
took, the peak RSS of the bot and of its child processes, and SIGTERM's time to exit.

A script, never run in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import yaml
from fairness import end_users_then_bot
from responsiveness import (  # benchmarks/ is on sys.path when this runs as a script
    Sample,
    cpu_seconds,
    fetch_articles,
    latency_line,
    peak_rss_mb,
    simulate_user,
    start_bot,
    start_fake,
    wait_until_answering,
    write_config,
)
from sqlalchemy import func, select

from bot.store import Store
from bot.store.schema import articles
from tests.support import updates as build

FIRST_USER_ID = 900_000_000
WORDS = [
    *("council", "port", "engineers", "budget", "railway", "hospital", "school", "river"),
    *("bridge", "museum", "market", "harbour", "district", "tunnel", "library", "festival"),
    *("orchestra", "factory", "laboratory", "satellite", "vaccine", "reactor", "drone"),
    *("campus", "stadium", "airport", "ferry", "subway", "garden", "archive"),
]
VERBS = ["opened", "approved", "delayed", "reviewed", "expanded", "announced", "funded"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=6)
    parser.add_argument("--items", type=int, default=5000, help="items per feed once it grows")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=5.0, help="before the feeds grow")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up on ingestion")
    parser.add_argument("--reply-timeout", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--processes", type=int, default=1, help="bot.ingest.processes (0: threads, as before)"
    )
    return parser.parse_args()


def item_text(rng: random.Random, sentences: int = 8) -> str:
    """~1 KB of distinct sentences, so summarising does real work on every item."""
    out = []
    for _ in range(sentences):
        subject, other = rng.sample(WORDS, 2)
        number = rng.randint(2, 990)
        out.append(
            f"The {subject} board {rng.choice(VERBS)} plans for {number} new {other} projects "
            f"near the {rng.choice(WORDS)} on {rng.choice(['Monday', 'Tuesday', 'Friday'])}, "
            f"officials said."
        )
    return " ".join(out)


def feed_xml(feed: int, items: int, generation: int, seed: int) -> bytes:
    rng = random.Random(f"{seed}-{feed}-{generation}")
    entries = []
    for n in range(items):
        title = f"Feed {feed} story {generation}-{n}: {rng.choice(WORDS)} {rng.choice(VERBS)}"
        entries.append(
            f"<item><title>{escape(title)}</title><guid>big-{feed}-{generation}-{n}</guid>"
            f"<link>https://feeds.example/{feed}/{generation}/{n}</link>"
            f"<description>{escape(item_text(rng))}</description></item>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Big feed {feed}</title>{''.join(entries)}</channel></rss>"
    ).encode()


class FeedServer:
    """Serves /N.xml: one item each until `grow()`, then `items` new ones each."""

    def __init__(self, feeds: int, items: int, seed: int) -> None:
        self.small = {n: feed_xml(n, 1, 0, seed) for n in range(feeds)}
        self.big = {n: feed_xml(n, items, 1, seed) for n in range(feeds)}
        self.grown = False
        self.big_requests: list[float] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                number = int(self.path.strip("/").removesuffix(".xml"))
                body = (server.big if server.grown else server.small)[number]
                if server.grown:
                    server.big_requests.append(time.monotonic())
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()


def add_feed_sources(config: Path, server: FeedServer, args: argparse.Namespace) -> None:
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    document["bot"].setdefault("ingest", {})["processes"] = args.processes
    feeds, items = args.feeds, args.items
    for n in range(feeds):
        document["sources"].append(
            {
                "name": f"big-{n}",
                "location": f"{server.base_url}/{n}.xml",
                "kind": "feed",
                "interval_minutes": 1,
                "max_articles": items,
                "language": "en",
            }
        )
    config.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def stored_articles(url: str) -> int:
    store = Store.from_url(url)
    try:
        with store.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(articles)) or 0)
    finally:
        store.close()


def child_pids(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


async def run(args: argparse.Namespace, folder: Path) -> None:
    url = f"sqlite:///{folder / 'bot.sqlite3'}"
    config = write_config(folder, None)
    fetch_articles(config, url)  # the bundled sample, as in the other benchmarks
    server = FeedServer(args.feeds, args.items, args.seed)
    add_feed_sources(config, server, args)
    fake = start_fake(1.0)
    log = folder / "bot.log"
    bot = start_bot(config, url, fake, log)
    samples: list[Sample] = []
    children_rss: dict[int, float] = {}
    try:
        await wait_until_answering(fake, bot, log)
        await asyncio.sleep(5)  # the first polls of the small feeds
        before = stored_articles(url)
        expected = before + args.feeds * args.items
        stop = asyncio.Event()
        users = [build.user(FIRST_USER_ID + n, f"User{n}") for n in range(args.users)]
        tasks = [
            asyncio.create_task(
                simulate_user(fake, user, n * args.interval / args.users, args, stop, samples)
            )
            for n, user in enumerate(users)
        ]
        await asyncio.sleep(args.seconds)  # at least this much baseline: polls come every minute
        flip = time.monotonic()
        server.grown = True
        cpu_before = cpu_seconds(bot.pid) or 0.0
        while stored_articles(url) < expected and time.monotonic() - flip < args.timeout:
            for child in child_pids(bot.pid):
                rss = peak_rss_mb(child)
                if rss is not None:
                    children_rss[child] = max(children_rss.get(child, 0.0), rss)
            await asyncio.sleep(1.0)
        done = time.monotonic()
        stored = stored_articles(url) - before
        bot_cpu = (cpu_seconds(bot.pid) or 0.0) - cpu_before
        rss, code, stop_seconds = await end_users_then_bot(bot, stop, tasks)
    finally:
        if bot.poll() is None:
            bot.kill()
        fake.stop_in_thread()
        server.stop()
    first_big = min(server.big_requests, default=flip)
    print(
        f"{args.feeds} feeds x {args.items} items ({len(server.big[0]) / 1e6:.1f} MB each),"
        f" ingest processes {args.processes}"
    )
    print(
        f"stored {stored} of {args.feeds * args.items} new articles; first big fetch"
        f" {first_big - flip:.1f} s after the switch, all stored {done - first_big:.1f} s"
        f" after it ({stored / max(done - first_big, 1e-9):.0f} articles/s)"
    )
    print(latency_line("others, baseline", (s for s in samples if s.injected < first_big)))
    during = (s for s in samples if first_big <= s.injected <= done)
    print(latency_line("others, while the feeds were ingested", during))
    print(f"bot process CPU meanwhile: {bot_cpu / max(done - flip, 1e-9):.0%} of one core")
    children = ", ".join(f"{mb:.0f} MB" for mb in children_rss.values()) or "none"
    print(f"peak RSS: bot process {rss:.0f} MB; its child processes {children}")
    print(f"SIGTERM to exit: {stop_seconds:.1f} s, exit code {code}")


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="big-feeds-") as folder:
        asyncio.run(run(args, Path(folder)))


if __name__ == "__main__":
    sys.exit(main())
