"""Where blocking work (parsing a fetched document) runs.

By default in a thread of the loop's default executor, as `asyncio.to_thread` does. A caller
may choose an executor for everything its task does (`blocking_work_on`): the bot keeps
ingestion on a small pool of its own, so parsing a huge feed never queues its users' commands.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

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
    """`func(*args, **kwargs)` in a worker thread of the executor chosen for this task."""
    executor = _EXECUTOR.get()
    if executor is None:
        return await asyncio.to_thread(func, *args, **kwargs)
    call = functools.partial(contextvars.copy_context().run, func, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(executor, call)
