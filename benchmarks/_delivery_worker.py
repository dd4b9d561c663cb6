"""The sender process of the delivery benchmarks: drain the outbox of a database, then report.

Run by ``delivery_fanout.py`` and ``delivery_crash.py`` (not by hand, though it can be):

    python benchmarks/_delivery_worker.py --db sqlite:///round.db --base-url http://127.0.0.1:PORT/bot

It builds the bot the way the application does (ExtBot + PacingRateLimiter), drains the outbox
once and prints one JSON line: the DrainReport, the drain's wall time and the process's peak
RSS. SIGTERM stops it gracefully (in-flight sends finish and are recorded).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import signal
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telegram.ext import ExtBot  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from bot.delivery import OutboxSender  # noqa: E402
from bot.ratelimit import PacingRateLimiter, RateLimits, configured_limits  # noqa: E402
from bot.store import AsyncStore, Store  # noqa: E402


def bot_limits(scale: float, slack: float) -> RateLimits:
    """The limits the bot paces by (as `TelegramRateLimiter`), sped up ``scale`` times."""
    return replace(
        configured_limits(messages_per_second=30 * scale),
        chat_interval=1 / scale,
        group_period=60 / scale,
        slack=slack,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db", required=True, help="store URL (sqlite:///... or postgresql://...)"
    )
    parser.add_argument("--base-url", required=True, help="the fake's base_url (.../bot)")
    parser.add_argument("--token", default="123456:TEST-token")
    parser.add_argument("--scale", type=float, default=1.0, help="limits sped up this much")
    parser.add_argument("--slack", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--backoff-base", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> dict[str, object]:
    import random

    store = Store.from_url(args.db)
    request = HTTPXRequest(connection_pool_size=args.concurrency + 8, read_timeout=10.0)
    bot = ExtBot(
        args.token,
        base_url=args.base_url,
        rate_limiter=PacingRateLimiter(bot_limits(args.scale, args.slack)),
        request=request,
    )
    await bot.initialize()
    sender = OutboxSender(
        bot,
        AsyncStore(store),
        concurrency=args.concurrency,
        backoff_base=args.backoff_base,
        rng=random.Random(args.seed),
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    started = time.perf_counter()
    report = await sender.drain(stop)
    elapsed = time.perf_counter() - started
    limiter_stats = bot.rate_limiter.stats() if bot.rate_limiter else None
    await bot.shutdown()
    store.close()
    return {
        "report": asdict(report),
        "drain_seconds": elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "limiter": asdict(limiter_stats) if limiter_stats else None,
    }


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.ERROR, format="worker %(levelname)s %(name)s: %(message)s")
    result = asyncio.run(run(parse_args(argv)))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
