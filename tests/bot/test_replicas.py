"""Several replicas: the leader lock, heartbeats, shared sending, the Redis budget, guard rails.

Multi-replica paths run on the local PostgreSQL (TEST_DATABASE_URL) and Redis (TEST_REDIS_URL)
at small sizes, and are skipped with the reason when those are not set. Nothing waits on a
timer: leadership is stepped with ``Coordinator.tick()``, leases with the senders' clocks.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
import pytest_asyncio
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

import bot.delivery
from bot.delivery import OutboxSender
from bot.ratelimit import PacingRateLimiter
from bot.replica_runner import AnotherProcess, hold_sqlite, webhook_secret
from bot.replicas import Coordinator, libpq_dsn, lock_key
from bot.store import AsyncStore, Store, StoreUnavailable
from tests.bot.test_delivery import BOT_LIMITS, assert_each_delivered_once, make_bot, seed_round
from tests.conftest import PG_SKIP_REASON, postgres_schema, postgres_test_url
from tests.support.fake_bot_api import FakeBotApi
from tests.support.fake_bot_api import RateLimits as FakeLimits

REDIS_SKIP_REASON = "set TEST_REDIS_URL=redis://127.0.0.1:6379/15 to run the shared-budget tests"


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    base = postgres_test_url()
    if base is None:
        pytest.skip(PG_SKIP_REASON)
    with postgres_schema(base) as url:
        setup = Store.from_url(url)
        setup.migrate()
        setup.close()
        yield url


@pytest_asyncio.fixture
async def stores(pg_url: str) -> AsyncIterator[list[AsyncStore]]:
    opened = [AsyncStore(Store.from_url(pg_url)) for _ in range(3)]
    yield opened
    for store in opened:
        await store.close()


@pytest_asyncio.fixture
async def redis_client():
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip(REDIS_SKIP_REASON)
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    prefix = f"test-{secrets.token_hex(4)}"
    yield client, prefix
    keys = [key async for key in client.scan_iter(f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


# -- the leader --------------------------------------------------------------------------------


async def test_one_leader_and_a_standby_that_takes_over(pg_url, stores):
    first = Coordinator(pg_url, stores[0], mode="polling", replica_id="first")
    second = Coordinator(pg_url, stores[1], mode="polling", replica_id="second")
    await first.tick()
    await second.tick()
    assert (first.is_leader, second.is_leader) == (True, False)
    alive = await stores[2].list_replicas(datetime.now(UTC) - timedelta(minutes=1))
    assert [(r.replica_id, r.leader) for r in alive] == [("first", True), ("second", False)]

    await first.stop()  # a graceful stop: the lock goes, the heartbeat row too
    await second.tick()
    assert second.is_leader
    alive = await stores[2].list_replicas(datetime.now(UTC) - timedelta(minutes=1))
    assert [r.replica_id for r in alive] == ["second"]
    await second.stop()


async def test_a_leader_whose_session_dies_is_replaced_and_steps_down(pg_url, stores):
    first = Coordinator(pg_url, stores[0], mode="webhook", replica_id="first")
    second = Coordinator(pg_url, stores[1], mode="webhook", replica_id="second")
    await first.tick()
    await second.tick()
    assert first.is_leader and not second.is_leader
    # What SIGKILL or a lost machine does to the leader: its database session ends.
    assert first._conn is not None
    backend = first._conn.info.backend_pid
    with psycopg.connect(libpq_dsn(pg_url), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        # pg_terminate_backend only signals: wait until the session (and its lock) is gone.
        gone = "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)"
        for _ in range(600):
            if admin.execute(gone, (backend,)).fetchone()[0]:
                break
            await asyncio.sleep(0.05)
    await second.tick()
    assert second.is_leader
    await first.tick()  # it finds out at its next tick and stands by
    assert not first.is_leader
    await first.stop()
    await second.stop()


async def test_a_leader_that_stops_frees_the_lock_before_it_returns(pg_url, stores):
    """Closing the session only asks the server to end it: the lock went some time after
    stop() returned, and a standby trying at once found it still held (the test above failed
    now and then; a standby waited a tick, takeover / 3 s, with no leader)."""
    first = Coordinator(pg_url, stores[0], mode="polling", replica_id="first")
    second = Coordinator(pg_url, stores[1], mode="polling", replica_id="second")
    await first.tick()
    assert first.is_leader
    conn = first._conn
    assert conn is not None
    close = conn.close
    conn.close = _closes_later  # type: ignore[method-assign]  # the server has not ended it yet
    try:
        await first.stop()
        await second.tick()
        assert second.is_leader
    finally:
        await close()
        await second.stop()


async def _closes_later() -> None:
    """A session close the server has not acted on yet."""


async def test_a_leader_that_stopped_is_replaced_though_its_session_lives_on(pg_url, stores):
    """A leader SIGSTOPped (or its event loop stuck) keeps its database session: the kernel
    answers TCP keepalives, so the server never frees the lock. No round, no source poll and, in
    polling mode, no update was handled until it resumed. A standby that hears no heartbeat
    from the leader for longer than the takeover time ends the leader's session and leads."""
    first = Coordinator(pg_url, stores[0], mode="polling", replica_id="first")
    second = Coordinator(pg_url, stores[1], mode="polling", replica_id="second")
    await first.tick()
    for _ in range(6):  # a leader that beats its heart is left alone
        await second.tick()
        await first.tick()
    assert first.is_leader and not second.is_leader
    # SIGSTOP: the leader ticks no more; its session, and the lock, stay.
    for _ in range(6):
        await second.tick()
    assert second.is_leader
    await first.tick()  # resumed: it finds its session gone and stands by
    assert not first.is_leader
    await first.stop()
    await second.stop()


def test_lock_keys_differ_per_database_schema_and_purpose():
    keys = {
        lock_key("test", "a", "leader"),
        lock_key("test", "b", "leader"),
        lock_key("prod", "a", "leader"),
        lock_key("test", "a", "other"),
    }
    assert len(keys) == 4
    assert all(-(2**63) <= key < 2**63 for key in keys)


# -- sending shared by replicas ----------------------------------------------------------------


async def test_three_senders_share_a_round_each_message_once_in_order(pg_url):
    async with FakeBotApi(rate_limits=FakeLimits(scale=10)) as fake:
        store = Store.from_url(pg_url)
        expected = seed_round(store, [*range(1, 61), -1, -2], parts=2)
        bots = [make_bot(fake) for _ in range(3)]
        stores = [AsyncStore(Store.from_url(pg_url)) for _ in range(3)]
        try:
            for bot in bots:
                await bot.initialize()
            senders = [
                OutboxSender(bot, s, owner=f"replica-{i}", concurrency=8)
                for i, (bot, s) in enumerate(zip(bots, stores, strict=True))
            ]
            reports = await asyncio.gather(*(sender.drain() for sender in senders))
        finally:
            for bot in bots:
                await bot.shutdown()
            for s in stores:
                await s.close()
        assert sum(report.sent for report in reports) == 124
        assert sum(1 for report in reports if report.sent) >= 2  # the work was shared
        assert_each_delivered_once(fake, expected)  # and each chat's parts in order
        assert store.count_pending() == 0
        store.close()


async def test_a_killed_senders_claims_are_sent_by_another_after_the_lease(pg_url):
    async with FakeBotApi(rate_limits=FakeLimits(scale=10)) as fake:
        store = Store.from_url(pg_url)
        expected = seed_round(store, range(1, 11))
        now = datetime.now(UTC)
        # The dead sender claimed everything and never sent (SIGKILL after the claim).
        assert len(store.claim_messages("dead", now, now + timedelta(seconds=15), 100)) == 10
        bot = make_bot(fake)
        await bot.initialize()
        survivor = AsyncStore(Store.from_url(pg_url))
        try:
            too_early = OutboxSender(bot, survivor, owner="survivor")
            assert (await too_early.drain()).sent == 0  # the lease still runs
            after_lease = OutboxSender(
                bot,
                survivor,
                owner="survivor",
                clock=lambda: datetime.now(UTC) + timedelta(seconds=16),
            )
            assert (await after_lease.drain()).sent == 10
        finally:
            await bot.shutdown()
            await survivor.close()
        assert_each_delivered_once(fake, expected)
        store.close()


async def test_sends_not_yet_recorded_keep_their_claims_when_a_drain_fails(pg_url):
    """A batch of accepted sends the store could not take (a deadlock, once) must keep its
    chats claimed: the drain gave every claim back, and another replica sent the whole batch
    again (34 to 63 duplicates in 3-replica paid-broadcast runs)."""
    async with FakeBotApi(rate_limits=FakeLimits(scale=10)) as fake:
        store = Store.from_url(pg_url)
        expected = seed_round(store, range(1, 6))
        bot = make_bot(fake)
        await bot.initialize()
        first_store, second_store = AsyncStore(Store.from_url(pg_url)), AsyncStore(store)
        record = first_store.mark_sent_many
        failures = [StoreUnavailable("deadlock detected")]

        async def mark_sent_many(rows):
            if failures:
                raise failures.pop()
            await record(rows)

        first_store.mark_sent_many = mark_sent_many  # type: ignore[method-assign]
        try:
            first = OutboxSender(bot, first_store, owner="first")
            with pytest.raises(StoreUnavailable):
                await first.drain()
            assert len(fake.sent()) == 5
            second = OutboxSender(bot, second_store, owner="second")
            assert (await second.drain()).sent == 0  # the first one's claims still hold
            assert (await first.drain()).sent == 0  # it records what it kept; resends nothing
        finally:
            await bot.shutdown()
            await first_store.close()
        assert_each_delivered_once(fake, expected)
        assert store.count_pending() == 0
        await second_store.close()


async def test_a_sender_never_writes_a_batch_while_it_claims(tmp_path):
    """On PostgreSQL a claim (which renews the sender's own rows) and a batch of sent outcomes
    (the same rows) running at once deadlocked: one of them failed after a second."""
    async with FakeBotApi(rate_limits=FakeLimits(scale=10)) as fake:
        store = Store.from_url(f"sqlite:///{tmp_path / 'bot.db'}")
        store.migrate()
        expected = seed_round(store, range(1, 41))
        async_store = AsyncStore(store)
        busy = {"now": 0, "most": 0}

        def exclusive(method):
            async def call(*args, **kwargs):
                busy["now"] += 1
                busy["most"] = max(busy["most"], busy["now"])
                try:
                    await asyncio.sleep(0.005)  # long enough for the other task to come in
                    return await method(*args, **kwargs)
                finally:
                    busy["now"] -= 1

            return call

        for name in ("claim_messages", "renew_claims", "mark_sent_many", "release_claims"):
            setattr(async_store, name, exclusive(getattr(async_store, name)))
        bot = make_bot(fake)
        await bot.initialize()
        try:
            sender = OutboxSender(bot, async_store, concurrency=4, flush_seconds=0.001)
            sender.page_size = 8
            assert (await sender.drain()).sent == 40
        finally:
            await bot.shutdown()
            await async_store.close()
        assert_each_delivered_once(fake, expected)
        assert busy["most"] == 1


class _HeldLimiter(PacingRateLimiter):
    """Holds the first bulk request after its turn came, until released: a replica stopped
    (SIGSTOP) with a send already past the sender's lease check and waiting for its slot."""

    def __init__(self) -> None:
        super().__init__(BOT_LIMITS)
        self.held = asyncio.Event()
        self.release = asyncio.Event()

    async def _wait_turn(self, key, lane) -> None:
        await super()._wait_turn(key, lane)
        if lane == "bulk" and not self.held.is_set():
            self.held.set()
            await self.release.wait()


@pytest.fixture
def paused_for(monkeypatch) -> list[float]:
    """Seconds added to the senders' monotonic clock: how long the replica was stopped."""
    shift = [0.0]
    real = time.monotonic
    monkeypatch.setattr(bot.delivery, "time", SimpleNamespace(monotonic=lambda: real() + shift[0]))
    return shift


@pytest.mark.parametrize("renewed_first", [False, True])
async def test_a_replica_stopped_past_its_lease_sends_nothing_another_one_took_over(
    pg_url, paused_for, renewed_first
):
    """SIGSTOP a replica for longer than its lease: another one takes its chats and sends them.
    Resumed, it must not make the send it was waiting to make (its slot came while stopped),
    nor, if its coordinator renews first, go on with the chat's later parts: renewal extends
    only what it still holds, and found nothing missing (3 duplicates, and two replicas
    sending to one chat at once)."""
    # No per-chat limit at the fake: a second send to the chat is accepted, not a 429.
    async with FakeBotApi(rate_limits=FakeLimits(per_chat_per_second=None, scale=10)) as fake:
        store = Store.from_url(pg_url)
        expected = seed_round(store, [1], parts=3)
        limiter = _HeldLimiter()
        paused_bot = ExtBot(
            fake.token,
            base_url=fake.base_url,
            rate_limiter=limiter,
            request=HTTPXRequest(connection_pool_size=16),
        )
        other_bot = make_bot(fake)
        paused_store, other_store = (AsyncStore(Store.from_url(pg_url)) for _ in range(2))
        renewed = asyncio.Event()
        renew = paused_store.renew_claims

        async def renew_claims(*args):
            try:
                return await renew(*args)
            finally:
                renewed.set()

        paused_store.renew_claims = renew_claims  # type: ignore[method-assign]
        wake = asyncio.Event()
        try:
            await paused_bot.initialize()
            await other_bot.initialize()
            paused = OutboxSender(paused_bot, paused_store, owner="paused", concurrency=1)
            drain = asyncio.create_task(paused.drain(wake=wake))
            await limiter.held.wait()  # part 1 passed the lease check; its slot comes. SIGSTOP.
            paused_for[0] = 16.0  # stopped for 16 s: longer than the 15 s lease
            later = datetime.now(UTC) + timedelta(seconds=16)
            other = OutboxSender(other_bot, other_store, owner="other", clock=lambda: later)
            assert (await other.drain()).sent == 3  # the lease ran out: the chat is its now
            if renewed_first:
                wake.set()  # its coordinator's timer fires first and renews
                await renewed.wait()
            limiter.release.set()  # SIGCONT
            report = await asyncio.wait_for(drain, 30)
        finally:
            await paused_bot.shutdown()
            await other_bot.shutdown()
            await paused_store.close()
            await other_store.close()
        assert report.sent == 0
        assert_each_delivered_once(fake, expected)
        assert store.count_pending() == 0
        store.close()


# -- one rate budget in Redis ------------------------------------------------------------------


def slow_limits(rate: float = 0.01):
    """Limits so slow (one message per 100 s) that a test's own run time cannot matter."""
    from bot.ratelimit import RateLimits

    return RateLimits(
        global_rate=rate, bulk_share=0.5, chat_interval=1000.0, slack=0.0, shared_margin=0.0
    )


async def test_the_budget_is_one_for_every_replica(redis_client):
    from bot.shared_limit import SharedBudget

    client, prefix = redis_client
    limits = slow_limits()
    # Two replicas, two budgets objects, one set of keys.
    first, second = (SharedBudget(client, prefix, limits) for _ in range(2))
    assert await first.take(1) == 0  # the first slot is free
    wait = await second.take(2)  # another chat, another replica: the global cell is taken
    assert 90 < wait <= 100
    # Bulk requests queue for their own cell (at half the rate here), in FIFO order.
    waits = [await budget.reserve_bulk() for budget in (first, second, first)]
    assert waits[0] < 1 and 190 < waits[1] <= 200 and 390 < waits[2] <= 400


async def test_a_chat_is_paced_across_replicas_and_a_429_pauses_it_everywhere(redis_client):
    from bot.shared_limit import SharedBudget

    client, prefix = redis_client
    limits = slow_limits(rate=1000)
    first, second = (SharedBudget(client, prefix, limits) for _ in range(2))
    assert await first.take(7) == 0
    assert 990 < await second.take(7) <= 1000  # the chat's interval, whoever asks
    await first.pause(8, 500, whole_bulk_lane=True)
    assert 490 < await second.take(8) <= 500
    assert 490 < await second.reserve_bulk() <= 500


def offline_budget(limits):
    """A SharedBudget whose client is never used: for its pure arithmetic."""
    from redis.asyncio import Redis

    from bot.shared_limit import SharedBudget

    return SharedBudget(Redis.from_url("redis://127.0.0.1:9/0"), "pure", limits)


def test_the_shared_budget_paces_below_a_strict_window_with_room_for_jitter():
    from bot.ratelimit import RateLimits

    # Requests granted by different processes reach Telegram with different delays (their
    # event loops, the OS scheduler, the network): one held back by 70 ms lands among the
    # next second's. Paced at exactly 30/s, 31 grants span exactly 1 s: any delay makes a
    # strict sliding window of 1 s hold 31 and answer 429, which blocks the whole token.
    for rate in (30.0, 300.0):
        budget = offline_budget(RateLimits(global_rate=rate))
        limit = int(rate)
        global_us, bulk_us = budget.interval_us("interactive"), budget.interval_us("bulk")
        # limit + 1 consecutive requests of any lane (replies and digests together: a round
        # with people using the bot) span more than the window plus 80 ms of delay ...
        assert limit * global_us >= 1_080_000
        # (a request late by up to the catch-up lets the next one follow that much sooner)
        assert limit * global_us - budget.catch_up_us >= 1_070_000
        assert bulk_us >= global_us
        # ... and a round still goes at better than 1/1.10 of the limit.
        assert 1_000_000 / bulk_us >= rate / 1.10 * 1.01


async def test_a_global_429_holds_every_replicas_bulk_sends_not_just_new_ones(redis_client):
    from bot.shared_limit import SharedBudget

    client, prefix = redis_client
    limits = slow_limits(rate=1000)
    first, second = (SharedBudget(client, prefix, limits) for _ in range(2))
    # The second replica reserved its bulk slot before the 429: its take must still wait out
    # the pause, or every send already queued runs into Telegram's block and gets a 429 too.
    assert await second.reserve_bulk() < 1
    await first.pause(8, 500, whole_bulk_lane=True)
    assert 490 < await second.take(9, "bulk") <= 500
    assert await second.take(10, "interactive") == 0  # people are not held by bulk's pause


async def test_a_late_bulk_request_does_not_push_every_later_one_back(redis_client):
    from bot.shared_limit import SharedBudget

    client, prefix = redis_client
    budget = SharedBudget(client, prefix, slow_limits())  # a global slot every 100 s
    seconds, micros = await client.time()
    # The global slot was due 10 s ago; the request reaches Redis only now (a busy replica).
    await client.set(f"{prefix}:global", seconds * 1_000_000 + micros - 10_000_000)
    assert await budget.take(1, "bulk") == 0
    # The next slot stays on the schedule (due + 100 s), not now + 100 s: at 30/s, pushing
    # every slot back by a few milliseconds of lateness made a round go at 26/s, not 27.8.
    assert 85 < await budget.take(2, "bulk") <= 90


async def test_a_reply_gets_the_next_global_slot_ahead_of_bulk_sends_waiting_for_it(redis_client):
    from bot.shared_limit import SharedBudget

    client, prefix = redis_client
    limits = slow_limits()  # one message per 100 s
    first, second = (SharedBudget(client, prefix, limits) for _ in range(2))
    assert await first.take(1, "bulk") == 0  # a digest took the global slot
    # A command reply on another replica is given the next slot (in 100 s) at once ...
    wait, reserved = await second.reserve_interactive(2)
    assert reserved and 90 < wait <= 100
    # ... so a digest that had its bulk slot already waits behind it, not beside it: with
    # replies and digests racing for each free slot, replies waited for seconds in a round.
    assert 190 < await first.take(3, "bulk") <= 200
    # A reply to a chat still within its own pace is not given a slot: it asks again then.
    wait, reserved = await first.reserve_interactive(2)
    assert not reserved and wait > 900
    # The slot a reply took is one the bulk lane gives up: its next reservation comes later.
    assert 190 < await second.reserve_bulk() <= 200  # without it, at once


async def test_a_due_bulk_request_books_slots_that_come_soon_instead_of_asking_again(
    redis_client,
):
    """At 300/s, 97 % of Redis calls answered "not yet": a due bulk request asked again and
    again for a global slot a few ms ahead. Slots within the horizon are booked for then."""
    from bot.shared_limit import SharedBudget

    client, prefix = redis_client
    first, second = (SharedBudget(client, prefix, slow_limits()) for _ in range(2))
    for budget in (first, second):
        budget.horizon_us = 250_000_000  # 2.5 slots of 100 s
    waits = []
    for chat, budget in enumerate((first, second, first), start=1):
        taken = await budget.take_bulk(chat, reserve_next=False)
        assert taken.taken and taken.next_bulk is None
        waits.append(taken.wait)
    # Booked one after another, whichever replica asked, each for its own global slot.
    assert waits[0] < 1 and 99 < waits[1] <= 100 and 199 < waits[2] <= 200
    fourth = await second.take_bulk(4, reserve_next=False)
    assert not fourth.taken and 299 < fourth.wait <= 300  # beyond the horizon: nothing booked
    again = await second.take_bulk(1, reserve_next=False)
    assert not again.taken and again.wait > 999  # chat 1's own pace holds it, booked or not
    # What was not booked is still free: a reply on another replica gets that slot.
    wait, reserved = await first.reserve_interactive(4)
    assert reserved and 299 < wait <= 300


async def test_a_bulk_take_reserves_the_next_requests_bulk_slot_in_the_same_call(redis_client):
    from bot.shared_limit import SharedBudget

    client, prefix = redis_client
    budget = SharedBudget(client, prefix, slow_limits())  # bulk: a slot every 200 s
    assert await budget.reserve_bulk() < 1
    taken = await budget.take_bulk(1, reserve_next=True)
    assert taken.taken and taken.next_bulk is not None and 199 < taken.next_bulk <= 200
    # The bulk lane's FIFO holds it: the next reservation comes after it.
    assert 399 < await budget.reserve_bulk() <= 400


async def test_bulk_requests_ask_redis_about_once_each():
    """Each bulk take also reserves the next waiting request's bulk slot: one call per message
    (two were the floor before, and a due request's retries made it 34)."""
    from bot.ratelimit import RateLimits
    from bot.shared_limit import SharedRateLimiter, Taken

    class Budget:
        def __init__(self) -> None:
            self.calls: list[str] = []

        async def reserve_bulk(self) -> float:
            self.calls.append("reserve")
            return 0.0

        async def take_bulk(self, key, *, reserve_next) -> Taken:
            self.calls.append("take")
            return Taken(0.0, True, 0.0 if reserve_next else None)

    budget = Budget()
    limiter = SharedRateLimiter(RateLimits(global_rate=30), budget)  # type: ignore[arg-type]
    await asyncio.gather(*(limiter._shared_turn(chat, "bulk") for chat in range(40)))
    assert budget.calls.count("take") == 40
    # The first holders (3 at 30/s) reserve their own; every later one was handed a slot.
    assert budget.calls.count("reserve") == 3
    await limiter.shutdown()


@pytest.mark.parametrize("stalls", [1, 5])
@pytest.mark.parametrize("lane", ["bulk", "interactive"])
async def test_a_slot_booked_ahead_is_given_up_by_a_replica_that_wakes_up_late(
    monkeypatch, lane, stalls
):
    """A request sleeps until the slot Redis booked for it. A replica stopped meanwhile (SIGSTOP,
    a VM paused, a long GC pause) woke up and sent on its stale slot, among the requests the
    other replicas were sending on time: more than the budget in one second, a global 429. A
    request that wakes up late asks for a new slot instead, once: a replica too busy to wake
    up on time at all must not spend every slot it asks for and send nothing."""
    from bot.ratelimit import RateLimits
    from bot.shared_limit import SharedRateLimiter, Taken

    now = [100.0]
    stopped = [1.0] * stalls  # these sleeps last a second longer than asked: it was stopped

    async def sleep(seconds: float) -> None:
        now[0] += seconds + (stopped.pop() if stopped and seconds > 0 else 0.0)
        await real_sleep(0)

    real_sleep = asyncio.sleep
    monkeypatch.setattr(asyncio, "sleep", sleep)

    class Budget:
        def __init__(self) -> None:
            self.asked = 0

        async def reserve_bulk(self) -> float:
            return 0.0

        async def take_bulk(self, key, *, reserve_next) -> Taken:
            self.asked += 1
            return Taken(0.02, True)  # booked 20 ms ahead (within the horizon)

        async def reserve_interactive(self, key):
            self.asked += 1
            return 0.02, True

    budget = Budget()
    budget_in_redis: Any = budget
    limiter = SharedRateLimiter(RateLimits(global_rate=30), budget_in_redis, clock=lambda: now[0])
    await limiter._shared_turn(5, lane)
    assert budget.asked == 2  # the stale slot was given up, a fresh one taken
    await limiter.shutdown()


async def test_replies_to_a_group_leave_its_digest_a_slot_on_every_replica(redis_client):
    """Replies reserve their slot ahead and bulk sends take only a free one: without a cell
    of their own, a member's commands took every one of the group's slots."""
    from bot.ratelimit import RateLimits
    from bot.shared_limit import SharedBudget

    client, prefix = redis_client
    limits = RateLimits(
        global_rate=1000, bulk_share=0.5, chat_interval=0.0, slack=0.0, shared_margin=0.0,
        group_max=4, group_period=300.0, group_reserve=1,
    )  # fmt: skip
    first, second = (SharedBudget(client, prefix, limits) for _ in range(2))
    wait, reserved = await first.reserve_interactive(-5)
    assert reserved and wait < 1
    # The group's next slot (in 75 s: 4 a period) is not the next reply's (in 100 s) ...
    wait, reserved = await second.reserve_interactive(-5)
    assert not reserved and 99 < wait <= 100
    # ... so the digest, on whichever replica, takes it.
    assert 74 < await second.take(-5, "bulk") <= 75


async def test_a_replica_holds_few_bulk_reservations_so_replies_soon_find_room():
    from bot.ratelimit import RateLimits
    from bot.shared_limit import SharedRateLimiter

    class Budget:
        """Stands in for Redis: counts bulk requests between reserving and taking a slot."""

        def __init__(self) -> None:
            self.holding = self.most = 0
            self.release = asyncio.Event()

        async def reserve_bulk(self) -> float:
            self.holding += 1
            self.most = max(self.most, self.holding)
            await self.release.wait()
            return 0.0

        async def take_bulk(self, key, *, reserve_next):
            from bot.shared_limit import Taken

            self.holding -= 1
            return Taken(0.0, True)

    budget = Budget()
    limiter = SharedRateLimiter(RateLimits(global_rate=30), budget)  # type: ignore[arg-type]
    # A replica's 32 delivery workers would each hold a reserved bulk slot: 96 across three
    # replicas put the bulk lane's queue 3.5 s ahead, and every reply taking a slot in between
    # made the digests already holding one collide with it.
    turns = [asyncio.create_task(limiter._shared_turn(9, "bulk")) for _ in range(32)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert budget.most == 3  # a tenth of a second's worth at 30/s
    budget.release.set()
    await asyncio.gather(*turns)
    assert budget.most == 3 and budget.holding == 0
    await limiter.shutdown()


async def test_unreachable_redis_falls_back_to_an_equal_share_and_says_so(caplog):
    from redis.asyncio import Redis

    from bot.ratelimit import RateLimits
    from bot.shared_limit import SharedBudget, SharedRateLimiter

    client = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.5)
    limits = RateLimits(global_rate=30)
    limiter = SharedRateLimiter(
        limits, SharedBudget(client, "nowhere", limits), replicas=lambda: 3
    )
    calls = 0

    async def send(*args, **kwargs):
        nonlocal calls
        calls += 1
        return True

    with caplog.at_level(logging.WARNING, logger="bot.shared_limit"):
        result = await limiter.process_request(
            send, (), {}, "sendMessage", {"chat_id": 5}, {"bulk": True}
        )
    assert result is True and calls == 1  # nothing lost: it went, paced locally
    assert not limiter.shared
    assert "equal share of 30 msg/s across 3 replicas" in caplog.text
    assert "10.0 msg/s" in caplog.text
    await limiter.shutdown()
    await client.aclose()


async def test_while_redis_hangs_one_request_at_a_time_finds_out_whether_it_is_back():
    """Redis hung (stopped, or its network gone) answers nothing until the client's timeout,
    2 s in the bot. Every request that came once the retry time had passed asked Redis, and
    each waited those 2 s: replies and digests stalled for 2 s in every 5."""
    from bot.ratelimit import RateLimits
    from bot.shared_limit import BudgetUnavailable, SharedRateLimiter

    class HungBudget:
        def __init__(self) -> None:
            self.asked = 0
            self.answer = asyncio.Event()

        async def reserve_interactive(self, key):
            self.asked += 1
            await self.answer.wait()  # until the client's socket timeout
            raise BudgetUnavailable("Timeout reading from socket")

    budget = HungBudget()
    hung: Any = budget
    now = [0.0]
    limiter = SharedRateLimiter(
        RateLimits(global_rate=1000), hung, retry_seconds=5.0, clock=lambda: now[0]
    )
    limiter._fall_back(BudgetUnavailable("connection refused"))  # Redis went away earlier
    now[0] = 10.0  # the retry time has passed
    probe = asyncio.create_task(limiter._wait_turn(1, "interactive"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert budget.asked == 1
    # Meanwhile another reply is paced locally at once, not held for the probe's timeout.
    await asyncio.wait_for(limiter._wait_turn(2, "interactive"), 1)
    assert budget.asked == 1
    budget.answer.set()
    now[0] = 11.0  # (the fallback paces by this clock)
    await asyncio.wait_for(probe, 1)
    assert not limiter.shared
    await limiter.shutdown()


# -- guard rails -------------------------------------------------------------------------------


def test_a_second_process_on_sqlite_refuses_with_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    held = hold_sqlite(url)
    assert held is not None
    try:
        with pytest.raises(AnotherProcess) as refused:
            hold_sqlite(url)
        message = str(refused.value)
        assert "\n" not in message
        assert "another bot process is already running" in message
        assert "PostgreSQL" in message
    finally:
        held.close()
    again = hold_sqlite(url)  # free once the first one ends
    assert again is not None
    again.close()
    assert hold_sqlite("postgresql://u@h/db") is None


def test_every_replica_derives_the_same_webhook_secret():
    secret = webhook_secret("123:abc")
    assert secret == webhook_secret("123:abc") != webhook_secret("123:abd")
    assert secret.isalnum() and 1 <= len(secret) <= 256
