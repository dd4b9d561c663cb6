"""The outbox sender: every pending digest message reaches its chat once, in order, at pace.

A digest round records its messages in the store's outbox before anything is sent (see
``Store.enqueue_digest``); this module sends them and records each outcome:

- accepted by Telegram -> ``mark_sent_many`` (never before the answer arrives), a batch at a
  time: every ``flush_seconds`` (50 ms) one UPDATE records what was accepted meanwhile (one
  statement per message cost more CPU, in the sender and in the database, than the send);
- 429 ``RetryAfter`` -> ``mark_retry`` with ``not_before`` = now + retry_after, then resent;
- 403 ``Forbidden`` or 400 "chat not found" -> ``deactivate_chat`` (its pending messages fail
  with the reason; the chat is skipped from then on);
- ``ChatMigrated`` (a group became a supergroup) -> ``migrate_chat`` and resend to the new id;
- ``TimedOut`` / ``NetworkError`` -> retried with exponential backoff and jitter, never counted
  as sent, given up (``mark_failed``) after ``max_attempts`` tries;
- any other 400 (for example unparsable HTML) -> ``mark_failed`` with the description, logged
  as an error, never retried.

An outcome Telegram gave is never thrown away: if the store cannot record it (the database is
down), the sender keeps it in memory, stops taking new messages, and records it before it reads
the outbox again, however long the outage lasts. So an outage repeats nothing Telegram answered.
Sends accepted but not yet recorded are likewise never read back from the outbox and sent again.

A chat that waits (a 429's retry_after, a backoff) is set aside: its messages stay pending in the
store with their ``not_before`` and the drain goes on loading and sending every other chat's,
including digests queued after it began (``wake``, and a re-read every ``refresh_seconds``).

Exactly-once has one hole, and it is Telegram's: a request that timed out or lost its connection
may have been delivered anyway, and so may a message accepted in the instant before a crash,
before its batch was recorded. Both are resent, so the only possible duplicates are messages
that were in flight at that moment (bounded by ``concurrency`` plus ``flush_seconds`` of sends).
Nothing is ever lost: a message leaves "pending" only when it was sent or failed with a
recorded reason.

Pacing is the bot's rate limiter's job (``bot.ratelimit.PacingRateLimiter``): sends go in its bulk
lane so commands stay fast. Chats are worked in parallel, each chat's parts strictly in order.
The bot's HTTP connection pool must allow ``concurrency`` requests (``ApplicationBuilder``'s
default of 256 does; a bare ``telegram.Bot`` has a pool of one).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import logging
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import Enum, auto
from typing import Any, Final

import telegram
from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ExtBot

from bot.ratelimit import BULK, PacingRateLimiter, SendWithdrawn, retry_after_seconds
from bot.store import AsyncStore, OutboxMessage, StoreError, StoreUnavailable

_LOG = logging.getLogger(__name__)

# 400 descriptions that mean the chat is gone for good, like a 403.
_CHAT_GONE_MARKERS: Final = (
    "chat not found",
    "peer_id_invalid",
    "group chat was deactivated",
    "user is deactivated",
    "bot was kicked",
    "bot was blocked",
)
#: The claim owner of a sender that is alone (SQLite allows one process): after a restart it
#: takes its own earlier claims back at once instead of waiting for their lease to end.
LOCAL_OWNER: Final = "local"
# A set-aside chat is looked for again this long after its wait, so that the store's clock,
# which decides what is due, has surely passed the recorded not_before.
_ASIDE_MARGIN: Final = 0.005


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class DrainReport:
    """What one ``drain`` did. ``failed`` counts messages given up in this drain (including the
    pending messages of chats it deactivated that it had loaded); ``stopped`` is True when the
    stop event ended it with due messages left pending."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    deactivated: int = 0
    migrated: int = 0
    stopped: bool = False

    def __add__(self, other: DrainReport) -> DrainReport:
        return DrainReport(
            sent=self.sent + other.sent,
            retried=self.retried + other.retried,
            failed=self.failed + other.failed,
            deactivated=self.deactivated + other.deactivated,
            migrated=self.migrated + other.migrated,
            stopped=self.stopped or other.stopped,
        )


class _Outcome(Enum):
    DONE = auto()  # sent, or failed for good: the chat's next part may go
    RETRY = auto()  # the head message waits (not_before recorded); the chat is set aside
    CHAT_GONE = auto()  # deactivated: everything loaded for the chat failed with it
    MIGRATED = auto()  # the chat has a new id: resend the head message there at once
    WITHDRAWN = auto()  # not sent: the claim on the chat ran out or passed to another sender


@dataclass(frozen=True, slots=True)
class _Result:
    outcome: _Outcome
    delay: float = 0.0  # RETRY: seconds to wait
    transient: bool = False  # RETRY: a network-type failure that counts towards max_attempts
    new_chat_id: int = 0  # MIGRATED: where the chat went
    not_before: datetime | None = None  # RETRY: when the store makes the message due again


@dataclass(frozen=True, slots=True)
class _Unrecorded:
    """An outcome the store could not take yet: the call to make once it is back."""

    method: Callable[..., Awaitable[Any]]
    args: tuple[Any, ...]
    message_ids: tuple[int, ...]


_DONE: Final = _Result(_Outcome.DONE)
_GONE: Final = _Result(_Outcome.CHAT_GONE)
_WITHDRAWN: Final = _Result(_Outcome.WITHDRAWN)


@dataclass(slots=True)
class _Counts:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deactivated: int = 0
    migrated: int = 0

    def report(self, stopped: bool) -> DrainReport:
        return DrainReport(
            self.sent, self.retried, self.failed, self.deactivated, self.migrated, stopped
        )


def backoff_delay(failures: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, never above ``cap``."""
    ceiling = min(cap, base * 2 ** max(0, failures - 1))
    return ceiling / 2 + rng.random() * ceiling / 2


def is_chat_gone(error: BadRequest) -> bool:
    """Whether a 400 says the chat no longer exists for the bot."""
    text = error.message.lower()
    return any(marker in text for marker in _CHAT_GONE_MARKERS)


class OutboxSender:
    """Sends the store's pending outbox messages through ``bot``; see the module docstring.

    ``concurrency`` chats are worked at once (enough to keep the rate limiter's bulk lane full
    while a few chats wait out their own per-chat pace). ``max_attempts`` bounds tries after
    timeouts and network errors; 429s are always waited out and resent. ``clock`` gives the aware
    UTC time written to the store.
    """

    def __init__(
        self,
        bot: telegram.Bot,
        store: AsyncStore,
        *,
        concurrency: int = 32,
        max_attempts: int = 8,
        clock: Callable[[], datetime] = utc_now,
        page_size: int = 500,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        rng: random.Random | None = None,
        refresh_seconds: float = 15.0,
        owner: str = LOCAL_OWNER,
        lease_seconds: float = 15.0,
        paid_broadcast: bool = False,
        flush_seconds: float = 0.05,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"OutboxSender concurrency must be >= 1, got {concurrency}")
        if max_attempts < 1:
            raise ValueError(f"OutboxSender max_attempts must be >= 1, got {max_attempts}")
        self.bot = bot
        self.store = store
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.clock = clock
        self.page_size = max(page_size, 2 * concurrency)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.refresh_seconds = refresh_seconds
        if lease_seconds <= 0:
            raise ValueError(f"OutboxSender lease_seconds must be > 0, got {lease_seconds}")
        self.owner = owner
        self.lease_seconds = lease_seconds
        # Outcomes Telegram gave while the store was down, in order; recorded before any read.
        self.unrecorded: deque[_Unrecorded] = deque()
        # Accepted sends not yet written: (message id, Telegram's id, when), and the ids of the
        # batch being written now. Recorded every flush_seconds, one statement a batch.
        self.flush_seconds = flush_seconds
        self._sent_rows: list[tuple[int, int, datetime]] = []
        self._writing: set[int] = set()
        self._send_kwargs: dict[str, Any] = {}
        self._paced = False  # whether the bot's limiter asks ``may_send`` once the turn came
        if paid_broadcast:
            # Above the free 30 msg/s Telegram charges Stars per message (see the README).
            self._send_kwargs["allow_paid_broadcast"] = True
        limiter = bot.rate_limiter if isinstance(bot, ExtBot) else None
        if isinstance(limiter, PacingRateLimiter):
            self._send_kwargs["rate_limit_args"] = BULK
            self._paced = True
        elif limiter is None:
            _LOG.warning("OutboxSender: the bot has no rate limiter; sends will not be paced")
        self._lock = asyncio.Lock()
        # One write to the outbox at a time: a claim (which renews this sender's own rows) and a
        # batch of outcomes (the same rows) running at once deadlocked on PostgreSQL.
        self.writing = asyncio.Lock()
        self.in_flight = 0  # sends awaiting Telegram's answer right now

    async def drain(
        self, stop: asyncio.Event | None = None, wake: asyncio.Event | None = None
    ) -> DrainReport:
        """Send every due pending message; return when none is due or ``stop`` is set.

        On ``stop``, sends already under way finish and are recorded; the rest stay pending.
        Messages waiting out a 429 or a backoff inside this drain are waited for, while every
        other chat goes on; ``wake`` (set when a round queued more) makes it read the outbox
        again at once. Raises ``StoreUnavailable`` when the store is down; outcomes it could
        not record are kept and recorded first by the next drain.
        """
        async with self._lock:
            await self._record_kept_outcomes()
            return await _Drain(self, stop or asyncio.Event(), wake or asyncio.Event()).run()

    async def _record_kept_outcomes(self) -> None:
        """Record, in order, the outcomes the store could not take (raises while it is down)."""
        while self.unrecorded:
            entry = self.unrecorded[0]
            try:
                await entry.method(*entry.args)
            except StoreUnavailable:
                raise
            except StoreError:
                _LOG.exception(
                    "Store refused a kept outcome of outbox messages %s", entry.message_ids
                )
            self.unrecorded.popleft()

    def unwritten_ids(self) -> set[int]:
        """Messages with an outcome not in the store yet (a page may still hold them)."""
        ids = {message_id for entry in self.unrecorded for message_id in entry.message_ids}
        ids.update(row[0] for row in self._sent_rows)
        ids.update(self._writing)
        return ids

    async def flush_sent(self) -> list[int]:
        """Record the sends accepted since the last flush, in one statement; returns their ids
        (written, or kept in ``unrecorded`` if the store is down)."""
        rows, self._sent_rows = self._sent_rows, []
        if not rows:
            return []
        ids = tuple(row[0] for row in rows)
        self._writing.update(ids)
        try:
            await self._record_for(ids, self.store.mark_sent_many, rows)
        finally:
            self._writing.difference_update(ids)
        return list(ids)

    async def run_forever(
        self, wake: asyncio.Event, stop: asyncio.Event, *, idle_poll: float = 15.0
    ) -> None:
        """Drain whenever ``wake`` is set (a round enqueued) and every ``idle_poll`` seconds
        (messages whose retry time has come), until ``stop`` is set. Errors are logged and
        retried later: this is the bot's long-lived delivery task."""
        failures = 0
        while not stop.is_set():
            wake.clear()
            try:
                report = await self.drain(stop, wake)
            except Exception:  # the delivery task must outlive a bad moment of the database
                failures += 1
                _LOG.exception("Outbox drain failed (%d in a row); retrying later", failures)
            else:
                failures = 0
                if report != DrainReport():
                    _LOG.info("Outbox drain: %s", report)
            if stop.is_set():
                break
            pause = idle_poll
            if failures:
                pause = min(idle_poll, backoff_delay(failures, 1.0, idle_poll, self.rng))
            await _wait_for_any(wake, stop, within=pause)

    # -- one message -----------------------------------------------------------------------

    async def _send_one(
        self,
        message: OutboxMessage,
        counts: _Counts,
        failures: int,
        may_send: Callable[[], bool] | None = None,
    ) -> _Result:
        """Send one message and record the outcome. ``failures``: its earlier transient errors.
        ``may_send``: asked right before the request goes (after the rate limiter's wait, which
        may outlast a claim); if False nothing is sent or recorded (``WITHDRAWN``)."""
        kwargs = self._send_kwargs
        if may_send is not None:
            if not may_send():
                return _WITHDRAWN
            if self._paced:
                kwargs = {**kwargs, "rate_limit_args": {**BULK, "may_send": may_send}}
        try:
            self.in_flight += 1
            try:
                sent = await self.bot.send_message(
                    chat_id=message.chat_id,
                    text=message.text,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=not message.link_preview),
                    **kwargs,
                )
            finally:
                self.in_flight -= 1
        except SendWithdrawn:
            return _WITHDRAWN
        except RetryAfter as exc:
            seconds = retry_after_seconds(exc)
            not_before = await self._retry(
                message, seconds, f"429 flood control: retry after {seconds:g} s", counted=False
            )
            counts.retried += 1
            return _Result(_Outcome.RETRY, delay=seconds, not_before=not_before)
        except ChatMigrated as exc:
            return await self._migrate(message, exc.new_chat_id, counts)
        except Forbidden as exc:
            return await self._chat_gone(message, f"403 {exc.message}", counts)
        except (InvalidToken, EndPointNotFound):
            raise  # the bot itself is misconfigured: nothing to do per message
        except BadRequest as exc:
            if is_chat_gone(exc):
                return await self._chat_gone(message, f"400 {exc.message}", counts)
            return await self._refused(message, exc, counts)
        except (NetworkError, TelegramError) as exc:
            # TimedOut included. It may have been delivered: this resend is the only way a
            # duplicate can happen, and the alternative (assuming it was) could lose it.
            return await self._transient(message, exc, failures + 1, counts)
        self._sent_rows.append((message.id, sent.message_id, self.clock()))
        counts.sent += 1
        return _DONE

    async def _refused(self, message: OutboxMessage, exc: BadRequest, counts: _Counts) -> _Result:
        _LOG.error(  # noqa: TRY400 - the refusal is the news, not a trace
            "Telegram refused outbox message %d for chat %s: %s (marked failed)",
            message.id,
            message.chat_id,
            exc.message,
        )
        await self._record(message.id, self.store.mark_failed, f"400 {exc.message}")
        counts.failed += 1
        return _DONE

    async def _transient(
        self, message: OutboxMessage, exc: TelegramError, failures: int, counts: _Counts
    ) -> _Result:
        error = f"{type(exc).__name__}: {exc.message}"
        if failures >= self.max_attempts:
            _LOG.error(
                "Giving up on outbox message %d for chat %s after %d tries: %s",
                message.id,
                message.chat_id,
                failures,
                error,
            )
            await self._record(
                message.id, self.store.mark_failed, f"gave up after {failures} tries: {error}"
            )
            counts.failed += 1
            return _DONE
        delay = backoff_delay(failures, self.backoff_base, self.backoff_cap, self.rng)
        _LOG.warning(
            "Outbox message %d for chat %s: %s; retry %d in %.1f s",
            message.id,
            message.chat_id,
            error,
            failures,
            delay,
        )
        not_before = await self._retry(message, delay, error)
        counts.retried += 1
        return _Result(_Outcome.RETRY, delay=delay, transient=True, not_before=not_before)

    async def _retry(
        self, message: OutboxMessage, seconds: float, error: str, *, counted: bool = True
    ) -> datetime:
        not_before = self.clock() + timedelta(seconds=seconds)
        mark = self.store.mark_retry
        if not counted:
            mark = functools.partial(mark, counted=False)
        await self._record(message.id, mark, not_before, error)
        return not_before

    async def _chat_gone(self, message: OutboxMessage, reason: str, counts: _Counts) -> _Result:
        _LOG.info("Chat %s is unreachable (%s): deactivated", message.chat_id, reason)
        await self.flush_sent()  # the chat's earlier parts are recorded as sent first
        await self._record_for((message.id,), self.store.deactivate_chat, message.chat_id, reason)
        counts.deactivated += 1
        return _GONE

    async def _migrate(self, message: OutboxMessage, new_id: int, counts: _Counts) -> _Result:
        _LOG.info("Chat %s migrated to %s: following it", message.chat_id, new_id)
        await self.flush_sent()  # the chat's earlier parts are recorded as sent first
        try:
            await self._record_for((message.id,), self.store.migrate_chat, message.chat_id, new_id)
        except StoreError as exc:
            return await self._chat_gone(
                message, f"migrated to {new_id}, but the store refused: {exc}", counts
            )
        counts.migrated += 1
        return _Result(_Outcome.MIGRATED, new_chat_id=new_id)

    async def _record(
        self, message_id: int, method: Callable[..., Awaitable[Any]], *args: Any
    ) -> None:
        """Write the outcome for a message (``method(message_id, *args)``); see ``_record_for``."""
        await self._record_for((message_id,), method, message_id, *args)

    async def _record_for(
        self, message_ids: tuple[int, ...], method: Callable[..., Awaitable[Any]], *args: Any
    ) -> None:
        """Write an outcome of ``message_ids``; if the store is down, keep it to write later.

        Behind an earlier kept outcome it waits its turn, so outcomes are written in order.
        A kept outcome makes the drain stop taking new messages (see ``_Drain``).
        """
        if not self.unrecorded:
            try:
                async with self.writing:
                    await method(*args)
            except StoreUnavailable as exc:
                _LOG.warning(
                    "Store unavailable while recording outbox messages %s (%s); keeping the "
                    "outcome to record it when the store is back",
                    message_ids,
                    exc,
                )
            else:
                return
        self.unrecorded.append(_Unrecorded(method, args, message_ids))


class _Drain:
    """One pass over the outbox: a coordinator that pages through pending messages and
    ``concurrency`` workers that each take a whole chat and send its parts in order.

    Memory stays flat: at most about ``page_size`` messages are loaded at once, and a new page
    is read only when the loaded ones run low, or when there may be newly due ones (``wake``,
    a set-aside chat's time, every ``refresh_seconds``). A chat that must wait is unloaded
    ("set aside"): the store keeps it pending until its ``not_before``, and later messages of
    the chat wait behind it there, so it never holds a worker, a slot or another chat.
    """

    def __init__(self, sender: OutboxSender, stop: asyncio.Event, wake: asyncio.Event) -> None:
        self.sender = sender
        self.stop = stop
        self.wake = wake
        self.halt = asyncio.Event()  # stop, or a worker hit an error that ends the drain
        self.closing = asyncio.Event()  # the workers are done: the flusher writes the last batch
        if stop.is_set():
            self.halt.set()
        self.changed = asyncio.Event()  # something finished: the coordinator looks again
        self.counts = _Counts()
        self.queues: dict[int, deque[OutboxMessage]] = {}  # chat -> its loaded parts, in order
        self.ready: asyncio.Queue[int | None] = asyncio.Queue()
        # Set-aside chats: (monotonic time to look again, not_before recorded, chat) heap.
        self.aside: list[tuple[float, datetime, int]] = []
        self.aside_at: dict[int, int] = {}  # set-aside chat -> fetch number then
        self.read_floor: datetime | None = None  # the latest not_before whose time came
        self.loaded: set[int] = set()  # ids of loaded, unfinished messages
        self.finished: dict[int, int] = {}  # id -> fetch number when it finished
        self.failures: dict[int, int] = {}  # id -> transient failures in this drain
        self.gone: dict[int, int] = {}  # chat deactivated in this drain -> fetch number then
        self.moved: dict[int, int] = {}  # migrated chat -> new id
        self.fetches = 0
        self.more_due = False  # the last page was full: more may be due beyond it
        self.reload = True  # newly due messages may exist: read the outbox again
        self.next_refresh = time.monotonic() + sender.refresh_seconds
        # Claims: renewed every third of the lease; nothing is sent once the lease may be over.
        self.lease_valid_until = -math.inf
        self.next_renew = math.inf
        self.error: BaseException | None = None

    async def run(self) -> DrainReport:
        workers = [asyncio.create_task(self._worker()) for _ in range(self.sender.concurrency)]
        watchers = [
            asyncio.create_task(self._watch_stop()),
            asyncio.create_task(self._watch_wake()),
        ]
        flusher = asyncio.create_task(self._flush_every())
        try:
            await self._coordinate()
        finally:
            self.halt.set()
            for _ in workers:
                self.ready.put_nowait(None)
            # Workers finish the send they are in and record it; nothing is cancelled mid-send.
            await asyncio.gather(*workers, return_exceptions=True)
            self.closing.set()
            await flusher  # the last batch is written before any claim is given back
            for watcher in watchers:
                watcher.cancel()
            await self._release_claims()
        if self.error is not None:
            raise self.error
        if self.sender.unrecorded:
            raise StoreUnavailable(
                f"the store is unavailable; {len(self.sender.unrecorded)} outcomes are kept "
                "and will be recorded before anything is sent again"
            )
        waiting = bool(self.loaded or self.aside)
        return self.counts.report(stopped=self.stop.is_set() and waiting)

    async def _release_claims(self) -> None:
        """Give back what this drain still holds, so that other senders need not wait for the
        lease (a store that is down keeps them until it runs out, which is as good)."""
        if self.fetches == 0 or self.sender.unwritten_ids():
            # Sends accepted but not recorded keep their chats claimed until the lease runs
            # out: given back, another sender would find them pending and send them again.
            return
        with contextlib.suppress(StoreError):
            async with self.sender.writing:
                await self.sender.store.release_claims(self.sender.owner)

    async def _flush_every(self) -> None:
        """Record accepted sends a batch every ``flush_seconds``, and once more at the end."""
        while True:
            closing = self.closing.is_set()
            if not closing:
                await _wait_for_any(self.closing, within=self.sender.flush_seconds)
            try:
                await self._flush()
            except Exception as exc:  # handed to run(), which re-raises it
                if self.error is None:
                    self.error = exc
                self.halt.set()
            if closing:
                return

    async def _flush(self) -> None:
        written = await self.sender.flush_sent()
        # Recorded as of this fetch: only pages read after it can no longer hold them.
        for message_id in written:
            self.finished[message_id] = self.fetches
        if self.sender.unrecorded:
            self.halt.set()  # the store is down: send nothing more until it is back

    async def _watch_stop(self) -> None:
        await self.stop.wait()
        self.halt.set()
        self.changed.set()

    async def _watch_wake(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            self.reload = True
            self.changed.set()

    async def _coordinate(self) -> None:
        while not self.halt.is_set():
            self._release_aside()
            if time.monotonic() >= self.next_renew:
                await self._renew_claims()
            if self._wants_page():
                self.reload = False
                if await self._load_page() == 0:
                    self.more_due = False
                if not self.loaded and not self.aside and not self.reload:
                    return  # nothing due is left anywhere
                continue
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), self._timeout())

    def _wants_page(self) -> bool:
        # Claiming is a write: take the next page when half of this one is done, not per send.
        low_water = self.sender.concurrency if self.more_due else 2 * self.sender.concurrency
        if len(self.loaded) >= low_water:
            return False
        return self.reload or self.more_due

    def _timeout(self) -> float:
        """Seconds until a set-aside chat's time comes, or the next periodic re-read."""
        now = time.monotonic()
        until = min(self.next_refresh, self.next_renew)
        if self.aside:
            until = min(until, self.aside[0][0])
        return max(0.0, until - now)

    def _release_aside(self) -> None:
        now = time.monotonic()
        if now >= self.next_refresh:
            self.next_refresh = now + self.sender.refresh_seconds
            self.reload = True
        while self.aside and self.aside[0][0] <= now:
            _, not_before, _chat = heapq.heappop(self.aside)
            # Read as of its not_before at least, so a store clock that lags (or a fake one
            # in tests) still finds it due.
            if self.read_floor is None or not_before > self.read_floor:
                self.read_floor = not_before
            self.reload = True

    async def _renew_claims(self) -> None:
        started = time.monotonic()
        lease = self.sender.lease_seconds
        async with self.sender.writing:
            held = await self.sender.store.renew_claims(
                self.sender.owner, self.sender.clock() + timedelta(seconds=lease)
            )
        # A chat not renewed was taken by another sender after this one's lease ran out (it was
        # stopped, or its renewals failed): that one sends it now, this one must not.
        lost = [chat_id for chat_id, queue in self.queues.items() if queue and chat_id not in held]
        for chat_id in lost:
            _LOG.warning("Outbox chat %s was taken over by another sender; leaving it", chat_id)
            self._unload(chat_id)
        self._leased(started)

    def _leased(self, started: float) -> None:
        lease = self.sender.lease_seconds
        self.lease_valid_until = started + lease
        self.next_renew = started + lease / 3

    async def _load_page(self) -> int:
        self.fetches += 1
        fetch_number = self.fetches
        # Sends accepted since the last flush first: the page would hand their chats back.
        await self._flush()
        if self.halt.is_set():
            return 0
        # The chats it holds are claimed again (renewed), so ask for that many more. A page is
        # what this sender can start on soon: other replicas take the rest meanwhile.
        page_chats = min(self.sender.page_size, 2 * self.sender.concurrency)
        limit = page_chats + len(self.queues)
        now = self.sender.clock()
        if self.read_floor is not None and self.read_floor > now:
            now = self.read_floor
        started = time.monotonic()
        lease_until = self.sender.clock() + timedelta(seconds=self.sender.lease_seconds)
        async with self.sender.writing:
            page = await self.sender.store.claim_messages(
                self.sender.owner, now, lease_until, limit
            )
        if fetch_number == 1:
            # Later pages renew only the chats they return (another sender may be locking a
            # held one's row just then): what runs out first is the last renewal of them all.
            self._leased(started)
        self.more_due = len({message.chat_id for message in page}) >= limit
        kept = self.sender.unwritten_ids()
        new = 0
        for message in page:
            if message.id in self.loaded or message.id in self.finished or message.id in kept:
                continue  # loaded already, or finished while this page was being read
            if self.gone.get(message.chat_id, 0) >= fetch_number:
                continue  # read before the deactivation committed; the store failed it
            if self.aside_at.get(message.chat_id, 0) >= fetch_number:
                continue  # read before its retry time was recorded; it waits in the store
            message = self._follow_migration(message)
            self._enqueue(message)
            new += 1
        # Anything finished before this fetch began cannot appear in later pages.
        self.finished = {i: n for i, n in self.finished.items() if n >= fetch_number}
        return new

    def _follow_migration(self, message: OutboxMessage) -> OutboxMessage:
        new_id = self.moved.get(message.chat_id)
        return message if new_id is None else replace(message, chat_id=new_id)

    def _enqueue(self, message: OutboxMessage) -> None:
        self.loaded.add(message.id)
        queue = self.queues.get(message.chat_id)
        if queue is None:
            self.queues[message.chat_id] = deque([message])
            self.ready.put_nowait(message.chat_id)
        else:
            queue.append(message)  # a worker already holds this chat

    def _finish(self, message: OutboxMessage) -> None:
        self.loaded.discard(message.id)
        self.failures.pop(message.id, None)
        self.finished[message.id] = self.fetches
        if not self.loaded:
            self.reload = True  # before ending, look once more for anything newly due

    async def _worker(self) -> None:
        while (chat_id := await self.ready.get()) is not None:
            if self.halt.is_set():
                continue  # leave it pending; keep taking until the sentinel
            try:
                await self._work_chat(chat_id)
            except Exception as exc:  # handed to run(), which re-raises it
                if self.error is None:
                    self.error = exc
                self.halt.set()
            finally:
                self.changed.set()

    def _holds(self, chat_id: int, queue: deque[OutboxMessage]) -> bool:
        """Whether this drain still holds the chat's claim: asked before each send, and again
        once the rate limiter's turn came (a replica stopped meanwhile may have lost it)."""
        if self.queues.get(chat_id) is not queue:
            return False  # its claim was found taken over (``_renew_claims``)
        if time.monotonic() >= self.lease_valid_until:
            # The claim may have passed to another sender: sending now could go twice.
            if not self.halt.is_set():
                _LOG.warning("Outbox claims could not be renewed in time; pausing sends")
            self.halt.set()
            return False
        return True

    async def _work_chat(self, chat_id: int) -> None:
        """Send a chat's loaded parts in order until done, set aside, gone, or halted."""
        while (queue := self.queues.get(chat_id)) and not self.halt.is_set():
            message = queue[0]
            # Stored attempts count too: a restart must not give a failing message a fresh set.
            failures = self.failures.get(message.id, message.attempts)
            may_send = functools.partial(self._holds, chat_id, queue)
            result = await self.sender._send_one(message, self.counts, failures, may_send)
            if self.sender.unrecorded:
                self.halt.set()  # the store is down: send nothing more until it is back
            if self.queues.get(chat_id) is not queue:
                # Taken over while this send was under way: the other sender goes on with it.
                if result.outcome is _Outcome.DONE:
                    self._finish(message)
                return
            if result.outcome is _Outcome.WITHDRAWN:
                self._unload(chat_id)  # still pending in the store, for whoever holds it
                return
            if result.outcome is _Outcome.DONE:
                queue.popleft()
                self._finish(message)
            elif result.outcome is _Outcome.RETRY:
                if result.transient:
                    self.failures[message.id] = failures + 1
                self._set_aside(chat_id, result)
                return
            elif result.outcome is _Outcome.CHAT_GONE:
                self._drop_chat(chat_id)
                return
            else:
                new_id = self._move_chat(chat_id, result.new_chat_id)
                if new_id is None:
                    return  # merged into a queue someone else holds
                chat_id = new_id
        if chat_id in self.queues and not self.queues[chat_id]:
            del self.queues[chat_id]

    def _unload(self, chat_id: int) -> None:
        """Forget a chat's loaded messages; they stay pending in the store."""
        for message in self.queues.pop(chat_id, deque()):
            self.loaded.discard(message.id)

    def _set_aside(self, chat_id: int, result: _Result) -> None:
        """Unload a chat that must wait; the store hands its messages out again when due."""
        self._unload(chat_id)
        self.aside_at[chat_id] = self.fetches
        not_before = result.not_before or self.sender.clock()
        look_again = time.monotonic() + result.delay + _ASIDE_MARGIN
        heapq.heappush(self.aside, (look_again, not_before, chat_id))

    def _drop_chat(self, chat_id: int) -> None:
        """The store failed the chat's pending messages when it deactivated it; forget them."""
        queue = self.queues.pop(chat_id, deque())
        for message in queue:
            self._finish(message)
        self.counts.failed += len(queue)
        self.gone[chat_id] = self.fetches

    def _move_chat(self, old_id: int, new_id: int) -> int | None:
        """Re-key a migrated chat's queue; None if the new id's queue is held elsewhere."""
        self.moved[old_id] = new_id
        moved = [replace(m, chat_id=new_id) for m in self.queues.pop(old_id, deque())]
        existing = self.queues.get(new_id)
        if existing is None:
            self.queues[new_id] = deque(moved)
            return new_id
        merged = sorted([*existing, *moved], key=lambda m: m.id)
        existing.clear()
        existing.extend(merged)
        return None


async def _wait_for_any(*events: asyncio.Event, within: float) -> None:
    """Return when any event is set or ``within`` seconds pass."""
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
