"""Blocking work on a chosen executor; worker processes that survive a worker's death."""

from __future__ import annotations

import asyncio
import contextvars
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from summaries.threads import (
    WORKER_NICENESS,
    WorkerProcesses,
    blocking_work_on,
    run_blocking,
    run_on,
)

ROOT = Path(__file__).resolve().parents[2]
LABEL: contextvars.ContextVar[str] = contextvars.ContextVar("label", default="unset")


def pid_and_niceness() -> tuple[int, int]:
    return os.getpid(), os.nice(0)


def fail(message: str) -> None:
    raise ValueError(message)


def die() -> None:
    os._exit(3)  # as the kernel's OOM killer would end a worker: no exception, no cleanup


def stuck(started: Path) -> None:
    """A parse that never ends (a hostile feed): says it started, with its pid, then hangs."""
    started.write_text(str(os.getpid()))
    time.sleep(3600)


async def stuck_in_a_worker(workers: WorkerProcesses, started: Path) -> asyncio.Task[None]:
    """`stuck` running in one of `workers`, in a task, once the worker has begun it."""
    task = asyncio.create_task(run_on(workers, stuck, started))
    while not started.exists():
        assert not task.done(), task
        await asyncio.sleep(0.01)
    return task


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child stays a zombie until reaped; a zombie runs nothing.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


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


async def test_a_call_its_caller_gave_up_on_frees_the_worker(workers, tmp_path):
    # A feed that makes the parser hang must not hold the only worker once its poll's deadline
    # has passed: every other source's parse would wait behind it for as long as it runs.
    task = await stuck_in_a_worker(workers, tmp_path / "started")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    pid, _ = await asyncio.wait_for(run_on(workers, pid_and_niceness), timeout=60)
    assert pid != int((tmp_path / "started").read_text())


async def test_a_call_queued_behind_one_given_up_on_still_gets_its_result(workers, tmp_path):
    task = await stuck_in_a_worker(workers, tmp_path / "started")
    queued = asyncio.create_task(run_on(workers, label))
    await asyncio.sleep(0.1)
    task.cancel()
    assert await asyncio.wait_for(queued, timeout=60) == "unset"


async def test_shutting_down_without_waiting_ends_a_busy_worker(tmp_path):
    # Otherwise the interpreter's exit waits for the worker's call: a stopping bot would hang.
    workers = WorkerProcesses(1)
    task = await stuck_in_a_worker(workers, tmp_path / "started")
    workers.shutdown(wait=False, cancel_futures=True)
    pid = int((tmp_path / "started").read_text())
    with pytest.raises(BrokenProcessPool):
        await asyncio.wait_for(task, timeout=60)
    # SIGKILL takes effect asynchronously: on a loaded machine the call can fail first.
    assert await gone_within(pid, seconds=30)


async def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return not alive(pid)


PARENT = """
import asyncio, sys
from pathlib import Path
from summaries.threads import WorkerProcesses, run_on
from tests.summaries.test_threads import stuck
asyncio.run(run_on(WorkerProcesses(1), stuck, Path(sys.argv[1])))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's parent-death signal")
def test_a_busy_worker_dies_with_a_killed_bot(tmp_path):
    # Killed outright (OOM, SIGKILL), the bot cannot end its workers: one stuck in a parse
    # would live on forever, holding its memory, once per restart.
    started = tmp_path / "started"
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(started)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert parent.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        parent.kill()
        parent.wait()
    pid = int(started.read_text())
    deadline = time.monotonic() + 60
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the worker outlived the bot")
