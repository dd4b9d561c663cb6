"""Fair update processing: one chat's backlog never holds the workers everybody shares.

PTB's default concurrent processing runs up to N updates at once in arrival order. A chat that
pushes 1,000 commands fills all N slots, each waiting for that chat's 1 message/s, and every
other user waits behind it. Here each chat has a lane: its updates run one at a time, in
order, and at most `backlog` more wait in it. Beyond that the update is shed (its handler never
runs) and the chat is told once to slow down. A few workers are shared by all lanes, so memory
is bounded by workers + chats x backlog, not by what one chat sends. On stop, waiting updates
are dropped and running ones get a short grace period before they are cancelled, so shutdown
takes seconds whatever the backlog.

Lanes alone are not fair when many chats flood at once: 100 flooding chats keep every worker
busy waiting for their own replies, and a quiet chat's one command queued behind all of them
(7.8 s measured). So each lane counts the updates its chat sent since the lane was last empty
(`busy`), and a free worker goes to the waiting lane that sent the fewest (then the one that
waited longest); the rate limiter orders replies by the same count (see
`bot.ratelimit.PacingRateLimiter.chat_load`), and so do the threads that run handlers' store
calls and CPU work (`bot.ranked`). A quiet chat's reply goes before the second and
later replies of flooding chats, and flooders take turns among themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor

from bot.ranked import work_rank

logger = logging.getLogger(__name__)

WORKERS = 32
BACKLOG_PER_CHAT = 5
STOP_GRACE_SECONDS = 3.0
# PTB's own semaphore must never be what limits: the lanes and workers below do that.
_UNBOUNDED = 1_000_000

Notify = Callable[[Update], Awaitable[Any]]


@dataclass
class _Lane:
    """One chat's updates: one runs, the rest wait here in order."""

    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    queued: int = 0  # running or waiting
    sent: int = 0  # updates the chat sent since the lane was last empty, shed ones included
    warned: bool = False  # told to slow down since the lane was last empty


@dataclass
class FairnessStats:
    processed: int = 0
    shed: int = 0
    dropped_at_stop: int = 0
    cancelled_at_stop: int = 0


class FairUpdateProcessor(BaseUpdateProcessor):
    """Per-chat lanes over a shared pool of workers; see the module docstring."""

    def __init__(
        self,
        workers: int = WORKERS,
        backlog: int = BACKLOG_PER_CHAT,
        stop_grace: float = STOP_GRACE_SECONDS,
    ) -> None:
        super().__init__(_UNBOUNDED)
        self.workers = workers
        self.backlog = backlog
        self.stop_grace = stop_grace
        self.stats = FairnessStats()
        self.notify: Notify | None = None  # tells a chat to slow down; set by the application
        self._lanes: dict[int, _Lane] = {}
        self._slots = FairSlots(workers, self.busy)
        self._running: set[asyncio.Task[Any]] = set()
        self._notices: set[asyncio.Task[Any]] = set()
        self._stopping = False

    async def initialize(self) -> None:
        self._stopping = False

    async def shutdown(self) -> None:
        await self.stop()

    def busy(self, chat_id: int | str | None) -> int:
        """How many updates the chat sent since it last had none running or waiting (0 for a
        chat with nothing in hand): the fewer, the sooner its work goes."""
        lane = self._lanes.get(chat_id) if isinstance(chat_id, int) else None
        return 0 if lane is None else lane.sent

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if self._stopping:
            self._drop(coroutine)
            return
        chat_id = _chat_key(update)
        if chat_id is None:
            await self._run(coroutine, None)
            return
        lane = self._lanes.setdefault(chat_id, _Lane())
        lane.sent += 1
        if lane.queued > self.backlog:
            self._shed(update, chat_id, lane, coroutine)
            return
        lane.queued += 1
        try:
            async with lane.turn:
                if self._stopping:
                    self._drop(coroutine)
                    return
                await self._run(coroutine, chat_id)
        finally:
            lane.queued -= 1
            if lane.queued == 0:
                del self._lanes[chat_id]  # memory follows the active chats only

    async def _run(self, coroutine: Awaitable[Any], chat_id: int | None) -> None:
        async with self._slots.slot(chat_id):
            if self._stopping:
                self._drop(coroutine)
                return
            # A task of its own, so that stop() can cancel it after the grace period; it carries
            # its chat's rank to the worker threads it uses (bot.ranked).
            ranked = None if chat_id is None else functools.partial(self.busy, chat_id)
            token = work_rank.set(ranked)
            try:
                task = asyncio.ensure_future(coroutine)
            finally:
                work_rank.reset(token)
            self._running.add(task)
            try:
                await task
            except asyncio.CancelledError:
                if not self._stopping:
                    raise
            finally:
                self._running.discard(task)
                self.stats.processed += 1

    def _shed(self, update: object, chat_id: int, lane: _Lane, coroutine: Awaitable[Any]) -> None:
        _close(coroutine)
        self.stats.shed += 1
        if lane.warned or self.notify is None or not isinstance(update, Update):
            return
        lane.warned = True
        logger.info("chat %s sends faster than it can be answered: shedding its excess", chat_id)
        notice = asyncio.ensure_future(self.notify(update))
        self._notices.add(notice)
        notice.add_done_callback(self._notice_done)

    def _notice_done(self, task: asyncio.Task[Any]) -> None:
        self._notices.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.info("could not tell a chat to slow down: %s", task.exception())

    def _drop(self, coroutine: Awaitable[Any]) -> None:
        _close(coroutine)
        self.stats.dropped_at_stop += 1

    async def stop(self) -> None:
        """Drop what waits; give what runs `stop_grace` seconds, then cancel it."""
        if self._stopping:
            return
        self._stopping = True
        running = set(self._running) | set(self._notices)
        if running:
            _, late = await asyncio.wait(running, timeout=self.stop_grace)
            for task in late:
                task.cancel()
            self.stats.cancelled_at_stop += len(late)
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*late, return_exceptions=True)
        if self.stats.dropped_at_stop or self.stats.cancelled_at_stop:
            logger.info(
                "stopping: %d waiting updates dropped, %d running ones cancelled",
                self.stats.dropped_at_stop,
                self.stats.cancelled_at_stop,
            )


class FairSlots:
    """A semaphore whose free slot goes to the waiter whose chat is least busy (``busy``, read
    when the slot frees, so a lane that keeps receiving updates sinks), then to the longest
    waiting. Waiters are few (at most one per lane), so choosing is a scan."""

    def __init__(self, count: int, busy: Callable[[int | None], int]) -> None:
        self._free = count
        self._busy = busy
        self._waiters: dict[int, tuple[int | None, asyncio.Future[None]]] = {}
        self._order = itertools.count()

    @contextlib.asynccontextmanager
    async def slot(self, chat_id: int | None) -> AsyncIterator[None]:
        await self.acquire(chat_id)
        try:
            yield
        finally:
            self.release()

    async def acquire(self, chat_id: int | None) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        number = next(self._order)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[number] = (chat_id, future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # granted in the same instant: hand the slot on
            raise
        finally:
            self._waiters.pop(number, None)

    def release(self) -> None:
        self._free += 1
        while self._free > 0 and self._waiters:
            number = min(self._waiters, key=lambda n: (self._busy(self._waiters[n][0]), n))
            _, future = self._waiters.pop(number)
            if not future.done():
                self._free -= 1
                future.set_result(None)


def _chat_key(update: object) -> int | None:
    if isinstance(update, Update) and update.effective_chat is not None:
        return update.effective_chat.id
    return None


def _close(coroutine: Awaitable[Any]) -> None:
    """Discard an update's handler coroutine that will never run (no "never awaited")."""
    if isinstance(coroutine, Coroutine):
        coroutine.close()


class FairApplication(Application):
    """PTB's Application, whose stop() first lets the fair processor drop its backlog: PTB
    waits for every queued update to be processed before it stops."""

    async def stop(self) -> None:
        if isinstance(self.update_processor, FairUpdateProcessor):
            await self.update_processor.stop()
        await super().stop()
