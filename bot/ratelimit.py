"""Pacing for every Bot API request the bot makes, with a fast lane for people.

Telegram allows about 30 messages a second per bot, about one a second per chat and 20 a
minute per group, and answers 429 (``RetryAfter``) beyond that. PTB's ``AIORateLimiter`` lets
twice the rate through in its first second, pauses every chat on one chat's 429 and has no
per-private-chat limit (see DESIGN.md), so this module paces requests itself:

- ``Pacer`` is the pure bookkeeping: given the time, which waiting request may go now, and when
  the next one may. It never sleeps, so it is tested with a fake clock.
- ``PacingRateLimiter`` is the ``telegram.ext.BaseRateLimiter`` around it: requests wait on a
  future that a single timer resolves, in priority order.

Two lanes share the global budget. Interactive requests (the default: command replies, edits)
take the next free slot before any bulk request; bulk requests (delivery, sent with
``rate_limit_args=BULK``) may use only ``bulk_share`` of the budget, so the rest stays free for
people and for network jitter. Only message-producing methods that name a chat are paced;
``getUpdates``, ``answerCallbackQuery``, ``getMe``, ``setMyCommands`` and the like pass through.

Fair between chats, not first come first served:

- Replies go in order of how busy their chat is (``chat_load``: the updates it sent since it
  last had none in hand, from ``bot.fairness``), then of arrival. With 100 chats flooding, FIFO
  put a quiet chat's one reply behind all of theirs (p99 7.8 s); now it takes the next slot and
  the flooders take turns with what is left.
- A chat's own replies cannot hold its digest back: replies leave ``group_reserve`` of a
  group's 20 messages a minute free, and while a digest part for a chat waits, at most
  ``replies_before_digest`` replies to it go first. A group member's commands used to take all
  of the group's messages (its digest waited 120 s, or never came while the member went on).
- Replies alone are paced ``interactive_margin`` below the rate: when people fill the budget,
  31 replies at exactly 30/s span one second and network jitter made global 429s.
- A 429 pauses its chat. It pauses bulk sending as well only when it looks like the bot's
  global limit: the chat's own pace cannot explain it, and either the bot used most of the
  global budget in the last second, or another chat got such a 429 within that second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import warnings
from bisect import insort
from collections import Counter, deque
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import count
from typing import Any, Final, Literal

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

_LOG = logging.getLogger(__name__)

Lane = Literal["interactive", "bulk"]
ChatKey = int | str
RetryScope = Literal["chat", "global"]
RateLimitArgs = dict[str, Any]

#: ``rate_limit_args`` for background delivery: the bulk lane.
BULK: Final[RateLimitArgs] = {"bulk": True}

# Endpoints whose name starts with one of these produce or change a message in a chat and count
# against Telegram's message limits; everything else passes straight through.
_MESSAGE_PREFIXES: Final = ("send", "forward", "copy", "edit")
_NOT_MESSAGES: Final = frozenset({"sendChatAction"})
# A timer may fire a fraction of a millisecond early; treat that as on time rather than spin.
_EARLY_TOLERANCE: Final = 0.0005
# Forget a chat's pacing state once it can no longer constrain anything; sweep this often.
_SWEEP_EVERY: Final = 1024
# A 429 that no chat's pace explains is the global limit's if the bot sent at least this share
# of its global budget in the last second: Telegram's window and ours may be shifted by network
# jitter, but an idle bot cannot have hit it. Below that it is the chat's (a reply's 429 used to
# pause every digest).
_GLOBAL_429_SHARE: Final = 0.8
# Unexplained 429s remembered to tell "several chats at once" (the global limit) apart.
_RECENT_429S: Final = 8


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The limits to pace by; the defaults are Telegram's published ones.

    ``slack`` (seconds) widens every per-chat spacing and window so that network jitter between
    this process and the server cannot make two sends look closer together than allowed.
    ``interactive_margin``: how far below ``global_rate`` replies alone are paced, as a
    fraction. When people fill the budget (many chats flooding commands), 31 replies paced at
    exactly the rate span one second and a reply that reaches Telegram a few ms late makes a
    global 429 (111 of them in 30 s of such a flood); with the margin any 31 span 1.08 s.
    ``replies_before_digest``: while a digest part for a chat waits, at most this many replies
    to that chat go before it (so a group's digest gets a third of the group's budget).
    ``group_reserve``: messages of a group's ``group_max`` per period that replies never take,
    so that a digest part queued while a member floods the group finds a free slot at once.
    ``shared_margin`` is how far below ``global_rate`` the budget shared by several replicas
    (``bot.shared_limit``) paces, as a fraction: requests granted to different processes reach
    Telegram with different delays, and a strict one-second window must never see one too many.
    """

    global_rate: float = 30.0
    bulk_share: float = 0.95
    chat_interval: float = 1.0
    group_max: int = 20
    group_period: float = 60.0
    slack: float = 0.02
    shared_margin: float = 0.08
    interactive_margin: float = 0.08
    replies_before_digest: int = 2
    group_reserve: int = 4

    def __post_init__(self) -> None:
        if not self.global_rate > 0:
            raise ValueError(f"RateLimits.global_rate must be > 0, got {self.global_rate!r}")
        if not 0 < self.bulk_share <= 1:
            raise ValueError(f"RateLimits.bulk_share must be in (0, 1], got {self.bulk_share!r}")
        if (
            self.chat_interval < 0
            or self.group_period < 0
            or self.slack < 0
            or self.shared_margin < 0
            or self.interactive_margin < 0
        ):
            raise ValueError("RateLimits intervals, slack and margins must not be negative")
        if self.group_max < 1:
            raise ValueError(f"RateLimits.group_max must be >= 1, got {self.group_max!r}")
        if self.group_reserve < 0:
            raise ValueError(f"RateLimits.group_reserve must be >= 0, got {self.group_reserve!r}")
        if self.replies_before_digest < 1:
            raise ValueError(
                "RateLimits.replies_before_digest must be >= 1, "
                f"got {self.replies_before_digest!r}"
            )

    @property
    def global_window_cap(self) -> int:
        """How many message requests fit in any one-second window."""
        return max(1, math.floor(self.global_rate))

    @property
    def bulk_window_cap(self) -> int:
        """How many of those the bulk lane may take: at least one stays free for people."""
        return max(
            1, min(self.global_window_cap - 1, math.ceil(self.global_rate * self.bulk_share))
        )


@dataclass(eq=False, slots=True)
class Ticket:
    """One request waiting for permission to go."""

    seq: int
    key: ChatKey | None
    lane: Lane
    rank: int = 0  # interactive: how busy its chat was (fewer goes first), then seq


def _order(ticket: Ticket) -> tuple[int, int]:
    return ticket.rank, ticket.seq


@dataclass(slots=True)
class _ChatState:
    # Grant times, newest last: one for a private chat, ``group_max`` for a group's window.
    recent: deque[float]
    paused_until: float = -math.inf
    replies_in_row: int = 0  # interactive grants since the chat's last bulk grant
    # A group's interactive grant times, newest last, as many as it may have in a period.
    replies: deque[float] | None = None


@dataclass(frozen=True, slots=True)
class LimiterStats:
    """Counters for logs, tests and benchmarks."""

    granted_interactive: int
    granted_bulk: int
    retry_after_chat: int
    retry_after_global: int
    waiting: int
    chats_tracked: int


def is_group_key(key: ChatKey) -> bool:
    """Groups, supergroups and channels have negative ids (or an ``@username``)."""
    return isinstance(key, str) or key < 0


@dataclass(slots=True)
class _Counters:
    granted: dict[str, int] = field(default_factory=lambda: {"interactive": 0, "bulk": 0})
    retry_after: dict[str, int] = field(default_factory=lambda: {"chat": 0, "global": 0})


class Pacer:
    """Decides, for a given time, which waiting requests may be sent. Pure: never sleeps.

    Global: message requests are evenly spaced at ``1/global_rate`` (no initial burst) and capped
    at ``global_window_cap`` in any window of ``1 + slack`` seconds; bulk requests are further
    spaced at ``1/(global_rate*bulk_share)``, with half a slot of tolerance so a late timer is
    caught up, and may fill only ``bulk_window_cap`` of a window, so a slot always stays free
    for an interactive request and a little network jitter cannot push the server over;
    interactive ones at ``(1 + interactive_margin)/global_rate`` among themselves.
    Per chat: ``chat_interval`` between two messages; groups at most ``group_max`` per
    ``group_period``, of which interactive requests take at most ``group_max - group_reserve``;
    while a bulk request for a chat waits, at most ``replies_before_digest``
    interactive ones for it go first. Interactive requests go by ``rank`` (how busy their chat
    is), then in arrival order; bulk ones in arrival order. A 429 pauses its chat, and the bulk
    lane too when it looks like the global limit (``record_retry_after``).
    """

    def __init__(self, limits: RateLimits | None = None) -> None:
        self.limits = limits or RateLimits()
        self._any_interval = 1.0 / self.limits.global_rate
        self._bulk_interval = 1.0 / (self.limits.global_rate * self.limits.bulk_share)
        self._next_any = -math.inf
        self._bulk_tat = -math.inf  # GCRA theoretical arrival time of the next bulk request
        self._interactive_interval = (
            1.0 + self.limits.interactive_margin
        ) / self.limits.global_rate
        self._interactive_tat = -math.inf  # ... and of the next interactive one
        # Replies a group may get in a period: the rest stays free for its digest.
        self._group_reply_cap = max(1, self.limits.group_max - self.limits.group_reserve)
        self._any_cap = self.limits.global_window_cap
        self._bulk_cap = self.limits.bulk_window_cap
        self._window: deque[float] = deque(maxlen=self._any_cap)
        self._bulk_paused_until = -math.inf
        self._chats: dict[ChatKey, _ChatState] = {}
        self._interactive: list[Ticket] = []  # sorted by (rank, seq)
        self._bulk: deque[Ticket] = deque()
        self._bulk_waiting: Counter[ChatKey] = Counter()  # chat -> its waiting bulk requests
        self._unexplained: deque[tuple[float, ChatKey]] = deque(maxlen=_RECENT_429S)
        self._seq = count()
        self._counters = _Counters()
        self._grants_since_sweep = 0

    # -- waiting requests ------------------------------------------------------------------

    def submit(self, key: ChatKey | None, lane: Lane, rank: int = 0) -> Ticket:
        """Queue a request; ``dispatch`` says when it may go. ``rank``: how busy its chat is
        (interactive requests of less busy chats go first)."""
        ticket = Ticket(next(self._seq), key, lane, rank if lane == "interactive" else 0)
        if lane == "interactive":
            insort(self._interactive, ticket, key=_order)
        else:
            self._bulk.append(ticket)
            if key is not None:
                self._bulk_waiting[key] += 1
        return ticket

    def cancel(self, ticket: Ticket) -> None:
        """Forget a request whose caller stopped waiting (no-op if already granted)."""
        with contextlib.suppress(ValueError):
            self._remove(ticket)

    def _remove(self, ticket: Ticket) -> None:
        """Take a waiting ticket out of its queue (ValueError if it is not there)."""
        if ticket.lane == "interactive":
            self._interactive.remove(ticket)
            return
        self._bulk.remove(ticket)
        if ticket.key is not None:
            self._bulk_waiting[ticket.key] -= 1
            if self._bulk_waiting[ticket.key] <= 0:
                del self._bulk_waiting[ticket.key]

    @property
    def waiting(self) -> int:
        return len(self._interactive) + len(self._bulk)

    def dispatch(self, now: float) -> tuple[list[Ticket], float | None]:
        """Grant every request that may go at ``now``: interactive first (least busy chat
        first, then FIFO), then bulk (FIFO).

        Returns the granted tickets and the earliest time another waiting one may go (None when
        nothing waits). A request held back only by its own chat never blocks the others.
        """
        granted: list[Ticket] = []
        while (ticket := self._first_ready(now)) is not None:
            self._remove(ticket)
            self.grant(now, ticket.key, ticket.lane)
            granted.append(ticket)
        wake = min((self.ready_at(now, t.key, t.lane) for t in self._waiting()), default=None)
        return granted, wake

    def _waiting(self) -> Iterator[Ticket]:
        yield from self._interactive
        yield from self._bulk

    def _first_ready(self, now: float) -> Ticket | None:
        # Bulk's global constraints include interactive's, so an interactive request that is
        # blocked only globally also blocks bulk: strict priority without extra bookkeeping.
        for ticket in self._waiting():
            if self.ready_at(now, ticket.key, ticket.lane) <= now + _EARLY_TOLERANCE:
                return ticket
        return None

    # -- the rules -------------------------------------------------------------------------

    def ready_at(self, now: float, key: ChatKey | None, lane: Lane) -> float:
        """The earliest time a request for ``key`` in ``lane`` may go, given what was granted."""
        limits = self.limits
        at = max(now, self._next_any)
        cap = self._bulk_cap if lane == "bulk" else self._any_cap
        if len(self._window) >= cap:
            at = max(at, self._window[-cap] + 1.0 + limits.slack)
        if lane == "bulk":
            at = max(at, self._bulk_tat - self._bulk_interval / 2, self._bulk_paused_until)
        else:
            at = max(at, self._interactive_tat - self._interactive_interval / 2)
        state = self._chats.get(key) if key is not None else None
        if state is None or key is None:
            return at
        if lane == "interactive" and self._digest_goes_next(now, key, state):
            return math.inf  # until the chat's waiting bulk request is granted
        return max(at, self._chat_ready_at(key, lane, state))

    def _chat_ready_at(self, key: ChatKey, lane: Lane, state: _ChatState) -> float:
        """When the chat's own limits (its pause, pace and group window) let it have another."""
        limits = self.limits
        at = state.paused_until
        replies = state.replies
        if lane == "interactive" and replies is not None and len(replies) >= self._group_reply_cap:
            at = max(at, replies[0] + limits.group_period + limits.slack)  # the reserve
        if state.recent:
            at = max(at, state.recent[-1] + limits.chat_interval + limits.slack)
            if is_group_key(key) and len(state.recent) >= limits.group_max:
                oldest_in_window = state.recent[-limits.group_max]
                at = max(at, oldest_in_window + limits.group_period + limits.slack)
        return at

    def _digest_goes_next(self, now: float, key: ChatKey, state: _ChatState) -> bool:
        """Whether the chat's next slot is its waiting digest part's: it has had its replies
        in a row, and nothing but its own pace holds the bulk lane back."""
        return (
            state.replies_in_row >= self.limits.replies_before_digest
            and key in self._bulk_waiting
            and now >= self._bulk_paused_until
        )

    def grant(self, now: float, key: ChatKey | None, lane: Lane) -> None:
        """Record that a request went at ``now`` (``dispatch`` calls this)."""
        self._next_any = max(self._next_any, now) + self._any_interval
        self._window.append(now)
        if lane == "bulk":
            self._bulk_tat = max(self._bulk_tat, now) + self._bulk_interval
        else:
            self._interactive_tat = max(self._interactive_tat, now) + self._interactive_interval
        if key is not None:
            state = self._chat(key)
            state.recent.append(now)
            state.replies_in_row = state.replies_in_row + 1 if lane == "interactive" else 0
            if lane == "interactive" and state.replies is not None:
                state.replies.append(now)
        self._counters.granted[lane] += 1
        self._grants_since_sweep += 1
        if self._grants_since_sweep >= _SWEEP_EVERY:
            self.forget_idle_chats(now)

    def record_retry_after(self, now: float, key: ChatKey | None, seconds: float) -> RetryScope:
        """Honour a 429: pause its chat, and the bulk lane if it looks like the global limit.

        Telegram does not say which limit was hit. If this chat had another message shortly
        before (or its group window is full), the chat's own limit is the likely cause. If not,
        it is still the chat's (Telegram limits chats in ways no pace shows) unless the global
        budget explains it: the bot sent most of it in the last second, or another chat got
        an unexplained 429 within that second. Only then does bulk sending pause as well, while
        interactive requests keep going on the reserved share.
        """
        until = now + max(0.0, seconds)
        scope: RetryScope = "global" if key is None else "chat"
        if key is not None:
            state = self._chat(key)
            if not self._chat_explains(state, key):
                if self._budget_explains(now) or self._others_refused(now, key):
                    scope = "global"
                self._unexplained.append((now, key))
            state.paused_until = max(state.paused_until, until)
        if scope == "global":
            # Whichever lane saw it, bulk waits: people keep the budget that is left.
            self._bulk_paused_until = max(self._bulk_paused_until, until)
        self._counters.retry_after[scope] += 1
        return scope

    def _chat_explains(self, state: _ChatState, key: ChatKey) -> bool:
        recent = state.recent
        if len(recent) >= 2 and recent[-1] - recent[-2] < 2 * self.limits.chat_interval:
            return True
        window = self.limits.group_max
        if is_group_key(key) and len(recent) >= max(1, window - 1):
            return recent[-1] - recent[-max(1, window - 1)] < self.limits.group_period
        return False

    def _budget_explains(self, now: float) -> bool:
        """Whether the bot sent most of its global budget in the last second."""
        since = now - 1.0 - self.limits.slack
        sent = sum(1 for granted_at in self._window if granted_at > since)
        return sent >= math.ceil(_GLOBAL_429_SHARE * self._any_cap)

    def _others_refused(self, now: float, key: ChatKey) -> bool:
        """Whether another chat got a 429 its pace cannot explain within the last second."""
        since = now - 1.0 - self.limits.slack
        return any(other != key and at > since for at, other in self._unexplained)

    def _chat(self, key: ChatKey) -> _ChatState:
        state = self._chats.get(key)
        if state is None:
            # Private chats need the last send only; a group also needs the previous one for
            # telling a chat 429 from a global one, and its whole window.
            group = is_group_key(key)
            size = self.limits.group_max if group else 2
            state = _ChatState(deque(maxlen=max(2, size)))
            if group:
                state.replies = deque(maxlen=self._group_reply_cap)
            self._chats[key] = state
        return state

    def forget_idle_chats(self, now: float) -> int:
        """Drop pacing state that can no longer delay anything; keeps memory flat."""
        self._grants_since_sweep = 0
        limits = self.limits
        horizon_private = limits.chat_interval * 2 + limits.slack
        horizon_group = max(horizon_private, limits.group_period + limits.slack)
        idle = [
            key
            for key, state in self._chats.items()
            if state.paused_until <= now
            and key not in self._bulk_waiting
            and (
                not state.recent
                or now - state.recent[-1]
                > (horizon_group if is_group_key(key) else horizon_private)
            )
        ]
        for key in idle:
            del self._chats[key]
        return len(idle)

    def stats(self) -> LimiterStats:
        return LimiterStats(
            granted_interactive=self._counters.granted["interactive"],
            granted_bulk=self._counters.granted["bulk"],
            retry_after_chat=self._counters.retry_after["chat"],
            retry_after_global=self._counters.retry_after["global"],
            waiting=self.waiting,
            chats_tracked=len(self._chats),
        )


# -- classifying PTB requests ----------------------------------------------------------------


def chat_key(data: dict[str, Any]) -> ChatKey | None:
    """The chat a request is for: an int id, an ``@username`` string, or None."""
    raw = data.get("chat_id")
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    text = str(raw).strip()
    try:
        return int(text)
    except ValueError:
        return text or None


def is_paced_request(endpoint: str, data: dict[str, Any]) -> bool:
    """Whether a request sends or edits a message in a named chat (and so counts)."""
    return (
        endpoint.startswith(_MESSAGE_PREFIXES)
        and endpoint not in _NOT_MESSAGES
        and chat_key(data) is not None
    )


def retry_after_seconds(exc: RetryAfter) -> float:
    """Seconds to wait from a ``RetryAfter``, without PTB's int-vs-timedelta warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value: object = exc.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)  # type: ignore[arg-type]


class SendWithdrawn(Exception):  # noqa: N818 - not an error: the caller called it off
    """The request's ``may_send`` check said no once its turn came; nothing was sent."""


def _lane_of(rate_limit_args: RateLimitArgs | None) -> Lane:
    return "bulk" if rate_limit_args and rate_limit_args.get("bulk") else "interactive"


# A person waiting for a reply is better served by one wait for retry_after than by an error;
# bulk sends are retried by the outbox sender, which records every attempt.
INTERACTIVE_RETRIES: Final = 1


def _max_retries_of(rate_limit_args: RateLimitArgs | None) -> int:
    default = INTERACTIVE_RETRIES if _lane_of(rate_limit_args) == "interactive" else 0
    if not rate_limit_args:
        return default
    return max(0, int(rate_limit_args.get("max_retries", default)))


_Result = bool | dict[str, Any] | list[dict[str, Any]]


class PacingRateLimiter(BaseRateLimiter[RateLimitArgs]):
    """A ``BaseRateLimiter`` that paces with ``Pacer``; pass it to ``ApplicationBuilder``.

    ``rate_limit_args``: ``{"bulk": True}`` (``BULK``) puts a request in the bulk lane;
    ``{"max_retries": n}`` waits out up to n 429s before re-raising. Without it a ``RetryAfter``
    is recorded (pausing what it should) and re-raised: the caller decides about retrying.
    ``{"may_send": check}``: asked once the turn came, right before sending; if it returns
    False nothing is sent and ``SendWithdrawn`` is raised (a turn may take long, and what was
    true when the caller asked may no longer be: the outbox sender's claim on the chat).
    """

    __slots__ = ("_clock", "_futures", "_pacer", "_timer", "chat_load")

    def __init__(
        self, limits: RateLimits | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pacer = Pacer(limits)
        self._clock = clock
        self._futures: dict[int, asyncio.Future[None]] = {}
        self._timer: asyncio.TimerHandle | None = None
        #: How busy a chat is (``FairUpdateProcessor.busy``, set by the application): replies
        #: to less busy chats go first. None: every chat counts as idle (FIFO).
        self.chat_load: Callable[[ChatKey], int] | None = None

    @property
    def limits(self) -> RateLimits:
        return self._pacer.limits

    def stats(self) -> LimiterStats:
        return self._pacer.stats()

    async def initialize(self) -> None:
        """Nothing to set up: the timer is created on first use, in the running loop."""

    async def shutdown(self) -> None:
        """Stop the timer and release anyone still waiting (they see ``CancelledError``)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for future in self._futures.values():
            future.cancel()
        self._futures.clear()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, _Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: RateLimitArgs | None,
    ) -> _Result:
        if not is_paced_request(endpoint, data):
            return await callback(*args, **kwargs)
        key = chat_key(data)
        lane = _lane_of(rate_limit_args)
        retries_left = _max_retries_of(rate_limit_args)
        may_send = rate_limit_args.get("may_send") if rate_limit_args else None
        while True:
            await self._wait_turn(key, lane)
            if may_send is not None and not may_send():
                raise SendWithdrawn(f"{endpoint} for chat {key} withdrawn before sending")
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = retry_after_seconds(exc)
                scope = self._pacer.record_retry_after(self._clock(), key, seconds)
                self._on_retry_after(key, seconds, scope)
                _LOG.warning(
                    "429 from Telegram on %s for chat %s (%s lane): paused %s for %.1f s",
                    endpoint,
                    key,
                    lane,
                    "the chat" if scope == "chat" else "the chat and bulk sending",
                    seconds,
                )
                self._pump()
                if retries_left <= 0:
                    raise
                retries_left -= 1

    def _on_retry_after(self, key: ChatKey | None, seconds: float, scope: RetryScope) -> None:
        """A 429 was recorded locally; a limiter shared across processes tells the others."""

    async def _wait_turn(self, key: ChatKey | None, lane: Lane) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        rank = 0
        if lane == "interactive" and key is not None and self.chat_load is not None:
            rank = self.chat_load(key)
        ticket = self._pacer.submit(key, lane, rank)
        self._futures[ticket.seq] = future
        self._pump()
        try:
            await future
        except asyncio.CancelledError:
            # The caller gave up before its turn: give the slot to someone else.
            self._pacer.cancel(ticket)
            self._futures.pop(ticket.seq, None)
            self._pump()
            raise

    def _pump(self) -> None:
        granted, wake = self._pacer.dispatch(self._clock())
        for ticket in granted:
            future = self._futures.pop(ticket.seq, None)
            if future is not None and not future.done():
                future.set_result(None)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if wake is not None:
            delay = max(0.0, wake - self._clock())
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._pump()


def configured_limits(
    messages_per_second: float = 30.0,
    group_messages_per_minute: int = 20,
    bulk_share: float = 0.95,
) -> RateLimits:
    """The limits the bot paces by, from its configured (Telegram's) limits.

    Pacing one message a second below the limit was tried: it halved the rare global 429s
    under mixed load but slowed a 10,000-chat round to 1.11 times the ideal, so bulk keeps
    ``bulk_share`` of the full rate and interactive replies wait out a 429 instead.
    """
    return RateLimits(
        global_rate=messages_per_second,
        group_max=group_messages_per_minute,
        bulk_share=bulk_share,
    )


class TelegramRateLimiter(PacingRateLimiter):
    """``PacingRateLimiter`` set up from the bot's configuration (``delivery`` section)."""

    __slots__ = ()

    def __init__(
        self,
        *,
        messages_per_second: float = 30.0,
        group_messages_per_minute: int = 20,
        bulk_share: float = 0.95,
    ) -> None:
        super().__init__(
            configured_limits(messages_per_second, group_messages_per_minute, bulk_share)
        )
