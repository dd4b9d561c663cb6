"""The threads ingestion runs on, apart from the default executor the commands use.

Parsing a feed, summarising its new items and tokenising them for search are CPU work done in
worker threads. On the loop's default executor (`asyncio.to_thread`) a few huge feeds filled
every thread, and a command's own thread work (parsing a search query, rendering a digest)
queued behind them for a minute. Ingestion gets this small pool instead, and at most
`sources_at_once` sources summarise a large batch at a time, so memory stays bounded too.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_THREADS = 2
DEFAULT_SOURCES_AT_ONCE = 2


class IngestPool:
    def __init__(
        self, threads: int = DEFAULT_THREADS, sources_at_once: int = DEFAULT_SOURCES_AT_ONCE
    ) -> None:
        self.threads = threads
        self.sources_at_once = sources_at_once
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ingest")
        self._slots = asyncio.Semaphore(sources_at_once)

    async def run(self, func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """`func(*args, **kwargs)` on an ingestion thread."""
        call = functools.partial(contextvars.copy_context().run, func, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """One of the `sources_at_once` places for a source summarising a large batch."""
        async with self._slots:
            yield

    def shutdown(self) -> None:
        """Drop queued work; a chunk already running finishes in its thread."""
        self.executor.shutdown(wait=False, cancel_futures=True)
