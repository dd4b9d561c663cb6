"""The pacing rules with a fake clock, and the PTB limiter around them on a real event loop."""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections import defaultdict

import pytest
from telegram.error import RetryAfter

from bot.ratelimit import (
    BULK,
    Lane,
    Pacer,
    PacingRateLimiter,
    RateLimits,
    Ticket,
    chat_key,
    is_paced_request,
    retry_after_seconds,
)

LIMITS = RateLimits(global_rate=30, bulk_share=0.9, chat_interval=1.0, group_max=20)


def simulate(pacer: Pacer, start: float = 0.0, until: float = 1e9) -> list[tuple[float, Ticket]]:
    """Advance a fake clock from wake-up to wake-up until nothing waits; return the grants."""
    now = start
    grants: list[tuple[float, Ticket]] = []
    while now <= until:
        granted, wake = pacer.dispatch(now)
        grants.extend((now, ticket) for ticket in granted)
        if wake is None:
            break
        assert wake > now, "dispatch must not leave a ready request waiting"
        now = wake
    return grants


def max_in_window(times: list[float], window: float) -> int:
    """The most grants in any half-open window [t, t + window)."""
    ordered = sorted(times)
    return max(
        (bisect_left(ordered, t + window) - i for i, t in enumerate(ordered)),
        default=0,
    )


def test_global_budget_has_no_initial_burst_and_holds_in_every_window():
    pacer = Pacer(LIMITS)
    for chat in range(300):
        pacer.submit(chat + 1, "bulk")
    times = [t for t, _ in simulate(pacer)]
    assert len(times) == 300
    assert max_in_window(times, 1.0) <= LIMITS.global_rate * LIMITS.bulk_share + 1
    # The very first second gets no more than any other second.
    assert sum(1 for t in times if t < 1.0) <= LIMITS.global_rate * LIMITS.bulk_share + 1


def test_bulk_round_runs_close_to_its_share_of_the_budget():
    pacer = Pacer(LIMITS)
    for chat in range(900):
        pacer.submit(chat + 1, "bulk")
    times = [t for t, _ in simulate(pacer)]
    achieved = (len(times) - 1) / (times[-1] - times[0])
    assert achieved == pytest.approx(LIMITS.global_rate * LIMITS.bulk_share, rel=0.02)


def test_bulk_always_leaves_a_slot_free_in_every_window():
    pacer = Pacer(LIMITS)
    for chat in range(300):
        pacer.submit(chat + 1, "bulk")
    times = [t for t, _ in simulate(pacer)]
    assert LIMITS.bulk_window_cap < LIMITS.global_window_cap
    assert max_in_window(times, 1.0) <= LIMITS.bulk_window_cap


def test_interactive_requests_get_the_whole_budget_but_never_more():
    pacer = Pacer(LIMITS)
    for chat in range(120):
        pacer.submit(chat + 1, "interactive")
    times = [t for t, _ in simulate(pacer)]
    assert max_in_window(times, 1.0) <= LIMITS.global_rate
    assert sum(1 for t in times if t < 1.0) <= LIMITS.global_rate


def test_replies_alone_leave_a_margin_for_network_jitter():
    """Many chats flooding commands fill the budget with replies alone: 31 of them paced at
    exactly 30/s span one second, and one reaching Telegram a little late made a global 429."""
    pacer = Pacer(LIMITS)
    for chat in range(200):
        pacer.submit(chat + 1, "interactive")
    times = [t for t, _ in simulate(pacer)]
    spans = [last - first for first, last in zip(times, times[30:], strict=False)]
    interval = (1 + LIMITS.interactive_margin) / LIMITS.global_rate
    assert min(spans) >= 30 * interval - interval / 2 - 1e-9  # 1.06 s, not 1.02


def test_a_private_chat_gets_one_message_per_interval():
    pacer = Pacer(LIMITS)
    for _ in range(5):
        pacer.submit(42, "bulk")
    times = [t for t, _ in simulate(pacer)]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(times) == 5
    assert min(gaps) >= LIMITS.chat_interval


def test_a_group_gets_at_most_group_max_per_period():
    pacer = Pacer(LIMITS)
    for _ in range(45):
        pacer.submit(-100123, "bulk")
    times = [t for t, _ in simulate(pacer)]
    assert len(times) == 45
    assert max_in_window(times, LIMITS.group_period) <= LIMITS.group_max
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= LIMITS.chat_interval


def test_a_group_limited_to_one_message_per_period_gets_one():
    pacer = Pacer(RateLimits(group_max=1, group_period=60.0))
    for _ in range(3):
        pacer.submit(-5, "bulk")
    times = [t for t, _ in simulate(pacer)]
    assert max_in_window(times, 60.0) == 1


def test_channel_usernames_are_paced_as_groups():
    pacer = Pacer(LIMITS)
    for _ in range(21):
        pacer.submit("@news", "interactive")
    times = [t for t, _ in simulate(pacer)]
    assert times[-1] - times[0] >= LIMITS.group_period


def test_interactive_request_jumps_a_long_bulk_queue():
    pacer = Pacer(LIMITS)
    for chat in range(200):
        pacer.submit(chat + 1, "bulk")
    grants = simulate(pacer, until=2.0)  # the round is under way
    assert grants
    help_reply = pacer.submit(999_999, "interactive")
    rest = simulate(pacer, start=grants[-1][0])
    order = [ticket for _, ticket in rest]
    # It goes in the first free slot, not after the remaining bulk requests.
    assert order.index(help_reply) <= 1
    when = next(t for t, ticket in rest if ticket is help_reply)
    assert when - grants[-1][0] <= 1.0 / LIMITS.global_rate + 1e-9


def test_a_chat_held_back_by_its_own_pace_does_not_block_others():
    pacer = Pacer(LIMITS)
    pacer.submit(7, "interactive")
    pacer.submit(7, "interactive")  # must wait a second for chat 7
    for chat in range(10, 20):
        pacer.submit(chat, "bulk")
    grants = simulate(pacer)
    second_for_7 = [t for t, ticket in grants if ticket.key == 7][1]
    bulk_before = [t for t, ticket in grants if ticket.lane == "bulk" and t < second_for_7]
    assert len(bulk_before) == 10


def test_bulk_share_leaves_headroom_for_interactive():
    pacer = Pacer(LIMITS)
    for chat in range(600):
        pacer.submit(chat + 1, "bulk")
    for user in range(60):
        pacer.submit(10_000 + user, "interactive")
    grants = simulate(pacer)
    by_lane: dict[Lane, list[float]] = defaultdict(list)
    for t, ticket in grants:
        by_lane[ticket.lane].append(t)
    # All interactive requests went first, at the full rate, before most of the round.
    assert max(by_lane["interactive"]) < sorted(by_lane["bulk"])[100]
    all_times = [t for t, _ in grants]
    assert max_in_window(all_times, 1.0) <= LIMITS.global_rate


def test_chat_429_pauses_only_that_chat():
    pacer = Pacer(LIMITS)
    pacer.grant(0.0, 5, "bulk")
    pacer.grant(1.1, 5, "bulk")  # two messages close together: the chat's pace explains it
    scope = pacer.record_retry_after(1.2, 5, seconds=10)
    assert scope == "chat"
    assert pacer.ready_at(1.2, 5, "bulk") >= 11.2
    assert pacer.ready_at(1.2, 6, "bulk") < 2.0
    assert pacer.stats().retry_after_chat == 1


def test_a_429_at_the_global_limit_pauses_bulk_but_not_interactive():
    pacer = Pacer(LIMITS)
    for n in range(27):  # nearly the whole budget in the last second, one message per chat
        pacer.grant(n / 30, 100 + n, "bulk")
    scope = pacer.record_retry_after(0.95, 126, seconds=3)  # its pace can't explain it
    assert scope == "global"
    assert pacer.ready_at(0.95, 6, "bulk") >= 3.95
    assert pacer.ready_at(0.95, 6, "interactive") < 1.1
    assert pacer.stats().retry_after_global == 1


def test_a_429_on_one_chats_reply_pauses_only_that_chat():
    """Telegram limits chats in ways no pace shows: a quiet bot's 429 on one reply used to
    pause every digest for its retry_after."""
    pacer = Pacer(LIMITS)
    pacer.grant(0.0, 5, "interactive")
    scope = pacer.record_retry_after(0.1, 5, seconds=30)
    assert scope == "chat"
    assert pacer.ready_at(0.1, 5, "interactive") >= 30.1
    assert pacer.ready_at(0.1, 6, "bulk") < 1.0
    assert pacer.stats().retry_after_chat == 1


def test_unexplained_429s_on_two_chats_at_once_pause_bulk():
    pacer = Pacer(LIMITS)
    pacer.grant(0.0, 5, "bulk")
    pacer.grant(0.04, 6, "bulk")
    assert pacer.record_retry_after(0.05, 5, seconds=2) == "chat"
    assert pacer.record_retry_after(0.06, 6, seconds=2) == "global"
    assert pacer.ready_at(0.06, 7, "bulk") >= 2.06
    # ... but not two that came seconds apart.
    later = Pacer(LIMITS)
    later.grant(0.0, 5, "bulk")
    later.grant(5.0, 6, "bulk")
    assert later.record_retry_after(0.05, 5, seconds=2) == "chat"
    assert later.record_retry_after(5.05, 6, seconds=2) == "chat"


def test_group_429_with_full_window_is_the_groups_own():
    pacer = Pacer(LIMITS)
    for i in range(19):
        pacer.grant(i * 2.0, -77, "bulk")
    assert pacer.record_retry_after(40.0, -77, seconds=20) == "chat"


def test_a_groups_digest_part_goes_within_a_few_slots_while_a_member_floods():
    """A member's 100 commands used to take all of the group's 20 messages a minute: the
    digest part waited behind every reply (5 minutes here)."""
    pacer = Pacer(LIMITS)
    group = -100_200
    for _ in range(100):
        pacer.submit(group, "interactive")
    parts = [pacer.submit(group, "bulk") for _ in range(3)]
    grants = simulate(pacer)
    order = [ticket.lane for _, ticket in grants]
    sent = [t for t, ticket in grants if ticket in parts]
    assert len(sent) == 3
    # Each part goes after at most `replies_before_digest` replies ...
    first = order.index("bulk")
    assert first == LIMITS.replies_before_digest
    gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    assert order[first : first + 3 * (LIMITS.replies_before_digest + 1)].count("bulk") == 3
    # ... which at 1 message a second is seconds, not minutes; the group limit still holds.
    assert sent[-1] <= 3 * (LIMITS.replies_before_digest + 1) * (1 + LIMITS.slack) + 1e-9
    assert max(gaps) <= (LIMITS.replies_before_digest + 1) * (1 + LIMITS.slack) + 1e-9
    times = [t for t, _ in grants]
    assert max_in_window(times, LIMITS.group_period) <= LIMITS.group_max


def test_replies_leave_a_groups_reserve_free_so_a_digest_part_goes_at_once():
    """A member flooding a group used to fill all 20 of its messages a minute, so a digest
    part queued then waited for a slot of the window to free (30 s in the benchmark)."""
    pacer = Pacer(LIMITS)
    group = -100_300
    for _ in range(60):
        pacer.submit(group, "interactive")
    replied = simulate(pacer, until=40.0)
    in_window = [t for t, _ in replied if t > replied[-1][0] - LIMITS.group_period]
    assert len(in_window) == LIMITS.group_max - LIMITS.group_reserve
    now = replied[-1][0] + 0.5
    part = pacer.submit(group, "bulk")
    grants = simulate(pacer, start=now)
    assert grants[0][1] is part
    assert grants[0][0] <= replied[-1][0] + LIMITS.chat_interval + LIMITS.slack + 1e-9
    times = [t for t, _ in replied + grants]
    assert max_in_window(times, LIMITS.group_period) <= LIMITS.group_max


def test_replies_go_freely_when_no_digest_waits_and_when_bulk_is_paused():
    pacer = Pacer(LIMITS)
    for _ in range(5):
        pacer.submit(7, "interactive")
    assert [ticket.lane for _, ticket in simulate(pacer)] == ["interactive"] * 5
    paused = Pacer(LIMITS)
    paused.grant(0.0, 7, "interactive")
    paused.grant(1.1, 7, "interactive")
    paused.record_retry_after(1.2, None, seconds=100)  # the bulk lane waits 100 s
    paused.submit(7, "bulk")
    reply = paused.submit(7, "interactive")
    grants = simulate(paused, start=1.2, until=50)
    assert [ticket for _, ticket in grants] == [reply]  # not held for a part that can't go


def test_interactive_requests_of_less_busy_chats_go_first():
    pacer = Pacer(LIMITS)
    flooding = [pacer.submit(100 + n, "interactive", rank=6) for n in range(40)]
    quiet = pacer.submit(999, "interactive", rank=1)
    order = [ticket for _, ticket in simulate(pacer)]
    assert order[0] is quiet
    assert order[1:] == flooding  # equally busy chats: in arrival order


def test_cancelled_ticket_is_never_granted():
    pacer = Pacer(LIMITS)
    first = pacer.submit(1, "bulk")
    second = pacer.submit(2, "bulk")
    pacer.cancel(second)
    pacer.cancel(second)  # twice is harmless
    granted = [ticket for _, ticket in simulate(pacer)]
    assert granted == [first]
    assert pacer.waiting == 0


def test_idle_chat_state_is_forgotten_so_memory_stays_flat():
    pacer = Pacer(LIMITS)
    peak = 0
    for chat in range(50_000):
        pacer.grant(chat * 0.035, chat + 1, "bulk")
        peak = max(peak, pacer.stats().chats_tracked)
    # Swept every 1024 grants: never more than that plus the chats still inside their interval.
    assert peak <= 1024 + 100
    pacer.forget_idle_chats(1e6)
    assert pacer.stats().chats_tracked == 0


def test_paused_chat_is_remembered_until_its_pause_ends():
    pacer = Pacer(LIMITS)
    pacer.grant(0.0, 9, "bulk")
    pacer.record_retry_after(0.0, 9, seconds=100)
    pacer.forget_idle_chats(50.0)
    assert pacer.ready_at(50.0, 9, "bulk") >= 100.0


@pytest.mark.parametrize(
    ("endpoint", "data", "paced"),
    [
        ("sendMessage", {"chat_id": 1, "text": "x"}, True),
        ("sendMessage", {"chat_id": "-100", "text": "x"}, True),
        ("editMessageText", {"chat_id": 1, "message_id": 3}, True),
        ("editMessageText", {"inline_message_id": "abc"}, False),
        ("copyMessage", {"chat_id": "@chan"}, True),
        ("sendChatAction", {"chat_id": 1, "action": "typing"}, False),
        ("answerCallbackQuery", {"callback_query_id": "1"}, False),
        ("getMe", {}, False),
        ("setMyCommands", {"commands": []}, False),
        ("getChat", {"chat_id": 1}, False),
    ],
)
def test_which_requests_are_paced(endpoint, data, paced):
    assert is_paced_request(endpoint, data) is paced


def test_chat_key_normalises_ids():
    assert chat_key({"chat_id": "-100123"}) == -100123
    assert chat_key({"chat_id": " @chan "}) == "@chan"
    assert chat_key({"chat_id": 5}) == 5
    assert chat_key({}) is None


@pytest.mark.parametrize(
    "kwargs",
    [{"global_rate": 0}, {"bulk_share": 0}, {"bulk_share": 1.5}, {"group_max": 0}, {"slack": -1}],
)
def test_bad_limits_are_refused_with_the_field_named(kwargs):
    with pytest.raises(ValueError, match="RateLimits"):
        RateLimits(**kwargs)


def test_retry_after_seconds_accepts_ints_and_timedeltas():
    from datetime import timedelta

    assert retry_after_seconds(RetryAfter(3)) == 3.0
    assert retry_after_seconds(RetryAfter(timedelta(milliseconds=1500))) == 1.5


# -- the limiter on a real loop ---------------------------------------------------------------

FAST = RateLimits(global_rate=400, bulk_share=0.9, chat_interval=0.05, slack=0.005)


class Recorder:
    """A stand-in for PTB's ``_do_post``: records the order calls reached it."""

    def __init__(self, fail_first: dict[int, BaseException] | None = None) -> None:
        self.calls: list[tuple[int, str]] = []
        self._fail_first = dict(fail_first or {})

    def for_chat(self, chat_id: int, label: str):
        async def call() -> dict:
            self.calls.append((chat_id, label))
            error = self._fail_first.pop(chat_id, None)
            if error is not None:
                raise error
            return {"ok": True}

        return call


async def send(limiter, recorder, chat_id, label, args=None, endpoint="sendMessage"):
    return await limiter.process_request(
        recorder.for_chat(chat_id, label), (), {}, endpoint, {"chat_id": chat_id}, args
    )


class FakeClock:
    """Monotonic time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def settle() -> None:
    """Let every task that can run do so (a few loop turns), without real time passing."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_interactive_reply_overtakes_queued_bulk_sends():
    clock = FakeClock()
    limiter = PacingRateLimiter(FAST, clock=clock)
    recorder = Recorder()
    bulk = [asyncio.create_task(send(limiter, recorder, c, "bulk", BULK)) for c in range(1, 81)]
    await settle()  # every bulk request is queued; only the first fits at t=0
    granted_before_reply = limiter.stats().granted_bulk
    reply = asyncio.create_task(send(limiter, recorder, 10_000, "help"))
    await settle()
    # Drive time by hand: each step opens the next slot, and the waiting reply must take it.
    while not reply.done() or not all(task.done() for task in bulk):
        clock.now += 0.001
        limiter._pump()
        await settle()
    labels = [label for _, label in recorder.calls]
    assert granted_before_reply == 1
    assert labels.index("help") == granted_before_reply
    assert len(labels) == 81
    await limiter.shutdown()


async def test_retry_after_is_recorded_and_reraised():
    limiter = PacingRateLimiter(FAST)
    recorder = Recorder(fail_first={5: RetryAfter(1)})
    with pytest.raises(RetryAfter):
        await send(limiter, recorder, 5, "first", BULK)
    assert limiter.stats().retry_after_chat == 1  # an idle bot: the chat's limit, not the bot's
    await limiter.shutdown()


async def test_max_retries_waits_out_the_pause_then_succeeds():
    limiter = PacingRateLimiter(FAST)
    recorder = Recorder(fail_first={5: RetryAfter(timedelta_ms(50))})
    result = await send(limiter, recorder, 5, "x", {"max_retries": 2})
    assert result == {"ok": True}
    assert [label for _, label in recorder.calls] == ["x", "x"]
    await limiter.shutdown()


async def test_unpaced_methods_pass_straight_through_a_paused_bulk_lane():
    limiter = PacingRateLimiter(FAST)
    limiter._pacer.record_retry_after(limiter._clock(), None, seconds=3600)
    recorder = Recorder()
    await send(limiter, recorder, 1, "answer", BULK, endpoint="answerCallbackQuery")
    await send(limiter, recorder, 2, "reply")  # interactive lane is not paused
    assert [label for _, label in recorder.calls] == ["answer", "reply"]
    await limiter.shutdown()


async def test_a_cancelled_waiter_frees_its_place():
    limiter = PacingRateLimiter(RateLimits(global_rate=2, chat_interval=0.0, slack=0.0))
    recorder = Recorder()
    await send(limiter, recorder, 1, "first", BULK)
    waiting = asyncio.create_task(send(limiter, recorder, 2, "cancelled", BULK))
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert limiter.stats().waiting == 0
    assert [label for _, label in recorder.calls] == ["first"]
    await limiter.shutdown()


def timedelta_ms(ms: int):
    from datetime import timedelta

    return timedelta(milliseconds=ms)


async def test_an_interactive_reply_waits_out_one_429_before_giving_up():
    limiter = PacingRateLimiter(FAST)
    recorder = Recorder(fail_first={5: RetryAfter(timedelta_ms(50))})
    assert await send(limiter, recorder, 5, "reply") == {"ok": True}
    assert [label for _, label in recorder.calls] == ["reply", "reply"]
    await limiter.shutdown()


def test_the_configured_limiter_leaves_people_at_least_one_slot_a_second():
    from bot.ratelimit import TelegramRateLimiter

    limits = TelegramRateLimiter(messages_per_second=30)._pacer.limits
    assert limits.global_window_cap == 30
    assert limits.bulk_window_cap == 29
