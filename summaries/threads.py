"""Where blocking work (parsing a fetched document, summarising) runs.

By default in a thread of the loop's default executor, as `asyncio.to_thread` does. A caller
may choose an executor for everything its task does (`blocking_work_on`): the bot keeps
ingestion on a pool of its own, so parsing a huge feed never queues its users' commands.

That pool may be `WorkerProcesses`: CPU-bound Python in a thread still takes the interpreter
lock from the event loop (measured: 20 users' p99 from 0.2 s to 1.3 s while two 500-item feeds
were summarised on threads); in another process, at a lower priority, it takes nothing from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ctypes
import functools
import multiprocessing
import os
import signal
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

# Worker processes run at this much lower priority (Unix nice): they use what the bot leaves.
WORKER_NICENESS = 10

_EXECUTOR: contextvars.ContextVar[Executor | None] = contextvars.ContextVar(
    "blocking_executor", default=None
)


@contextmanager
def blocking_work_on(executor: Executor | None) -> Iterator[None]:
    """Run this task's `run_blocking` calls on `executor` (None: the default executor)."""
    token = _EXECUTOR.set(executor)
    try:
        yield
    finally:
        _EXECUTOR.reset(token)


async def run_blocking(func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """`func(*args, **kwargs)` on the executor chosen for this task (see `run_on`)."""
    executor = _EXECUTOR.get()
    if executor is None:
        return await asyncio.to_thread(func, *args, **kwargs)
    return await run_on(executor, func, *args, **kwargs)


async def run_on(
    executor: Executor, func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs
) -> R:
    """`func(*args, **kwargs)` on `executor`: in a thread with the caller's context variables,
    or, on `WorkerProcesses`, in a worker process (`func` and its arguments are pickled)."""
    if isinstance(executor, WorkerProcesses):
        return await executor.run(functools.partial(func, *args, **kwargs))
    call = functools.partial(contextvars.copy_context().run, func, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(executor, call)


class WorkerProcesses(Executor):
    """A process pool that replaces itself when a worker dies.

    A worker killed mid-task (out of memory, say) fails that task and every task queued with
    it (`BrokenProcessPool`), as `ProcessPoolExecutor` does; later work goes to a new pool
    instead of failing forever. Workers are spawned (forking a process that runs threads can
    copy a held lock), start when first needed, ignore Ctrl+C (the bot stops them) and run at
    `WORKER_NICENESS`.

    A call whose caller stops waiting (its poll's deadline passed, the bot is stopping) while a
    worker runs it has its workers killed (`run`): a hostile feed can keep the parser busy for
    many minutes, and everything queued behind it, even the bot's exit, would wait as long.
    """

    def __init__(self, processes: int) -> None:
        if processes < 1:
            raise ValueError("WorkerProcesses needs at least one process")
        self.processes = processes
        self._lock = threading.Lock()
        self._closed = False
        self._pool = self._new_pool()
        # Pools killed on purpose: their other calls did nothing wrong and are run again.
        self._killed: weakref.WeakSet[ProcessPoolExecutor] = weakref.WeakSet()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
        )

    async def run(self, call: Callable[[], R]) -> R:
        """`call()` in a worker; if the caller is cancelled while a worker has it, the workers
        are killed and replaced. A call that dies with them for another's sake runs again."""
        while True:
            pool, future = self._submit(call)
            try:
                return await asyncio.wrap_future(future)
            except asyncio.CancelledError:
                if not future.cancel():  # a worker has it already: end the worker
                    self._kill(pool)
                raise
            except BrokenProcessPool:
                if pool not in self._killed:
                    raise

    def submit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        return self._submit(fn, *args, **kwargs)[1]

    def _submit(
        self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs
    ) -> tuple[ProcessPoolExecutor, Future[R]]:
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new work after shutdown")
            pool = self._pool
        try:
            future = pool.submit(fn, *args, **kwargs)
        except BrokenProcessPool:  # broke before our callback replaced it
            pool = self._replace(pool)
            future = pool.submit(fn, *args, **kwargs)
        future.add_done_callback(functools.partial(self._replace_if_broken, pool))
        return pool, future

    def _replace_if_broken(self, pool: ProcessPoolExecutor, future: Future[object]) -> None:
        if not future.cancelled() and isinstance(future.exception(), BrokenProcessPool):
            self._replace(pool)

    def _replace(self, broken: ProcessPoolExecutor) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is broken and not self._closed:
                self._pool = self._new_pool()
            current = self._pool
        broken.shutdown(wait=False)
        return current

    def _kill(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            self._killed.add(pool)
        _kill_workers(pool)
        self._replace(pool)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """As `Executor.shutdown`; without `wait`, a call still running is killed with its
        worker (the interpreter's exit would wait for it otherwise)."""
        with self._lock:
            self._closed = True
            pool = self._pool
        if not wait:
            _kill_workers(pool)
        pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    # No public way before Python 3.14 (`kill_workers`); the pool then breaks, as when the
    # kernel kills a worker, and fails the calls it had.
    for process in list((pool._processes or {}).values()):
        process.kill()


# prctl(2): the signal a process gets when the thread that started it ends.
_PR_SET_PDEATHSIG = 1


def _start_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_the_bot()
    with contextlib.suppress(AttributeError, OSError):  # no os.nice on Windows
        os.nice(WORKER_NICENESS)


def _die_with_the_bot() -> None:
    """Linux: a bot killed outright (OOM, SIGKILL) cannot end its workers, and one stuck in a
    hostile feed's parse would live on forever. Workers are started by the event loop's thread,
    which lives as long as the bot."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the bot died before the request took effect
        os._exit(1)
