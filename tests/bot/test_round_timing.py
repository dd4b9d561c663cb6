"""Digests at their minute: rounds start at the top of each minute, and a big round hands its
first digests to the sender before it has queued them all."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.app import Timing, next_minute
from bot.rounds import FIRST_BATCH, digest_round
from bot.store import ChatDefaults, Subscription
from tests.bot.conftest import Clock, start_bot, stop_bot, write_config


def test_next_minute_is_the_next_top_of_a_minute():
    assert next_minute(datetime(2026, 1, 1, 7, 59, 59, 900_000, tzinfo=UTC)) == datetime(
        2026, 1, 1, 8, 0, tzinfo=UTC
    )
    assert next_minute(datetime(2026, 1, 1, 8, 0, tzinfo=UTC)) == datetime(
        2026, 1, 1, 8, 1, tzinfo=UTC
    )


async def test_the_round_job_runs_at_the_top_of_every_minute(fake, tmp_path, news_folder):
    timing = Timing(round_seconds=60, poll_seconds=3600, first_poll_seconds=3600, clock=Clock())
    application = await start_bot(fake, write_config(tmp_path), Clock(), timing)
    try:
        [job] = application.job_queue.get_jobs_by_name("digest-round")
        first = job.next_t
        assert (first.second, first.microsecond) == (0, 0)
        assert timedelta(0) < first - datetime.now(UTC) <= timedelta(minutes=1)
        assert job.job.trigger.interval == timedelta(minutes=1)
    finally:
        await stop_bot(application)


class RecordingEvent(asyncio.Event):
    """Notes how many messages were pending each time the round woke the sender."""

    def __init__(self, count_pending) -> None:
        super().__init__()
        self.count_pending = count_pending
        self.pending_at_wake: list[int] = []

    def set(self) -> None:
        self.pending_at_wake.append(self.count_pending())
        super().set()


async def test_a_big_round_wakes_the_sender_after_its_first_small_batch(running_bot):
    services, now = running_bot.services, running_bot.clock()
    store = services.store.store
    chats = 3 * FIRST_BATCH
    for chat_id in range(5000, 5000 + chats):
        store.ensure_chat(chat_id, "private", "", ChatDefaults(), now - timedelta(minutes=1))
        store.add_subscription(chat_id, Subscription("topic", "quantum"))
    services.stop_delivery.set()  # the sender must not empty the outbox while we count
    wake = RecordingEvent(store.count_pending)
    services.wake_delivery = wake
    report = await digest_round(services, now)
    assert report.queued == chats
    assert 0 < wake.pending_at_wake[0] <= FIRST_BATCH
    assert wake.pending_at_wake[-1] == chats
