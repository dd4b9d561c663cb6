"""Fan-out benchmark: one digest to each of N chats at Telegram's limits, through faults.

    python benchmarks/delivery_fanout.py                 # 10,000 chats, ~6 minutes
    python benchmarks/delivery_fanout.py --chats 600     # ~20 s

The strict Bot API fake (30 msg/s overall, 1/s per chat, 20/min per group; 429 + retry_after
beyond) runs in a thread of this process; the sender (the real ExtBot + PacingRateLimiter +
OutboxSender on a SQLite store) runs in a process of its own, so the fake's CPU does not slow
it and its peak RSS is its own. A share of chats has blocked the bot (403); a share of
sendMessage connections is dropped before the fake records the message (never delivered: the
resend must not duplicate), and another share after it ("accepted, answer lost": Telegram
delivered it, the sender cannot know, and its resend is the one duplicate the design allows).
Prints the wall time against the ideal N/30 s, their ratio (target <= 1.10), 429s, lost and
duplicated messages with duplicates judged against their bound (the answers lost), and the
sender's peak RSS (< 200 MB).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from _delivery_common import chat_ids, run_worker, seed_round, start_fake, tally, worker_command


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Delivery fan-out benchmark")
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--blocked", type=float, default=0.01, help="share of chats answering 403")
    parser.add_argument(
        "--drops",
        type=float,
        default=0.01,
        help="share of connections dropped before the fake records the message",
    )
    parser.add_argument(
        "--answers-lost",
        type=float,
        default=0.005,
        help="share dropped after the fake recorded it (Telegram delivered, answer lost)",
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--scale", type=float, default=1.0, help="speed all limits up (tests)")
    parser.add_argument("--db", help="store URL (default: a fresh SQLite file)")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="fanout-") as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'fanout.db'}"
        chats = chat_ids(args.chats)
        started = time.perf_counter()
        seed_round(url, chats)
        print(f"seeded {len(chats)} chats in {time.perf_counter() - started:.1f} s ({url})")

        fake = start_fake(args.scale)
        try:
            blocked = set(rng.sample(chats, int(len(chats) * args.blocked)))
            for chat_id in blocked:
                fake.block(chat_id)
            fake.drop_connections(args.drops, seed=args.seed)
            fake.lose_answers(args.answers_lost, seed=args.seed + 1)
            extra = ["--concurrency", str(args.concurrency), "--seed", str(args.seed)]
            result = run_worker(worker_command(url, fake, scale=args.scale, extra=extra))
            stats = fake.stats
            counted = tally(fake, [c for c in chats if c not in blocked])
        finally:
            fake.stop_in_thread()

    report = result["report"]
    ideal = len(chats) / (30 * args.scale)
    drain = float(result["drain_seconds"])
    print(
        f"chats {len(chats)} ({sum(1 for c in chats if c < 0)} groups), blocked {len(blocked)},"
        f" dropped connections {stats.dropped_before_recording} before recording and"
        f" {stats.dropped_after_recording} after (accepted, answer lost),"
        f" concurrency {args.concurrency}"
    )
    print(f"drain wall time {drain:.1f} s, ideal {ideal:.1f} s, ratio {drain / ideal:.3f}")
    print(
        f"429 received {stats.rate_limited} (global {stats.rate_limited_global},"
        f" chat {stats.rate_limited_chat}, group {stats.rate_limited_group})"
    )
    print(
        f"delivered {counted.delivered}, lost {counted.lost}, duplicated {counted.duplicated};"
        f" sender: sent {report['sent']}, retried {report['retried']},"
        f" deactivated {report['deactivated']}, failed {report['failed']}"
    )
    bound = stats.dropped_after_recording
    verdict = "within" if counted.duplicated <= bound else "OVER"
    print(
        f"duplicated {counted.duplicated} ('accepted, answer lost': bound {bound},"
        f" the answers lost; {verdict} the bound)"
    )
    print(f"peak RSS of the sender process {float(result['peak_rss_mb']):.0f} MB")


if __name__ == "__main__":
    main()
