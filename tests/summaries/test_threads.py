"""Blocking work on a chosen executor; worker processes that survive a worker's death."""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import pytest

from summaries.threads import WORKER_NICENESS, WorkerProcesses, blocking_work_on, run_blocking

LABEL: contextvars.ContextVar[str] = contextvars.ContextVar("label", default="unset")


def pid_and_niceness() -> tuple[int, int]:
    return os.getpid(), os.nice(0)


def fail(message: str) -> None:
    raise ValueError(message)


def die() -> None:
    os._exit(3)  # as the kernel's OOM killer would end a worker: no exception, no cleanup


def label() -> str:
    return LABEL.get()


@pytest.fixture
def workers() -> Iterator[WorkerProcesses]:
    pool = WorkerProcesses(1)
    yield pool
    pool.shutdown(wait=True, cancel_futures=True)


async def test_work_runs_in_a_worker_process_at_a_lower_priority(workers):
    with blocking_work_on(workers):
        pid, niceness = await run_blocking(pid_and_niceness)
    assert pid != os.getpid()
    assert niceness == min(19, os.nice(0) + WORKER_NICENESS)


async def test_an_exception_in_a_worker_reaches_the_caller(workers):
    with blocking_work_on(workers), pytest.raises(ValueError, match="bad feed"):
        await run_blocking(fail, "bad feed")


async def test_a_dead_worker_fails_its_task_and_the_next_task_gets_a_new_worker(workers):
    with blocking_work_on(workers):
        first, _ = await run_blocking(pid_and_niceness)
        with pytest.raises(BrokenProcessPool):
            await run_blocking(die)
        second, _ = await run_blocking(pid_and_niceness)
    assert second not in (first, os.getpid())


def test_no_work_is_taken_after_shutdown():
    pool = WorkerProcesses(1)
    pool.shutdown()
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(pid_and_niceness)


def test_at_least_one_process():
    with pytest.raises(ValueError, match="at least one"):
        WorkerProcesses(0)


async def test_threads_see_the_callers_context_variables():
    LABEL.set("from the caller")
    with ThreadPoolExecutor(max_workers=1) as threads, blocking_work_on(threads):
        assert await run_blocking(label) == "from the caller"
