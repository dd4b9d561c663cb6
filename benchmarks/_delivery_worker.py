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
import contextlib
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
from bot.heap import settle_heap  # noqa: E402
from bot.lean_request import LeanRequest  # noqa: E402
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
    parser.add_argument("--owner", default="local", help="claim owner (one per replica)")
    parser.add_argument("--redis-url", help="share the rate budget through this Redis")
    parser.add_argument("--redis-prefix", default="bench", help="Redis key prefix")
    parser.add_argument("--rate", type=float, default=30.0, help="global msg/s (before scale)")
    parser.add_argument("--lease", type=float, default=15.0, help="claim lease, seconds")
    parser.add_argument(
        "--replica",
        action="store_true",
        help="run as a replica until the outbox is empty and no chat is due: elect a leader "
        "(PostgreSQL), let the leader queue due chats' digests, send with every replica",
    )
    parser.add_argument(
        "--no-settle-heap", action="store_true", help="leave the start-up heap to the collector"
    )
    parser.add_argument(
        "--httpx", action="store_true", help="PTB's HTTPXRequest instead of bot.lean_request"
    )
    parser.add_argument(
        "--no-limiter", action="store_true", help="no rate limiter at all: one process's ceiling"
    )
    parser.add_argument(
        "--trace", help="write every sendMessage attempt (chat, times, outcome) to this file"
    )
    return parser.parse_args(argv)


def rate_limiter(args: argparse.Namespace) -> PacingRateLimiter | None:
    if args.no_limiter:
        return None
    limits = replace(bot_limits(args.scale, args.slack), global_rate=args.rate * args.scale)
    if not args.redis_url:
        return PacingRateLimiter(limits)
    from redis.asyncio import Redis

    from bot.shared_limit import SharedBudget, SharedRateLimiter

    budget = SharedBudget(Redis.from_url(args.redis_url), args.redis_prefix, limits)
    return SharedRateLimiter(limits, budget)


class GcPauses:
    """The longest garbage-collector pause of this process, by generation (a stall between a
    slot granted in Redis and its request leaving would bunch requests at the server)."""

    def __init__(self) -> None:
        import gc

        self.longest = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def reset(self) -> None:
        self.longest = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation = info["generation"]
        self.count[generation] += 1
        self.longest[generation] = max(
            self.longest[generation], time.perf_counter() - self._started
        )


def traced(request_class: type, path: str, owner: str) -> type:
    """``request_class`` that records each sendMessage attempt: who sent to which chat, when,
    and what came of it (a duplicate's story: two replicas, or one that retried)."""
    from urllib.parse import parse_qs

    attempts: list[dict[str, object]] = []

    class Traced(request_class):  # type: ignore[misc, valid-type]
        async def do_request(self, url, method, request_data=None, *args, **kwargs):
            if not url.endswith("/sendMessage") or request_data is None:
                return await super().do_request(url, method, request_data, *args, **kwargs)
            fields = parse_qs(request_data.url_encoded_parameters())
            entry: dict[str, object] = {"owner": owner, "chat": fields["chat_id"][0]}
            entry["start"] = time.time()
            try:
                status, body = await super().do_request(url, method, request_data, *args, **kwargs)
            except BaseException as exc:
                entry["outcome"] = repr(exc)[:200]
                raise
            else:
                entry["outcome"] = status
                return status, body
            finally:
                entry["end"] = time.time()
                attempts.append(entry)

        async def shutdown(self) -> None:
            await super().shutdown()
            Path(path).write_text("\n".join(json.dumps(a) for a in attempts))

    return Traced


def trace_store(store: AsyncStore, path: str) -> None:
    """Record the sender's store calls on ``store`` (times, and the chats or ids they concern)
    into ``path`` when the process ends."""
    import atexit

    calls: list[dict[str, object]] = []

    def wrap(name: str) -> None:
        method = getattr(store, name)

        async def traced_call(*args, **kwargs):
            entry: dict[str, object] = {"call": name, "start": time.time()}
            try:
                result = await method(*args, **kwargs)
            except BaseException as exc:
                entry["error"] = repr(exc)[:200]
                raise
            finally:
                entry["end"] = time.time()
                calls.append(entry)
            if name == "claim_messages":
                entry["chats"] = sorted({m.chat_id for m in result})
            elif name == "mark_sent_many":
                entry["ids"] = [row[0] for row in args[0]]
            return result

        setattr(store, name, traced_call)

    for name in ("claim_messages", "mark_sent_many", "release_claims", "renew_claims"):
        wrap(name)
    atexit.register(lambda: Path(path).write_text("\n".join(json.dumps(c) for c in calls)))


async def run(args: argparse.Namespace) -> dict[str, object]:
    import random

    gc_pauses = GcPauses()

    store = Store.from_url(args.db)
    request_class: type = HTTPXRequest if args.httpx else LeanRequest
    if args.trace:
        request_class = traced(request_class, args.trace, args.owner)
    request = request_class(connection_pool_size=args.concurrency + 8, read_timeout=10.0)
    bot = ExtBot(
        args.token, base_url=args.base_url, rate_limiter=rate_limiter(args), request=request
    )
    await bot.initialize()
    async_store = AsyncStore(store)
    if args.trace:
        trace_store(async_store, args.trace + ".store")
    sender = OutboxSender(
        bot,
        async_store,
        concurrency=args.concurrency,
        backoff_base=args.backoff_base,
        rng=random.Random(args.seed),
        owner=args.owner,
        lease_seconds=args.lease,
        refresh_seconds=0.5,
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    if not args.no_settle_heap:
        settle_heap()  # as the bot does once started (bot.heap)
    gc_pauses.reset()  # only the pauses while sending count
    started = time.perf_counter()
    cpu_started = time.process_time()
    led_at = None
    if args.replica:
        report, led_at = await run_replica(args, sender, async_store, stop)
    else:
        report = await sender.drain(stop)
    elapsed = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    limiter_stats = bot.rate_limiter.stats() if bot.rate_limiter else None
    await bot.shutdown()
    store.close()
    return {
        "report": asdict(report),
        "drain_seconds": elapsed,
        "cpu_seconds": cpu_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "limiter": asdict(limiter_stats) if limiter_stats else None,
        "led_at": led_at,
        "gc_longest_ms": [round(x * 1000, 1) for x in gc_pauses.longest],
        "gc_count": gc_pauses.count,
    }


async def queue_due(store, leading: bool, article: str) -> bool:
    """As the leader, queue a batch of due chats' digests; whether there were any."""
    from datetime import UTC, datetime

    from bot.store import Conflict

    due = await store.due_chats(datetime.now(UTC), 200) if leading else []
    for chat in due:
        text = f"<b>Digest</b> for chat {chat.chat_id}"
        now = datetime.now(UTC)
        with contextlib.suppress(Conflict):  # a leader stopped meanwhile was replaced
            await store.enqueue_digest(chat.chat_id, [article], [text], False, now, None)
    return bool(due)


async def run_replica(args, sender, store, stop):
    """One replica: the leader queues the due chats' digests in batches; all send."""
    from datetime import UTC, datetime

    from bot.delivery import DrainReport
    from bot.replicas import Coordinator
    from bot.store import StoreUnavailable

    coordinator = Coordinator(
        args.db, store, mode="bench", replica_id=args.owner, takeover_seconds=args.lease
    )
    led_at: list[float] = []
    coordinator.on_change = lambda leader: led_at.append(time.monotonic()) if leader else None
    await coordinator.start()
    wake = asyncio.Event()
    sending = asyncio.create_task(sender.run_forever(wake, stop, idle_poll=0.5))
    article = (await store.recent_articles(None, 1))[0].article.id
    while not stop.is_set():
        try:
            if await queue_due(store, coordinator.is_leader, article):
                wake.set()
                continue
            if not await store.due_chats(datetime.now(UTC), 1) and not await store.count_pending():
                break
        except StoreUnavailable:
            pass  # a connection ended under it (the benchmark may kill them): try again
        await asyncio.sleep(0.2)
    stop.set()
    await sending
    await coordinator.stop()
    return DrainReport(), (led_at[0] if led_at else None)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.ERROR, format="worker %(levelname)s %(name)s: %(message)s")
    result = asyncio.run(run(parse_args(argv)))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
