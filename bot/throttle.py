"""Per-user throttling of expensive commands: a sliding window, pure and clock-injectable."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class Throttle:
    """Allows `limit` uses per `window` seconds per key; reports how long to wait otherwise."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._uses: dict[int, deque[float]] = {}

    def try_acquire(self, key: int) -> float:
        """0.0 if `key` may go ahead now (and counts the use), else seconds until it may."""
        now = self._clock()
        uses = self._uses.setdefault(key, deque())
        while uses and uses[0] <= now - self.window:
            uses.popleft()
        if len(uses) >= self.limit:
            return uses[0] + self.window - now
        uses.append(now)
        self._forget_idle(now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        # Keeps memory bounded by active users, not by everyone who ever searched.
        if len(self._uses) > 10_000:
            for key in [key for key, uses in self._uses.items() if uses[-1] <= now - self.window]:
                del self._uses[key]
