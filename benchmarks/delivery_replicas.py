"""Replicas benchmark: several sender processes on one PostgreSQL outbox, one Redis budget.

    python benchmarks/delivery_replicas.py round               # 3 replicas, 10,000 chats, 30/s
    python benchmarks/delivery_replicas.py round --chats 900   # ~35 s
    python benchmarks/delivery_replicas.py kill                # leader SIGKILLed, 10 seeded runs
    python benchmarks/delivery_replicas.py stop --lease 3      # a standby SIGSTOPped, resumed
    python benchmarks/delivery_replicas.py paid                # 1, 2, 3 replicas at 300 msg/s
    python benchmarks/delivery_replicas.py webhook             # 3 bots behind a proxy, 20 users

Every replica is its own process (``_delivery_worker.py``: the real ExtBot, the shared Redis
rate limiter, OutboxSender claiming chats with a lease), against the strict Bot API fake in a
thread of this process. PostgreSQL comes from --postgres-url or TEST_DATABASE_URL (a schema of
its own, dropped after), Redis from --redis-url or TEST_REDIS_URL (keys under a fresh prefix).

- ``round``: a round already queued; prints the span (first to last accepted message) against
  the ideal chats / rate, 429s, lost and duplicated.
- ``kill``: chats due, not queued: the leader (advisory lock) queues them in batches while
  every replica sends; the leader is SIGKILLed once the fake accepted a seeded random count.
  Prints per run: takeover time (kill to a new leader), in flight at the kill (accepted, not
  recorded), lost, duplicated (must be <= in flight).
- ``stop``: as ``kill``, but a standby (``--victim leader``: the leader) is SIGSTOPped for
  ``--pause`` seconds (default 1.5 leases) and then resumed: its chats are taken over meanwhile.
  Prints per run the 429s (global), lost, duplicated (the sends it had in flight at most).
- ``paid``: the fake's global limit raised to --paid-rate; throughput with 1, 2 and 3 replicas
  pacing at that rate, and one process's ceiling (1 replica, no limiter, the fake's global
  limit off).
- ``webhook``: 3 replicas of the real bot (``run_bot.py --webhook``, PostgreSQL, Redis) behind
  a round-robin HTTP proxy in this process, to which the fake pushes updates; the leader's
  digest round sends to --chats chats while 20 users send commands (as
  ``responsiveness.py``). Prints the command round trips (p50/p95/p99), the answers per
  command, and the round's span, 429s, lost and duplicated.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as day_time

import psycopg
from _delivery_common import (
    WORKER,
    ServerCpu,
    chat_ids,
    digest_text,
    frozen_fake,
    pauses_line,
    tally,
)
from psycopg import sql
from sqlalchemy import insert
from sqlalchemy.engine import make_url

from bot.store import Store
from bot.store.schema import articles, chat_digests, chats, outbox, subscriptions
from tests.support.fake_bot_api import FakeBotApi
from tests.support.fake_bot_api import RateLimits as FakeLimits

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Delivery with several replicas")
    parser.add_argument("mode", choices=("round", "kill", "stop", "paid", "webhook"))
    parser.add_argument("--pause", type=float, help="stop: seconds stopped (1.5 leases)")
    parser.add_argument("--victim", choices=("standby", "leader"), default="standby")
    parser.add_argument("--users", type=int, default=20, help="webhook: users sending commands")
    parser.add_argument("--chats", type=int)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--runs", type=int, default=10, help="kill: seeded runs")
    parser.add_argument("--scale", type=float, help="speed the fake's limits up")
    parser.add_argument("--paid-rate", type=float, default=300.0)
    parser.add_argument(
        "--paid-replicas", default="1,2,3", help="paid: replica counts to run, comma-separated"
    )
    parser.add_argument("--trace-dir", help="each replica writes its sendMessage attempts here")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--lease", type=float, default=15.0, help="claim lease / takeover, s")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--local-pacing", action="store_true", help="no Redis: each replica paces rate/N alone"
    )
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("TEST_REDIS_URL"))
    args = parser.parse_args()
    if not args.postgres_url or not args.redis_url:
        parser.error("needs --postgres-url and --redis-url (or TEST_DATABASE_URL, TEST_REDIS_URL)")
    defaults = {
        "round": (10_000, 1.0),
        "kill": (300, 10.0),
        "stop": (300, 10.0),
        "paid": (6_000, 1.0),
        "webhook": (3_000, 1.0),
    }
    chats, scale = defaults[args.mode]
    args.chats = args.chats or chats
    args.scale = args.scale or scale
    return args


# -- the database ------------------------------------------------------------------------------


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    schema = f"bench_{secrets.token_hex(6)}"
    admin_url = make_url(base_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def seed(url: str, ids: list[int], *, queued: bool) -> None:
    """Chats due now, with a subscription; ``queued``: their digest is in the outbox already.

    Bulk inserts: the benchmark measures sending, not queueing.
    """
    store = Store.from_url(url)
    store.migrate()
    chat_rows = [
        {
            "chat_id": chat_id,
            "chat_type": "private" if chat_id > 0 else "group",
            "title": f"Chat {chat_id}",
            "timezone": "UTC",
            "digest_time": day_time(8, 0),
            "frequency": "daily",
            "weekday": 0,
            "bullets": 3,
            "link_preview": False,
            "paused": False,
            "active": True,
            "next_digest_at": NOW,
            "created_at": NOW,
            "updated_at": NOW,
        }
        for chat_id in ids
    ]
    with store.engine.begin() as conn:
        conn.execute(
            insert(articles),
            [
                {
                    "id": "bench",
                    "source": "bench",
                    "title": "Bench",
                    "url": None,
                    "published": NOW,
                    "tags": (),
                    "paragraphs": ("Body.",),
                    "fetched_at": datetime.now(UTC),
                    "bullets": ("A bullet.",),
                    "topics": (),
                    "keywords": (),
                    "algorithm": "bench",
                    "digest_updated_at": NOW,
                }
            ],
        )
        conn.execute(insert(chats), chat_rows)
        conn.execute(
            insert(subscriptions),
            [{"chat_id": c, "kind": "keywords", "value": "bench", "created_at": NOW} for c in ids],
        )
        if queued:
            digests = [
                {"id": n, "chat_id": c, "articles": 1, "parts": 1, "created_at": NOW}
                for n, c in enumerate(ids, start=1)
            ]
            conn.execute(insert(chat_digests), digests)
            conn.execute(
                insert(outbox),
                [
                    {
                        "digest_id": d["id"],
                        "chat_id": d["chat_id"],
                        "part": 1,
                        "parts": 1,
                        "text": digest_text(d["chat_id"]),
                        "link_preview": False,
                        "status": "pending",
                        "attempts": 0,
                        "not_before": NOW,
                        "created_at": NOW,
                    }
                    for d in digests
                ],
            )
            conn.execute(chats.update().values(next_digest_at=None))  # queued: not due again
    store.close()


# -- replicas ----------------------------------------------------------------------------------


def start_replicas(
    args, url: str, fake: FakeBotApi, count: int, *, rate: float, prefix: str, extra=()
):
    processes = []
    for index in range(count):
        command = [
            sys.executable,
            str(WORKER),
            "--db",
            url,
            "--base-url",
            fake.base_url,
            "--token",
            fake.token,
            "--scale",
            str(args.scale),
            "--rate",
            str(rate / count if args.local_pacing else rate),
            "--concurrency",
            str(args.concurrency),
            "--owner",
            f"replica-{index}",
            *([] if args.local_pacing else ["--redis-url", args.redis_url]),
            "--redis-prefix",
            prefix,
            "--lease",
            str(args.lease),
            "--replica",
            *extra,
        ]
        if args.trace_dir:
            command += ["--trace", os.path.join(args.trace_dir, f"{count}-{index}.jsonl")]
        processes.append(
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        )
    return processes


def finish(processes) -> list[dict]:
    import json

    results = []
    for process in processes:
        out, err = process.communicate(timeout=3600)
        if process.returncode not in (0, -signal.SIGKILL):
            raise RuntimeError(f"replica failed ({process.returncode}):\n{err[-3000:]}")
        if process.returncode == 0:
            results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def span(fake: FakeBotApi) -> float:
    times = sorted(message.at for message in fake.sent())
    return times[-1] - times[0] if len(times) > 1 else 0.0


def rate_report(fake: FakeBotApi, window: float = 1.0) -> str:
    """Where the 429s came from: the densest window of accepted sends, and the 429 episodes
    (429s closer than a second to the one before count as one episode: the first one, then
    the requests already on their way while the fake blocks)."""
    times = sorted(message.at for message in fake.sent())
    densest, start = 0, 0
    for end, at in enumerate(times):
        while times[start] <= at - window:
            start += 1
        densest = max(densest, end - start + 1)
    buckets = Counter(int((at - times[0]) // 10) for at in times[:-1]) if times else Counter()
    whole = [buckets[n] / 10 for n in range(int((times[-1] - times[0]) // 10))] if times else []
    pace = (
        f" (10-s stretches: slowest {min(whole):.1f}, fastest {max(whole):.1f} msg/s)"
        if whole
        else ""
    )
    events = sorted(event.at for event in fake.stats.rate_limit_events)
    firsts = [at for i, at in enumerate(events) if i == 0 or at - events[i - 1] > 1.0]
    when = ", ".join(f"{at - times[0]:.1f}" for at in firsts[:10]) if times else ""
    return f"densest {window:g}-s window {densest} accepted{pace}; 429 episodes {len(firsts)}" + (
        f" (at {when} s into the round)" if firsts else ""
    )


# -- modes -------------------------------------------------------------------------------------


def round_mode(args) -> None:
    ids = chat_ids(args.chats)
    with postgres_schema(args.postgres_url) as url:
        started = time.perf_counter()
        seed(url, ids, queued=True)
        print(f"seeded {len(ids)} chats in {time.perf_counter() - started:.1f} s")
        fake, pauses = frozen_fake(FakeLimits(scale=args.scale))
        try:
            prefix = f"bench-{secrets.token_hex(4)}"
            processes = start_replicas(args, url, fake, args.replicas, rate=30, prefix=prefix)
            results = finish(processes)
            stats, counted, took = fake.stats, tally(fake, ids), span(fake)
            if args.trace_dir:
                write_arrivals(fake, os.path.join(args.trace_dir, f"{args.replicas}-fake.jsonl"))
            report = rate_report(fake, 1.0 / args.scale) + "\n" + pauses_line(pauses)
            report += (
                "\nlongest GC pause while sending, per replica (gen 0/1/2, ms): "
                + ", ".join(
                    "/".join(f"{x:g}" for x in r["gc_longest_ms"])
                    + f" ({sum(r['gc_count'])} runs)"
                    for r in results
                )
            )
        finally:
            fake.stop_in_thread()
    ideal = len(ids) / (30 * args.scale)
    print(f"{args.replicas} replicas, {len(ids)} chats ({sum(1 for c in ids if c < 0)} groups)")
    print(f"span {took:.1f} s, ideal {ideal:.1f} s, ratio {took / ideal:.3f} (target <= 1.10)")
    print(f"429 received {stats.rate_limited} (global {stats.rate_limited_global})")
    print(report)
    print(f"delivered {counted.delivered}, lost {counted.lost}, duplicated {counted.duplicated}")


def kill_mode(args) -> None:
    print(
        f"{args.runs} runs x {args.chats} chats, {args.replicas} replicas, limits"
        f" x{args.scale:g}, lease {args.lease:g} s"
    )
    print("run  killed after  takeover s  in flight  lost  duplicated")
    totals = {"lost": 0, "duplicated": 0, "in_flight": 0, "within": 0}
    for run in range(args.runs):
        result = one_kill(args, run)
        for key in ("lost", "duplicated", "in_flight"):
            totals[key] += result[key]
        totals["within"] += result["duplicated"] <= result["in_flight"]
        takeover = result["takeover"]
        shown = f"{takeover:10.2f}" if takeover is not None else "       n/a"
        print(
            f"{run:>3}  {result['killed_after']:>12}  {shown}  {result['in_flight']:>9}"
            f"  {result['lost']:>4}  {result['duplicated']:>10}"
        )
    print(
        f"total: lost {totals['lost']}, duplicated {totals['duplicated']}, in flight at the"
        f" kills {totals['in_flight']}; duplicates <= in flight in {totals['within']}/{args.runs}"
    )


@contextmanager
def leaderless_round(args, ids: list[int]) -> Iterator[tuple[str, FakeBotApi, list, str]]:
    """Chats due, not queued, and the replicas started: (url, fake, processes, the leader)."""
    with postgres_schema(args.postgres_url) as url:
        seed(url, ids, queued=False)
        fake = FakeBotApi(rate_limits=FakeLimits(scale=args.scale))
        fake.start_in_thread()
        try:
            prefix = f"bench-{secrets.token_hex(4)}"
            processes = start_replicas(args, url, fake, args.replicas, rate=30, prefix=prefix)
            yield url, fake, processes, wait_for_leader(url)
        finally:
            fake.stop_in_thread()


def one_kill(args, run: int) -> dict:
    rng = random.Random(args.seed * 1000 + run)
    ids = chat_ids(args.chats)
    with leaderless_round(args, ids) as (url, fake, processes, leader):
        kill_at = rng.randint(len(ids) // 10, len(ids) // 2)
        while fake.stats.accepted < kill_at:
            if all(process.poll() is not None for process in processes):
                finish(processes)  # raises with the replicas' errors
                raise RuntimeError("every replica ended before the kill")
            time.sleep(0.002)
        victim = processes[int(leader.rsplit("-", 1)[1])]
        victim.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        victim.wait()
        time.sleep(0.2)  # requests the dead process had sent are answered
        accepted = {m.chat_id for m in fake.sent()}
        in_flight = accepted & pending_chats(url)
        results = finish(processes)
        counted = tally(fake, ids)
    led = [r["led_at"] for r in results if r.get("led_at") and r["led_at"] > killed]
    return {
        "killed_after": kill_at,
        "takeover": (min(led) - killed) if led else None,
        "in_flight": len(in_flight),
        "lost": counted.lost,
        "duplicated": counted.duplicated,
    }


def stop_mode(args) -> None:
    pause = args.pause if args.pause is not None else 1.5 * args.lease
    print(
        f"{args.runs} runs x {args.chats} chats, {args.replicas} replicas, limits"
        f" x{args.scale:g}, lease {args.lease:g} s, the {args.victim} stopped {pause:g} s"
    )
    print("run  stopped after  new leader s  429s (global)  lost  duplicated")
    for run in range(args.runs):
        rng = random.Random(args.seed * 1000 + run)
        ids = chat_ids(args.chats)
        with leaderless_round(args, ids) as (_url, fake, processes, leader):
            index = int(leader.rsplit("-", 1)[1])
            victim = index if args.victim == "leader" else (index + 1) % len(processes)
            stop_at = rng.randint(len(ids) // 10, len(ids) // 3)
            while fake.stats.accepted < stop_at:
                time.sleep(0.002)
            processes[victim].send_signal(signal.SIGSTOP)
            stopped = time.monotonic()
            time.sleep(pause)
            processes[victim].send_signal(signal.SIGCONT)
            results = finish(processes)
            stats, counted = fake.stats, tally(fake, ids)
        led = [r["led_at"] for r in results if r.get("led_at") and r["led_at"] > stopped]
        takeover = f"{min(led) - stopped:12.2f}" if led else "         n/a"
        print(
            f"{run:>3}  {stop_at:>13}  {takeover}  {stats.rate_limited:>6}"
            f" ({stats.rate_limited_global:>3})  {counted.lost:>4}  {counted.duplicated:>10}"
        )


def wait_for_leader(url: str) -> str:
    store = Store.from_url(url)
    try:
        while True:
            for replica in store.list_replicas(datetime.now(UTC) - timedelta(minutes=1)):
                if replica.leader:
                    return replica.replica_id
            time.sleep(0.05)
    finally:
        store.close()


def pending_chats(url: str) -> set[int]:
    store = Store.from_url(url)
    try:
        return {m.chat_id for m in store.pending_messages(NOW + timedelta(days=3650), 10**9)}
    finally:
        store.close()


def paid_mode(args) -> None:
    ids = chat_ids(args.chats, group_share=0.0)
    limit = args.paid_rate
    print(f"fake global limit {limit:g} msg/s (paid broadcasts), {len(ids)} chats per run")
    for replicas in (int(n) for n in args.paid_replicas.split(",")):
        run = paid_run(args, ids, replicas, global_limit=int(limit))
        print(
            f"{replicas} replica(s): {run.rate:.0f} msg/s = {run.rate / limit:.2f} of the limit;"
            f" 429s {run.stats.rate_limited}, lost {run.counted.lost},"
            f" duplicated {run.counted.duplicated}; {run.cpu}"
        )
    run = paid_run(args, ids, 1, global_limit=None, extra=("--no-limiter",))
    print(
        f"one process's ceiling (no limiter, the fake's global limit off): {run.rate:.0f} msg/s;"
        f" lost {run.counted.lost}, duplicated {run.counted.duplicated}; {run.cpu}"
    )


@dataclass(frozen=True)
class PaidRun:
    rate: float
    stats: object
    counted: object
    cpu: str  # CPU ms per message: the replicas together, and this process (the fake)


def paid_run(args, ids, replicas: int, *, global_limit: int | None, extra=()) -> PaidRun:
    with postgres_schema(args.postgres_url) as url:
        seed(url, ids, queued=True)
        limits = FakeLimits(global_per_second=global_limit, scale=args.scale)
        fake, pauses = frozen_fake(limits)
        try:
            prefix = f"bench-{secrets.token_hex(4)}"
            database = make_url(args.postgres_url).database or ""
            with ServerCpu(database) as servers:
                cpu_started = time.process_time()
                processes = start_replicas(
                    args,
                    url,
                    fake,
                    replicas,
                    rate=args.paid_rate / args.scale,
                    prefix=prefix,
                    extra=extra,
                )
                results = finish(processes)
                fake_cpu = time.process_time() - cpu_started
            stats, counted, took = fake.stats, tally(fake, ids), span(fake)
            print(f"  {pauses_line(pauses)}")
            if args.trace_dir:
                write_arrivals(fake, os.path.join(args.trace_dir, f"{replicas}-fake.jsonl"))
        finally:
            fake.stop_in_thread()
    replica_cpu = sum(r["cpu_seconds"] for r in results)
    per_message = {
        "replicas": replica_cpu,
        "fake": fake_cpu,
        "postgres": servers.seconds("postgres"),
        "redis": servers.seconds("redis"),
    }
    cpu = "CPU ms/msg: " + ", ".join(
        f"{name} {1000 * seconds / len(ids):.2f}" for name, seconds in per_message.items()
    )
    return PaidRun((len(ids) / took if took else 0.0), stats, counted, cpu)


def write_arrivals(fake: FakeBotApi, path: str) -> None:
    """When the fake accepted each message, on the wall clock the replicas' traces use."""
    import json

    offset = time.time() - time.monotonic()
    lines = (json.dumps({"chat": m.chat_id, "at": m.at + offset}) for m in fake.sent())
    with open(path, "w") as out:
        out.write("\n".join(lines))


def webhook_mode(args) -> None:
    import asyncio

    from _webhook_replicas import run_webhook_benchmark

    asyncio.run(run_webhook_benchmark(args))


def main() -> None:
    args = parse_args()
    modes = {
        "round": round_mode,
        "kill": kill_mode,
        "stop": stop_mode,
        "paid": paid_mode,
        "webhook": webhook_mode,
    }
    modes[args.mode](args)


if __name__ == "__main__":
    main()
