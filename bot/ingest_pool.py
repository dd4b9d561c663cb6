"""The workers ingestion runs on, apart from the default executor the commands use.

Parsing a feed, summarising its new items and tokenising them for search are CPU work. On the
loop's default executor (`asyncio.to_thread`) a few huge feeds filled every thread, and a
command's own thread work (parsing a search query, rendering a digest) queued behind them for
a minute. Ingestion gets its own workers instead, and at most `sources_at_once` sources
summarise a large batch at a time, so memory stays bounded too.

By default those workers are `processes` worker processes (`summaries.threads.WorkerProcesses`):
on threads, CPU-bound Python still holds the interpreter lock the event loop needs, so commands
slowed while big feeds were summarised. `processes: 0` keeps the work on `threads` threads of
the bot's own process (no process start-up; what tests that watch the work from inside use).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import ParamSpec, TypeVar

from summaries.threads import WorkerProcesses, run_on

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_THREADS = 2
DEFAULT_PROCESSES = 1
DEFAULT_SOURCES_AT_ONCE = 2


class IngestPool:
    def __init__(
        self,
        threads: int = DEFAULT_THREADS,
        sources_at_once: int = DEFAULT_SOURCES_AT_ONCE,
        processes: int = 0,
    ) -> None:
        self.threads = threads
        self.processes = processes
        self.sources_at_once = sources_at_once
        self.executor: Executor = (
            WorkerProcesses(processes)
            if processes
            else ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ingest")
        )
        self._slots = asyncio.Semaphore(sources_at_once)

    async def run(self, func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """`func(*args, **kwargs)` on an ingestion worker (pickled, in a worker process)."""
        return await run_on(self.executor, func, *args, **kwargs)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """One of the `sources_at_once` places for a source summarising a large batch."""
        async with self._slots:
            yield

    def shutdown(self) -> None:
        """Drop queued work; a chunk already running finishes in its worker."""
        self.executor.shutdown(wait=False, cancel_futures=True)
