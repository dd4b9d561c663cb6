"""Crash benchmark: SIGKILL the sender mid-round, restart it on the same database, count.

    python benchmarks/delivery_crash.py                  # 20 seeded runs of 300 chats, ~3 min
    python benchmarks/delivery_crash.py --runs 5 --chats 100

Each run seeds a fresh SQLite outbox (one digest per chat), starts the sender process against
the strict fake (limits sped up ``--scale`` times), kills it with SIGKILL once the fake has
accepted a seeded random number of messages, then starts a new sender on the same database
and lets it finish. Per run and in total it prints messages lost (must be 0) and duplicated,
and the bound: messages Telegram had accepted but the killed sender had not yet recorded as
sent ("in flight at the kill"). Duplicates may never exceed it.
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from _delivery_common import (
    chat_ids,
    pending_chat_ids,
    run_worker,
    seed_round,
    start_fake,
    tally,
    worker_command,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Delivery crash benchmark")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--chats", type=int, default=300)
    parser.add_argument("--scale", type=float, default=10.0, help="limits sped up this much")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def kill_after_accepted(process: subprocess.Popen[str], fake, target: int) -> bool:
    """SIGKILL ``process`` once the fake accepted ``target`` messages; False if it ended first."""
    while fake.stats.accepted < target:
        if process.poll() is not None:
            return False
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return True


def one_run(run: int, args: argparse.Namespace) -> dict[str, int]:
    rng = random.Random(args.seed * 1000 + run)
    chats = chat_ids(args.chats)
    with tempfile.TemporaryDirectory(prefix="crash-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'crash.db'}"
        seed_round(url, chats)
        fake = start_fake(args.scale)
        try:
            extra = ["--concurrency", str(args.concurrency), "--seed", str(run)]
            command = worker_command(url, fake, scale=args.scale, extra=extra)
            kill_at = rng.randint(1, len(chats) - 1)
            process = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            killed = kill_after_accepted(process, fake, kill_at)
            time.sleep(0.2)  # let the fake finish requests the dead process had already sent
            accepted_at_kill = {message.chat_id for message in fake.sent()}
            # Accepted by Telegram, still pending in the store: these will be sent again.
            in_flight = accepted_at_kill & pending_chat_ids(url)
            run_worker(command)  # the restart, to completion
            counted = tally(fake, chats)
        finally:
            fake.stop_in_thread()
    return {
        "killed": int(killed),
        "kill_at": kill_at,
        "accepted_at_kill": len(accepted_at_kill),
        "in_flight": len(in_flight),
        "lost": counted.lost,
        "duplicated": counted.duplicated,
    }


def main() -> None:
    args = parse_args()
    print(
        f"{args.runs} runs x {args.chats} chats, limits x{args.scale:g},"
        f" concurrency {args.concurrency}"
    )
    print("run  killed after  in flight  lost  duplicated")
    results = []
    for run in range(args.runs):
        result = one_run(run, args)
        results.append(result)
        note = "" if result["killed"] else "  (finished before the kill)"
        print(
            f"{run:>3}  {result['accepted_at_kill']:>12}  {result['in_flight']:>9}"
            f"  {result['lost']:>4}  {result['duplicated']:>10}{note}"
        )
    lost = sum(r["lost"] for r in results)
    duplicated = sum(r["duplicated"] for r in results)
    in_flight = sum(r["in_flight"] for r in results)
    within = sum(1 for r in results if r["duplicated"] <= r["in_flight"])
    print(
        f"total: lost {lost}, duplicated {duplicated}, in flight at the kills {in_flight}"
        f" (max {max(r['in_flight'] for r in results)} in one run; concurrency"
        f" {args.concurrency} bounds it); duplicates <= in flight in {within}/{len(results)} runs"
    )


if __name__ == "__main__":
    main()
