"""Fair update processing: one chat's backlog never holds the workers everybody shares.

PTB's default concurrent processing runs up to N updates at once in arrival order. A chat that
pushes 1,000 commands fills all N slots, each waiting for that chat's 1 message/s, and every
other user waits behind it. Here each chat has a lane: its updates run one at a time, in
order, and at most `backlog` more wait in it. Beyond that the update is shed (its handler never
runs) and the chat is told once to slow down. A few workers are shared by all lanes, so memory
is bounded by workers + chats x backlog, not by what one chat sends. On stop, waiting updates
are dropped and running ones get a short grace period before they are cancelled, so shutdown
takes seconds whatever the backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor

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
        self._slots = asyncio.Semaphore(workers)
        self._running: set[asyncio.Task[Any]] = set()
        self._notices: set[asyncio.Task[Any]] = set()
        self._stopping = False

    async def initialize(self) -> None:
        self._stopping = False

    async def shutdown(self) -> None:
        await self.stop()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if self._stopping:
            self._drop(coroutine)
            return
        chat_id = _chat_key(update)
        if chat_id is None:
            await self._run(coroutine)
            return
        lane = self._lanes.setdefault(chat_id, _Lane())
        if lane.queued > self.backlog:
            self._shed(update, chat_id, lane, coroutine)
            return
        lane.queued += 1
        try:
            async with lane.turn:
                if self._stopping:
                    self._drop(coroutine)
                    return
                await self._run(coroutine)
        finally:
            lane.queued -= 1
            if lane.queued == 0:
                del self._lanes[chat_id]  # memory follows the active chats only

    async def _run(self, coroutine: Awaitable[Any]) -> None:
        async with self._slots:
            if self._stopping:
                self._drop(coroutine)
                return
            # A task of its own, so that stop() can cancel it after the grace period.
            task = asyncio.ensure_future(coroutine)
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
