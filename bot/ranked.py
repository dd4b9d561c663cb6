"""Worker threads that take the least busy chat's work first, not the oldest.

Fair lanes and a fair sender were not enough when many chats flood at once: every handler's
store calls queue for the store's one thread (SQLite), and its CPU work for the loop's default
executor, first come first served. With 32 flooders' handlers running, a quiet chat's command
waited behind some hundred of their store calls (p99 3.6 s in the benchmark). Here the work a
handler submits carries its chat's rank (``bot.fairness.FairUpdateProcessor.busy``, read when
it is submitted), and a free thread takes the lowest rank first, then the oldest.

The rank travels in a context variable: the update processor sets it for each handler's task,
and ``asyncio.to_thread`` / ``run_in_executor`` submit from that task. Work submitted outside a
handler (rounds, polls) ranks as a quiet chat's.
"""

from __future__ import annotations

import contextvars
import heapq
import itertools
import math
import queue
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

#: The rank of work submitted outside any handler: a quiet chat's (a chat with one update).
QUIET: Final = 1

#: How busy the chat is whose handler is running (None outside handlers).
work_rank: contextvars.ContextVar[Callable[[], int] | None] = contextvars.ContextVar(
    "work_rank", default=None
)


def current_rank() -> float:
    rank = work_rank.get()
    return QUIET if rank is None else rank()


class _RankedQueue(queue.Queue[Any]):
    """``queue.Queue`` that hands out the lowest rank first, then the oldest. The rank is
    taken when an item is put; ``None`` (a worker's signal to stop) goes after all work."""

    def _init(self, maxsize: int) -> None:
        self.queue: list[tuple[float, int, Any]] = []
        self._order = itertools.count()

    def _qsize(self) -> int:
        return len(self.queue)

    def _put(self, item: Any) -> None:
        rank = math.inf if item is None else current_rank()
        heapq.heappush(self.queue, (rank, next(self._order), item))

    def _get(self) -> Any:
        return heapq.heappop(self.queue)[2]


class RankedExecutor(ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` whose queued work goes in rank order (see the module)."""

    def __init__(self, max_workers: int | None = None, thread_name_prefix: str = "") -> None:
        super().__init__(max_workers, thread_name_prefix)
        # Threads start on first submit and take the queue then: replacing it here is safe.
        self._work_queue = _RankedQueue()  # type: ignore[assignment]
