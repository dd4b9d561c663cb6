"""The outbox sender against the loopback Bot API fake over HTTP and a real store.

Limits are scaled ten times up (300 msg/s overall, 10/s per chat, 20 per 6 s per group) so a
round of a few hundred chats runs in a couple of seconds. Nothing here asserts wall time: the
checks count messages, duplicates and 429s.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from telegram.error import RetryAfter
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.delivery import DrainReport, OutboxSender, backoff_delay, is_chat_gone
from bot.ratelimit import BULK, PacingRateLimiter, RateLimits
from bot.store import AsyncStore, ChatDefaults, Store, StoreUnavailable
from summaries.models import Article, Digest
from tests.support.fake_bot_api import FakeBotApi
from tests.support.fake_bot_api import RateLimits as FakeLimits

SCALE = 10
FAKE_LIMITS = FakeLimits(scale=SCALE)
# What the bot believes, matching the fake's scaled limits; the slack absorbs a loaded
# test machine's scheduling jitter between the limiter's grant and the fake's clock.
BOT_LIMITS = RateLimits(
    global_rate=30 * SCALE, chat_interval=1 / SCALE, group_period=60 / SCALE, slack=0.03
)
NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


# -- setting up a round ------------------------------------------------------------------------


def message_text(chat_id: int, part: int) -> str:
    return f"<b>Digest</b> for chat {chat_id}, part {part}"


def seed_round(
    store: Store,
    chat_ids: Iterable[int],
    *,
    parts: int = 1,
    texts: Mapping[int, list[str]] | None = None,
) -> dict[int, list[str]]:
    """Subscribe each chat and enqueue one digest of ``parts`` messages; return the texts."""
    article = Article.create(
        source="https://example.org/feed", title="Sample", paragraphs=["Body."], url=None
    )
    store.add_articles([(article, Digest(article.id, ("A bullet.",)))], NOW)
    expected: dict[int, list[str]] = {}
    for chat_id in chat_ids:
        chat_type = "private" if chat_id > 0 else "group"
        store.ensure_chat(chat_id, chat_type, f"Chat {chat_id}", ChatDefaults(), NOW)
        chat_texts = (texts or {}).get(chat_id) or [
            message_text(chat_id, p) for p in range(1, parts + 1)
        ]
        digest_id = store.enqueue_digest(chat_id, [article.id], chat_texts, False, NOW, None)
        assert digest_id is not None
        expected[chat_id] = chat_texts
    return expected


def accepted_texts(fake: FakeBotApi, chat_id: int) -> list[str]:
    return [sent.text for sent in fake.sent(chat_id)]


def assert_each_delivered_once(fake: FakeBotApi, expected: dict[int, list[str]]) -> None:
    for chat_id, texts in expected.items():
        assert accepted_texts(fake, chat_id) == texts, f"chat {chat_id}"
    assert fake.stats.duplicates == 0


def assert_429s_honoured(fake: FakeBotApi) -> None:
    """Every refused chat waited out its retry_after before its next accepted message.

    Whether a 429 happens at all at these scaled limits depends on network jitter between the
    limiter's grant and the fake's clock, so that count is the benchmarks' to report; the
    pacing itself is checked with a fake clock in test_ratelimit.py.
    """
    for event in fake.stats.rate_limit_events:
        later = [m.at for m in fake.sent(event.chat_id) if m.at > event.at]
        if later:
            assert min(later) >= event.at + event.retry_after - 0.005


# -- fixtures ----------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(rate_limits=FAKE_LIMITS) as server:
        yield server


def make_bot(fake: FakeBotApi, limits: RateLimits = BOT_LIMITS, read_timeout: float = 5.0):
    request = HTTPXRequest(connection_pool_size=128, read_timeout=read_timeout)
    return ExtBot(
        fake.token,
        base_url=fake.base_url,
        rate_limiter=PacingRateLimiter(limits),
        request=request,
    )


@pytest_asyncio.fixture
async def bot(fake: FakeBotApi) -> AsyncIterator[ExtBot]:
    extbot = make_bot(fake)
    await extbot.initialize()
    yield extbot
    await extbot.shutdown()


@pytest.fixture
def sqlite_store(tmp_path) -> Iterator[Store]:
    opened = Store.from_url(f"sqlite:///{tmp_path / 'delivery.db'}")
    opened.migrate()
    yield opened
    opened.close()


def sender_for(bot, store: Store, **options) -> OutboxSender:
    options.setdefault("backoff_base", 0.02)
    options.setdefault("backoff_cap", 0.2)
    return OutboxSender(bot, AsyncStore(store), **options)


# -- the round ---------------------------------------------------------------------------------


async def test_round_of_300_chats_sends_each_message_once(fake, bot, store):
    chats = [*range(1, 281), *range(-20, 0)]  # private chats and groups
    expected = seed_round(store, chats)
    report = await sender_for(bot, store).drain()

    assert report == DrainReport(sent=300)
    assert_each_delivered_once(fake, expected)
    assert_429s_honoured(fake)
    assert store.count_pending() == 0
    assert store.stats().outbox_sent == 300


async def test_a_chats_parts_arrive_in_order_and_paced(fake, bot, sqlite_store):
    chats = [*range(1, 41), -7, -8]
    expected = seed_round(sqlite_store, chats, parts=3)
    report = await sender_for(bot, sqlite_store).drain()

    assert report.sent == 3 * len(chats)
    assert_each_delivered_once(fake, expected)
    assert_429s_honoured(fake)


async def test_small_pages_still_deliver_everything_once(fake, bot, sqlite_store):
    expected = seed_round(sqlite_store, range(1, 61), parts=2)
    store = AsyncStore(sqlite_store)
    limits_seen: list[int] = []
    original = store.claim_messages

    async def spy(owner, now, lease_until, chat_limit):
        limits_seen.append(chat_limit)
        return await original(owner, now, lease_until, chat_limit)

    store.claim_messages = spy  # type: ignore[method-assign]
    sender = OutboxSender(bot, store, concurrency=4, page_size=10)
    report = await sender.drain()

    assert report.sent == 120
    assert_each_delivered_once(fake, expected)
    assert len(limits_seen) > 5  # it paged
    # Never more than a page beyond what it holds: memory stays flat whatever the outbox size.
    assert max(limits_seen) <= 10 + 2 * 4


# -- faults ------------------------------------------------------------------------------------


async def test_429s_are_honoured_and_every_message_still_arrives_once(fake, bot, sqlite_store):
    # Flood control answers the first 40 sends, whatever the machine's speed (the sliding
    # windows are off so that jitter cannot add 429s of its own).
    fake.set_rate_limits(None)
    fake.flood(40, retry_after=0.2)
    expected = seed_round(sqlite_store, range(1, 151), parts=2)
    report = await sender_for(bot, sqlite_store).drain()

    stats = fake.stats
    assert stats.rate_limited == 40
    assert report.retried >= 40
    assert report.sent == 300
    assert_each_delivered_once(fake, expected)
    assert_429s_honoured(fake)


async def test_a_429_on_one_chats_reply_leaves_every_other_chats_digest_going(fake, bot):
    """Telegram's 429 for one chat's reply used to pause all bulk sending for its
    retry_after (an hour here: the sends below would wait it out and time out)."""
    fake.set_rate_limits(None)
    fake.flood_chat(5, count=1, retry_after=3600)
    with pytest.raises(RetryAfter):
        await bot.send_message(5, "Commands", rate_limit_args={"max_retries": 0})
    digests = [
        bot.send_message(chat_id, message_text(chat_id, 1), rate_limit_args=BULK)
        for chat_id in range(10, 40)
    ]
    await asyncio.wait_for(asyncio.gather(*digests), timeout=60)

    for chat_id in range(10, 40):
        assert accepted_texts(fake, chat_id) == [message_text(chat_id, 1)]
    assert fake.stats.rate_limited == 1
    assert bot.rate_limiter.stats().retry_after_chat == 1


async def test_blocked_chats_are_deactivated_and_the_rest_unaffected(fake, bot, store):
    expected = seed_round(store, range(1, 31), parts=2)
    blocked = {3, 17, 30}
    for chat_id in blocked:
        fake.block(chat_id)
    report = await sender_for(bot, store).drain()

    assert report.deactivated == 3
    assert report.sent == 2 * 27
    assert report.failed == 2 * 3  # both parts of each blocked chat, with the reason
    for chat_id in blocked:
        assert fake.sent(chat_id) == []
        chat = store.get_chat(chat_id)
        assert chat is not None and not chat.active
    assert_each_delivered_once(fake, {c: t for c, t in expected.items() if c not in blocked})
    assert store.stats().outbox_failed == 6
    assert store.count_pending() == 0

    # Deactivated means skipped from then on: a second drain sends them nothing.
    forbidden_before = fake.stats.forbidden
    assert await sender_for(bot, store).drain() == DrainReport()
    assert fake.stats.forbidden == forbidden_before


async def test_chat_not_found_deactivates_the_chat(fake, bot, sqlite_store):
    expected = seed_round(sqlite_store, [1, 2, -5])
    fake.set_chat_missing(-5)
    report = await sender_for(bot, sqlite_store).drain()

    assert report.deactivated == 1
    chat = sqlite_store.get_chat(-5)
    assert chat is not None and not chat.active
    assert_each_delivered_once(fake, {1: expected[1], 2: expected[2]})


async def test_migrated_group_is_followed_to_its_new_id(fake, bot, store):
    old_id, new_id = -4242, -1_000_000_004_242
    expected = seed_round(store, [old_id, 5], parts=3)
    fake.migrate_group(old_id, new_id)
    report = await sender_for(bot, store).drain()

    assert report.migrated == 1
    assert report.sent == 6
    assert accepted_texts(fake, new_id) == expected[old_id]
    assert fake.sent(old_id) == []
    assert store.get_chat(old_id) is None
    moved = store.get_chat(new_id)
    assert moved is not None and moved.active
    assert store.count_pending() == 0


async def test_dropped_connections_are_retried_and_never_counted_as_sent(fake, bot, sqlite_store):
    expected = seed_round(sqlite_store, range(1, 101), parts=2)
    fake.drop_connections(0.2, seed=3)
    report = await sender_for(bot, sqlite_store).drain()

    dropped = fake.stats.dropped_before_recording
    assert dropped > 0
    assert report.retried >= dropped
    assert report.sent == 200
    assert_each_delivered_once(fake, expected)
    assert sqlite_store.count_pending() == 0


async def test_answers_lost_after_delivery_are_the_only_duplicates(fake, bot, sqlite_store):
    expected = seed_round(sqlite_store, range(1, 101))
    fake.drop_connections(0.1, after_recording=True, seed=5)
    report = await sender_for(bot, sqlite_store).drain()

    stats = fake.stats
    assert stats.dropped_after_recording > 0
    assert report.sent == 100
    for chat_id, texts in expected.items():
        assert set(accepted_texts(fake, chat_id)) == set(texts)  # nothing lost
    # Telegram delivered those but the answer never came: the resend is the documented repeat.
    assert stats.duplicates <= stats.dropped_after_recording


async def test_server_errors_back_off_then_succeed(fake, bot, sqlite_store):
    expected = seed_round(sqlite_store, [1])
    fake.fail_next(3, status=502)
    report = await sender_for(bot, sqlite_store).drain()

    assert report == DrainReport(sent=1, retried=3)
    assert_each_delivered_once(fake, expected)


async def test_persistent_network_errors_give_up_after_max_attempts(fake, bot, sqlite_store):
    seed_round(sqlite_store, [1, 2])
    fake.fail_next(1000, status=500)
    report = await sender_for(bot, sqlite_store, max_attempts=3, concurrency=1).drain()

    assert report.failed == 2
    assert report.retried == 4
    assert fake.stats.requests["sendMessage"] == 6
    assert sqlite_store.count_pending() == 0
    assert sqlite_store.stats().outbox_failed == 2


async def test_unparsable_message_fails_once_and_the_next_part_still_goes(fake, bot, sqlite_store):
    broken = "<b>unclosed bold"
    expected = seed_round(sqlite_store, [1, 2], texts={1: [broken, "<i>fine</i>"]})
    report = await sender_for(bot, sqlite_store).drain()

    assert report.failed == 1
    assert report.sent == 2
    assert accepted_texts(fake, 1) == ["<i>fine</i>"]
    assert accepted_texts(fake, 2) == expected[2]
    assert fake.stats.bad_requests == 1  # refused once, never looped
    assert sqlite_store.count_pending() == 0


# -- head-of-line blocking -----------------------------------------------------------------------


def enqueue_later_digest(store: Store, chat_id: int, text: str) -> None:
    """A digest queued by a later round, with an article of its own."""
    article = Article.create(source="later", title=text, paragraphs=["Body."], url=None)
    store.add_articles([(article, Digest(article.id, ("A bullet.",)))], NOW)
    store.ensure_chat(chat_id, "private", f"Chat {chat_id}", ChatDefaults(), NOW)
    assert store.enqueue_digest(chat_id, [article.id], [text], False, NOW, None) is not None


async def test_a_chat_in_backoff_never_delays_digests_queued_later(fake, bot, sqlite_store):
    # Chat 1's send fails and backs off for minutes, as in production; the drain must not sit
    # on it. Ordering of events decides the test, not speed: chat 2's digest is queued only
    # after chat 1 is waiting, and must arrive long before chat 1's retry is due (>= 150 s).
    seed_round(sqlite_store, [1])
    fake.fail_next(1, status=502)
    sender = sender_for(bot, sqlite_store, backoff_base=300.0, backoff_cap=300.0)
    wake, stop = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(sender.run_forever(wake, stop, idle_poll=600))
    try:
        await fake.wait_for(lambda: fake._stats.injected_failures == 1, timeout=60, what="502")
        enqueue_later_digest(sqlite_store, 2, "queued by a later round")
        wake.set()
        (message,) = await fake.wait_for_messages(2, timeout=60)
        assert message.text == "queued by a later round"
        assert fake.sent(1) == []  # still waiting out its backoff
        await fake.wait_for(lambda: sqlite_store.count_pending() == 1, timeout=60, what="chat 2")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_chats_waiting_out_backoffs_do_not_fill_the_senders_slots(fake, bot, sqlite_store):
    # More waiting chats than the drain may hold loaded (2 x concurrency): none of them may
    # keep a later chat's digest out.
    waiting = list(range(1, 7))
    seed_round(sqlite_store, waiting)
    fake.fail_next(len(waiting), status=502)
    sender = sender_for(bot, sqlite_store, concurrency=2, page_size=1)
    sender.backoff_base = sender.backoff_cap = 300.0
    stop = asyncio.Event()
    wake = asyncio.Event()
    drain = asyncio.create_task(sender.drain(stop, wake))
    try:
        await fake.wait_for(
            lambda: fake._stats.injected_failures == len(waiting), timeout=60, what="502s"
        )
        enqueue_later_digest(sqlite_store, 99, "later")
        wake.set()
        (message,) = await fake.wait_for_messages(99, timeout=60)
        assert message.text == "later"
    finally:
        stop.set()
        report = await asyncio.wait_for(drain, 30)
    assert report.stopped and report.sent == 1 and report.retried == len(waiting)


# -- the store going away ----------------------------------------------------------------------


class CutStore:
    """An AsyncStore whose every call fails with StoreUnavailable while ``down``.

    ``cut_at_mark``: the store goes down *inside* the call that records that sent message (a
    batch of ``mark_sent_many``), after Telegram accepted it and before the outcome is written:
    the moment a resend would duplicate.
    """

    def __init__(self, inner: AsyncStore, cut_at_mark: int) -> None:
        self.inner = inner
        self.cut_at_mark = cut_at_mark
        self.marks = 0
        self.down = False
        self.refused = 0
        self.most_kept = 0

    def __getattr__(self, name: str):
        attr = getattr(self.inner, name)
        if not asyncio.iscoroutinefunction(attr):
            return attr

        async def call(*args, **kwargs):
            if name == "mark_sent_many":
                before, self.marks = self.marks, self.marks + len(args[0])
                if before < self.cut_at_mark <= self.marks:
                    self.down = True
            if self.down:
                self.refused += 1
                raise StoreUnavailable("the database went away (cut by the test)")
            return await attr(*args, **kwargs)

        return call


async def test_a_store_outage_mid_round_repeats_nothing_telegram_answered(fake, bot, store):
    expected = seed_round(store, range(1, 151))
    cut = CutStore(AsyncStore(store), cut_at_mark=40)
    sender = OutboxSender(bot, cut, backoff_base=0.02, backoff_cap=0.2)  # type: ignore[arg-type]
    wake, stop = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(sender.run_forever(wake, stop, idle_poll=1.0))
    try:
        # Down from the 40th answer on; the sender keeps what Telegram said and waits.
        await fake.wait_for(lambda: cut.refused >= 4, timeout=60, what="refused store calls")
        kept = len(sender.unrecorded)
        assert kept >= 1  # at least the 40th message, accepted and not yet recorded
        accepted_during_outage = fake.stats.accepted
        cut.down = False
        await fake.wait_for(lambda: fake._stats.accepted >= 150, timeout=60, what="all sent")
        await fake.wait_for(lambda: store.count_pending() == 0, timeout=60, what="recorded")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert accepted_during_outage < 150
    assert_each_delivered_once(fake, expected)  # 0 lost, 0 duplicated
    assert store.stats().outbox_sent == 150
    assert not sender.unrecorded


class CountingStore:
    """An AsyncStore that counts the calls made to it, by method name."""

    def __init__(self, inner: AsyncStore) -> None:
        self.inner = inner
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str):
        attr = getattr(self.inner, name)
        if not asyncio.iscoroutinefunction(attr):
            return attr

        async def call(*args, **kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            return await attr(*args, **kwargs)

        return call


async def test_sends_are_recorded_a_batch_at_a_time_not_one_statement_each(fake, bot, store):
    """One UPDATE per message cost the sender and the database more CPU than the send; here
    the flush interval outlasts the drain, so its 120 sends are recorded before each page is
    read (a page would hand their chats back) and once at the end."""
    expected = seed_round(store, range(1, 121))
    counting = CountingStore(AsyncStore(store))
    sender = OutboxSender(bot, counting, flush_seconds=3600)  # type: ignore[arg-type]
    report = await sender.drain()
    assert report.sent == 120
    assert_each_delivered_once(fake, expected)
    assert store.stats().outbox_sent == 120
    assert 1 <= counting.calls["mark_sent_many"] <= counting.calls["claim_messages"] + 1
    assert "mark_sent" not in counting.calls


async def test_accepted_sends_are_recorded_while_the_drain_goes_on(fake, bot, store):
    """A drain kept going (a chat waiting out a 429) still records every flush_seconds."""
    expected = seed_round(store, range(1, 41))
    fake.flood_chat(40, 1, retry_after=30)  # the drain waits for it, well past the others
    sender = sender_for(bot, store)
    stop = asyncio.Event()
    drain = asyncio.create_task(sender.drain(stop))
    try:
        await fake.wait_for(lambda: fake._stats.accepted >= 39, timeout=30, what="39 sent")
        await fake.wait_for(
            lambda: store.stats().outbox_sent == 39, timeout=30, what="recorded mid-drain"
        )
        assert not drain.done()
    finally:
        stop.set()
        await asyncio.wait_for(drain, 30)
    assert {m.chat_id for m in fake.sent()} == set(expected) - {40}


# -- stopping and resuming ---------------------------------------------------------------------


async def test_graceful_stop_records_in_flight_sends_and_a_new_sender_finishes(fake, store):
    expected = seed_round(store, range(1, 301))
    first_bot = make_bot(fake)
    await first_bot.initialize()
    stop = asyncio.Event()
    drain = asyncio.create_task(sender_for(first_bot, store).drain(stop))
    while fake.stats.accepted < 60:
        await asyncio.sleep(0.005)
    stop.set()
    report = await drain
    await first_bot.shutdown()

    accepted = fake.stats.accepted
    assert report.stopped
    assert report.sent == accepted  # every send under way was finished and recorded
    assert store.stats().outbox_sent == accepted
    assert store.count_pending() == 300 - accepted > 0

    second_bot = make_bot(fake)
    await second_bot.initialize()
    try:
        rest = await sender_for(second_bot, store).drain()
    finally:
        await second_bot.shutdown()
    assert rest.sent == 300 - accepted
    assert_each_delivered_once(fake, expected)
    assert store.count_pending() == 0


async def test_run_forever_drains_on_wake_and_ends_on_stop(fake, bot, sqlite_store):
    wake, stop = asyncio.Event(), asyncio.Event()
    sender = sender_for(bot, sqlite_store)
    task = asyncio.create_task(sender.run_forever(wake, stop, idle_poll=30))
    await asyncio.sleep(0.05)  # an idle first drain
    expected = seed_round(sqlite_store, range(1, 11))
    wake.set()
    while fake.stats.accepted < 10:
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert_each_delivered_once(fake, expected)


async def test_messages_waiting_out_a_retry_are_picked_up_when_due(fake, bot, sqlite_store):
    seed_round(sqlite_store, [1])
    message = sqlite_store.pending_messages(NOW + timedelta(days=3650), 10)[0]
    sqlite_store.mark_retry(message.id, datetime.now(UTC) + timedelta(seconds=0.3), "earlier")
    sender = sender_for(bot, sqlite_store)
    assert await sender.drain() == DrainReport()  # not due yet: left pending
    await asyncio.sleep(0.35)
    assert (await sender.drain()).sent == 1


# -- pure helpers ------------------------------------------------------------------------------


def test_backoff_grows_is_jittered_and_capped():
    import random

    rng = random.Random(1)
    delays = [backoff_delay(n, 1.0, 30.0, rng) for n in range(1, 10)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(30.0, 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) == len(delays)


@pytest.mark.parametrize(
    ("description", "gone"),
    [
        ("Bad Request: chat not found", True),
        ("Bad Request: group chat was deactivated", True),
        ("Bad Request: PEER_ID_INVALID", True),
        ("Bad Request: can't parse entities: unclosed tag", False),
        ("Bad Request: message is too long", False),
    ],
)
def test_which_bad_requests_mean_the_chat_is_gone(description, gone):
    from telegram.error import BadRequest

    assert is_chat_gone(BadRequest(description)) is gone


def test_constructor_refuses_nonsense(sqlite_store):
    from telegram import Bot

    with pytest.raises(ValueError, match="concurrency"):
        OutboxSender(Bot("1:x"), AsyncStore(sqlite_store), concurrency=0)
    with pytest.raises(ValueError, match="max_attempts"):
        OutboxSender(Bot("1:x"), AsyncStore(sqlite_store), max_attempts=0)


async def test_works_with_ptbs_own_rate_limiter_too(fake, sqlite_store):
    from telegram.ext import AIORateLimiter

    extbot = ExtBot(fake.token, base_url=fake.base_url, rate_limiter=AIORateLimiter())
    await extbot.initialize()
    expected = seed_round(sqlite_store, [1, 2, 3])
    try:
        report = await sender_for(extbot, sqlite_store).drain()
    finally:
        await extbot.shutdown()
    assert report.sent == 3
    assert_each_delivered_once(fake, expected)
