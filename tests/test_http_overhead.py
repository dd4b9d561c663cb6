"""Every Bot API request must not cost a search of the import path."""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder


class _Recorder(MetaPathFinder):
    def __init__(self) -> None:
        self.searched: list[str] = []

    def find_spec(self, fullname, path, target=None):  # noqa: ANN001 - the finder protocol
        self.searched.append(fullname)
        return None


async def test_httpcore_finds_sniffio_without_searching_the_import_path():
    """httpcore imports sniffio each time it makes a lock (several per request) and Python
    never caches a failed import: without sniffio installed, a 20-s flood of commands cost
    2,614 path searches (13,000 stat calls, a fifth of the bot's CPU on a loaded machine)."""
    from httpcore._synchronization import current_async_library

    assert current_async_library() == "asyncio"
    recorder = _Recorder()
    sys.meta_path.insert(0, recorder)
    try:
        for _ in range(10):
            current_async_library()
    finally:
        sys.meta_path.remove(recorder)
    assert recorder.searched == []
