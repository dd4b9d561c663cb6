"""5,000 chats following 1,000 distinct feeds: is each fetched once per interval, at the pace?

Usage:
    python benchmarks/user_sources_polling.py [--chats 5000] [--feeds 1000] [--minutes 120]
                                              [--rate 20] [--interval 30]

A real store (SQLite in a temporary folder) and the real poller; the feeds are answered by an
httpx MockTransport (every request counted), and time is simulated: the poll job runs once a
simulated minute, and the request pacer's sleeps advance a simulated clock instead of waiting.
Prints, per feed, the gaps between its fetches (each must be at least the interval, and never
two fetches in one interval), the most requests seen in any one-second window of simulated
time against the configured rate, and how long the run took for real.

A script, never run in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from bisect import bisect_left
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bot.store import AsyncStore, ChatDefaults, Store  # noqa: E402
from bot.store.schema import chat_sources, user_sources  # noqa: E402
from bot.store.user_sources import AsyncUserSourceStore  # noqa: E402
from bot.usersources.poll import RequestPacer, UserSourcePoller  # noqa: E402
from bot.usersources.settings import UserSourceSettings  # noqa: E402

START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


class SimulatedTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def feed(index: int, minute: int) -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {index}</title>'
        f"<item><title>Feed {index} item {minute}</title><guid>{index}-{minute}</guid>"
        f"<description>News number {minute} from feed {index}.</description></item>"
        "</channel></rss>"
    ).encode()


def max_in_window(times: list[float], window: float = 1.0) -> int:
    ordered = sorted(times)
    # A hair under the window: evenly paced floats must not count t + 1.0 as inside [t, t + 1).
    edge = window - 1e-9
    return max((bisect_left(ordered, t + edge) - i for i, t in enumerate(ordered)), default=0)


def follow_all(store: Store, chats: int, feeds: int) -> None:
    """Each chat follows 5 feeds (each feed ~25 chats), written in bulk: the set-up is not
    what is measured."""
    for chat_id in range(1, chats + 1):
        store.ensure_chat(chat_id, "private", "", ChatDefaults(), START)
    rows = [
        {
            "url": f"https://feeds.example/{index}.xml",
            "kind": "feed",
            "title": f"Feed {index}",
            "created_at": START,
            "next_fetch_at": START,
            "paused": False,
            "seen_links": (),
        }
        for index in range(feeds)
    ]
    follows = {
        (chat_id, (chat_id * 7 + offset * 211) % feeds + 1)
        for chat_id in range(1, chats + 1)
        for offset in range(5)
    }
    with store.transaction(write=True) as conn:
        conn.execute(insert(user_sources), rows)
        conn.execute(
            insert(chat_sources),
            [
                {"chat_id": c, "source_id": s, "keywords": "", "created_at": START}
                for c, s in sorted(follows)
            ],
        )


async def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp())
    store = Store.from_url(f"sqlite:///{folder / 'bench.db'}")
    store.migrate()
    settings = UserSourceSettings(
        min_interval_minutes=args.interval,
        requests_per_second=args.rate,
        concurrency=8,
        max_per_chat=50,
    )
    sources = AsyncUserSourceStore(AsyncStore(store))
    print(f"following: {args.chats} chats, {args.feeds} feeds ...", flush=True)
    follow_all(store, args.chats, args.feeds)

    clock = SimulatedTime()
    fetches: dict[str, list[float]] = defaultdict(list)
    request_times: list[float] = []
    minute = {"now": 0}

    def answer(request: httpx.Request) -> httpx.Response:
        request_times.append(clock.now)
        fetches[request.url.path].append(minute["now"])
        index = int(request.url.path.strip("/").split(".")[0])
        return httpx.Response(200, content=feed(index, minute["now"] // args.interval))

    async def store_articles(articles, now):  # the summariser is measured elsewhere
        return len(articles)

    async def notify(chat_ids, source):
        return None

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    pacer = RequestPacer(args.rate, clock=clock, sleep=clock.sleep)
    poller = UserSourcePoller(sources, client, settings, store_articles, notify, pacer=pacer)
    started = time.perf_counter()
    for step in range(args.minutes):
        minute["now"] = step
        # The simulated request clock never runs behind the simulated minutes.
        clock.now = max(clock.now, step * 60.0)
        await poller.poll_due(START + timedelta(minutes=step))
    wall = time.perf_counter() - started
    await client.aclose()
    store.close()

    gaps = [b - a for times in fetches.values() for a, b in zip(times, times[1:], strict=False)]
    per_feed = [len(times) for times in fetches.values()]
    print(f"feeds fetched: {len(fetches)} of {args.feeds}; requests: {len(request_times)}")
    print(f"fetches per feed over {args.minutes} min: min {min(per_feed)}, max {max(per_feed)}")
    print(
        f"gap between fetches of one feed (minutes): min {min(gaps)}, max {max(gaps)} "
        f"(interval {args.interval})"
    )
    print(
        f"most requests in any 1 s of simulated time: {max_in_window(request_times)} "
        f"(configured {args.rate}/s)"
    )
    print(f"real time for {args.minutes} simulated minutes: {wall:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=5000)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--minutes", type=int, default=120)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--interval", type=int, default=30)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
