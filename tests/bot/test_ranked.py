"""Worker threads take the least busy chat's work first (bot.ranked)."""

from __future__ import annotations

import asyncio
import threading

from bot.ranked import QUIET, RankedExecutor, current_rank, work_rank
from bot.store import AsyncStore, Store


def submit_as(executor: RankedExecutor, rank: int | None, fn, *args):
    token = work_rank.set(None if rank is None else (lambda: rank))
    try:
        return executor.submit(fn, *args)
    finally:
        work_rank.reset(token)


def test_queued_work_goes_lowest_rank_first_then_oldest():
    executor = RankedExecutor(max_workers=1)
    gate = threading.Event()
    order: list[str] = []
    first = executor.submit(gate.wait)  # holds the only thread
    futures = [
        submit_as(executor, rank, order.append, label)
        for rank, label in ((6, "flood-a"), (6, "flood-b"), (1, "quiet"), (None, "job"), (2, "x"))
    ]
    gate.set()
    for future in [first, *futures]:
        future.result(timeout=30)
    executor.shutdown()
    assert order == ["quiet", "job", "x", "flood-a", "flood-b"]


async def test_a_quiet_chats_store_call_goes_before_flooding_chats_queued_ones(tmp_path):
    """SQLite's calls share one thread: a quiet chat's command waited behind some hundred
    store calls of 32 flooding chats' handlers."""
    store = AsyncStore(Store.from_url(f"sqlite:///{tmp_path / 'ranked.db'}"))
    await store.migrate()
    gate = threading.Event()
    order: list[str] = []

    def call(label: str) -> None:
        order.append(label)

    async def from_chat(rank: int, label: str) -> None:
        work_rank.set(lambda: rank)  # as the update processor does for a handler's task
        await store.run(call, label)

    # The holder is queued first, and ranks as a quiet chat: it runs first whenever the thread
    # starts, and holds it while the others queue.
    holder = asyncio.create_task(store.run(gate.wait))
    await asyncio.sleep(0)
    calls = [asyncio.create_task(from_chat(6, f"flood-{n}")) for n in range(5)]
    calls.append(asyncio.create_task(from_chat(1, "quiet")))
    for _ in range(3):
        await asyncio.sleep(0)  # every call submitted
    gate.set()
    await asyncio.gather(holder, *calls)
    await store.close()
    assert order[0] == "quiet"


async def test_handlers_carry_their_chats_rank_to_worker_threads():
    from bot.fairness import FairUpdateProcessor
    from tests.bot.test_fairness import private_update

    processor = FairUpdateProcessor(workers=4, backlog=10)
    await processor.initialize()
    seen: list[float] = []

    async def handle() -> None:
        seen.append(await asyncio.to_thread(current_rank))

    await asyncio.gather(
        *(processor.process_update(private_update(9, n), handle()) for n in range(3))
    )
    assert seen[0] == 3  # the chat had sent three updates by then
    assert current_rank() == QUIET  # outside a handler
