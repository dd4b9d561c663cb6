"""One rate budget for the bot token across replicas, kept in Redis.

Every paced request of every replica asks Redis, in one atomic Lua script, for a slot under each
limit that applies to it: the token's global rate, the bulk lane's share of it, the chat's one
message a second, a group's 20 a minute (as one every 3 s, which can never put 21 in a minute).
Each limit is a GCRA cell: a key holding the "theoretical arrival time" of the next request,
with no burst (a cell that was idle grants one request, then spaces the next). Time is Redis's
own clock (``TIME``), so replicas on different machines agree.

The global cell paces ``shared_margin`` (8 %) below the rate, and the bulk cell no faster.
Telegram counts requests in a strict sliding window as they arrive, and requests granted to
different processes arrive with different delays (event loops, the OS scheduler, the network):
at exactly 30/s, 31 grants span exactly one second, so one request held back a few
milliseconds puts 31 in a window, and Telegram blocks the whole token for a second. With the
margin, any 31 grants span at least 1.07 s (1.08 less the catch-up, see ``_TAKE``): a request
may be held back about 70 ms behind the ones granted after it.

A bulk (delivery) request first queues for a slot of the bulk cell, which runs at
``bulk_share`` of the rate (FIFO across replicas), then takes the global and chat slots at once,
behind the bulk gate: a global 429 closes the gate for its retry_after, so that the requests
every replica had already queued wait too instead of running into Telegram's block one after
another (each would get a 429 of its own). An interactive request (a command reply) is given the
global cell's next slot at once, however far ahead (``_RESERVE_INTERACTIVE``), while bulk
requests take global slots only when free now or within a short horizon (50 ms): so a reply
waits at most for the replies ahead of it and that horizon, never for a round's digests, which
give way (bulk leaves ``1 - bulk_share`` of the rate for replies, and slows down further when
there are more).

Redis calls are what a replica spends its CPU on at paid-broadcast rates, so a bulk request makes
about one: its take books slots that come within the horizon for then (instead of being told
"not yet" and asking again: that was 97 % of 34 calls a message at 300/s), and reserves the bulk
slot of the next request waiting in this replica in the same call. A request that wakes up
well after the slot booked for it (its replica was stopped, or its event loop stalled) asks for a
new one, once: sent on the stale slot, it would land among the requests other replicas send on
time.

When Redis cannot be reached, every ``SharedBudget`` call raises ``BudgetUnavailable``; the rate
limiter then paces this replica alone at an equal share of the budget (see
``bot.ratelimit.PacingRateLimiter``) and says so in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

from bot.ratelimit import ChatKey, Lane, PacingRateLimiter, RateLimits, is_group_key

if TYPE_CHECKING:
    from redis.asyncio import Redis

_LOG = logging.getLogger(__name__)

# TAKE: a slot in every cell, now or within a short horizon, or none. KEYS: the cells, then
# (when ARGV[#cells + 4] is 1) the bulk cell. ARGV: each cell's emission interval in
# microseconds (0 for a gate: a time before which nothing goes, only read here), the first
# cell's catch-up, the horizon, the bulk cell's interval, whether to reserve a bulk slot.
# Catch-up: a request that comes up to that late keeps the first cell on its schedule (the next
# one may follow a little sooner) instead of pushing every later one back by its lateness.
# Horizon: slots that come within it are taken for the time they come, so the request sleeps
# once instead of asking again (97 % of calls were "not yet" at 300/s). The bulk slot is the
# next waiting request's, reserved in the same call (one call per message instead of two).
# Returns {microseconds to wait, 1 if the slots are the caller's, the reserved bulk slot's
# microseconds from now or -1}.
_TAKE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local reserve = tonumber(ARGV[#ARGV]) == 1
local cells = #KEYS
if reserve then cells = cells - 1 end
local catch_up = tonumber(ARGV[cells + 1])
local horizon = tonumber(ARGV[cells + 2])
local at = now
local tats = {}
for i = 1, cells do
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat > at then at = tat end
  -- late by at most the catch-up: stay on schedule; idle for longer: start afresh from now
  if tat < now and (i > 1 or tat < now - catch_up) then tat = now end
  tats[i] = tat
end
local next_bulk = -1
if reserve then
  local interval = tonumber(ARGV[cells + 3])
  local bulk = tonumber(redis.call('GET', KEYS[#KEYS]) or '0')
  if bulk < now then bulk = now end
  local ttl = math.floor((bulk + interval - now) / 1000) + 1000
  redis.call('SET', KEYS[#KEYS], bulk + interval, 'PX', ttl)
  next_bulk = bulk - now
end
if at - now > horizon then return {at - now, 0, next_bulk} end
for i = 1, cells do
  local interval = tonumber(ARGV[i])
  if interval > 0 then
    local slot = tats[i]
    if at > now then slot = at end
    local next_tat = slot + interval
    redis.call('SET', KEYS[i], next_tat, 'PX', math.floor((next_tat - now) / 1000) + 1000)
  end
end
return {at - now, 1, next_bulk}
"""

# RESERVE: the next free slot of one cell, however far ahead; returns the microseconds until
# it. Bulk requests queue here in FIFO order, so they ask Redis about once each.
_RESERVE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local next_tat = tat + tonumber(ARGV[1])
redis.call('SET', KEYS[1], next_tat, 'PX', math.floor((next_tat - now) / 1000) + 1000)
return tat - now
"""

# RESERVE_INTERACTIVE: a command reply's slot. KEYS[1]: the global cell, KEYS[2..] (if any):
# the chat's, and a group's replies cell; ARGV: their intervals. If the chat is still within
# its pace, returns {wait, 0} and takes nothing; else the next global slot (however far ahead)
# is this request's, the chat's cells count from it, and it returns {wait until the slot, 1}.
# Bulk requests take global slots only when free now (TAKE), so a reply never waits behind
# the digests of a round.
# KEYS[#KEYS] is the bulk cell, ARGV[#KEYS] its interval: the bulk lane gives the slot up.
_RESERVE_INTERACTIVE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cells = #KEYS - 1
local pace = 0
for i = 2, cells do
  local chat_tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if chat_tat - now > pace then pace = chat_tat - now end
end
if pace > 0 then return {pace, 0} end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
for i = 1, cells do
  local next_tat = tat + tonumber(ARGV[i])
  redis.call('SET', KEYS[i], next_tat, 'PX', math.floor((next_tat - now) / 1000) + 1000)
end
local bulk = tonumber(redis.call('GET', KEYS[#KEYS]) or '0')
if bulk < now then bulk = now end
bulk = bulk + tonumber(ARGV[#KEYS])
redis.call('SET', KEYS[#KEYS], bulk, 'PX', math.floor((bulk - now) / 1000) + 1000)
return {tat - now, 1}
"""

# KEYS: cells to pause; ARGV[1]: microseconds. A 429 pushes every named cell past the pause.
_PAUSE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_us = now + tonumber(ARGV[1])
for i = 1, #KEYS do
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < until_us then
    redis.call('SET', KEYS[i], until_us, 'PX', math.floor(tonumber(ARGV[1]) / 1000) + 1000)
  end
end
return 0
"""


# Any global_window_cap + 1 requests granted through Redis span at least this long (a strict
# one-second window, with 70 ms for requests that reach Telegram late).
_MIN_SPAN_US: Final = 1_070_000
_HORIZON_US: Final = 50_000
# A request that wakes up this much later than the slot booked for it (its replica was stopped,
# or its event loop stalled) asks for a new one: sent on the stale slot, it would land among
# the requests the other replicas send on time. Half the 70 ms that _MIN_SPAN_US leaves.
_LATE_SECONDS: Final = 0.035


class BudgetUnavailable(Exception):
    """Redis could not be asked; pace locally instead."""


@dataclass(frozen=True, slots=True)
class Taken:
    """A bulk request's answer from Redis: ``wait`` seconds until its slots (``taken``: they are
    its own, sleep that long and go; else ask again then); ``next_bulk``: seconds until the bulk
    slot reserved for the next request, if one was asked for."""

    wait: float
    taken: bool
    next_bulk: float | None = None


@dataclass(frozen=True, slots=True)
class _Cell:
    key: str
    interval_us: int


def key_prefix(token: str, namespace: str = "digest-bot") -> str:
    """Keys are per bot (a hash of its token, never the token) under ``namespace``."""
    bot_hash = hashlib.sha256(token.encode()).hexdigest()[:16]
    return f"{namespace}:{bot_hash}"


class SharedBudget:
    """The token's rate budget in Redis; see the module docstring.

    ``client`` is a ``redis.asyncio.Redis``; ``prefix`` names this bot's keys (``key_prefix``).
    """

    def __init__(self, client: Redis, prefix: str, limits: RateLimits) -> None:
        self.client = client
        self.prefix = prefix
        self.limits = limits
        self._take = client.register_script(_TAKE)
        self._reserve = client.register_script(_RESERVE)
        self._pause = client.register_script(_PAUSE)
        self._reserve_interactive = client.register_script(_RESERVE_INTERACTIVE)
        global_us = _micros((1.0 + limits.shared_margin) / limits.global_rate)
        self._global = _Cell(f"{prefix}:global", global_us)
        bulk_us = _micros(1.0 / (limits.global_rate * limits.bulk_share))
        self._bulk = _Cell(f"{prefix}:bulk", max(global_us, bulk_us))
        # The ms by which a bulk request reaches Redis after its reserved time would otherwise
        # add up, request after request (26/s instead of 27.8 at 30/s; at 300/s, every request
        # more than a quarter slot late pushed the schedule back for good). Bounded so that any
        # window-cap + 1 grants still span 1.07 s.
        window_room = limits.global_window_cap * global_us - _MIN_SPAN_US
        self.catch_up_us = max(global_us // 4, window_room)
        #: Slots this close are taken for when they come: one call, one sleep.
        self.horizon_us = _HORIZON_US
        self._bulk_gate = _Cell(f"{prefix}:bulk-gate", 0)

    def interval_us(self, lane: Lane) -> int:
        """Microseconds between two requests of ``lane`` (bulk), or of any lane (interactive)."""
        return (self._bulk if lane == "bulk" else self._global).interval_us

    def cells(self, key: ChatKey | None, lane: Lane = "interactive") -> list[_Cell]:
        """The cells a request for ``key`` takes a slot in when it goes: global, its chat (and a
        group's replies cell for a reply), and for bulk the gate a global 429 closes (the bulk
        cell itself is ``reserve_bulk``'s)."""
        cells = [self._global]
        if lane == "bulk":
            cells.append(self._bulk_gate)
        if key is None:
            return cells
        limits = self.limits
        interval = limits.chat_interval
        if is_group_key(key):
            interval = max(interval, limits.group_period / limits.group_max)
        cells.append(_Cell(f"{self.prefix}:chat:{key}", _micros(interval + limits.slack)))
        if lane == "interactive" and is_group_key(key):
            # Replies get a group's slots minus its reserve, so a digest part finds one free.
            replies = limits.group_period / max(1, limits.group_max - limits.group_reserve)
            cells.append(_Cell(f"{self.prefix}:replies:{key}", _micros(replies + limits.slack)))
        return cells

    async def reserve_bulk(self) -> float:
        """Queue for the bulk lane's next slot; the seconds until it is this request's."""
        waited = await self._call(self._reserve, [self._bulk.key], [self._bulk.interval_us])
        return int(waited) / 1_000_000

    async def take(self, key: ChatKey | None, lane: Lane = "interactive") -> float:
        """Take the global and chat slots now (returns 0.0) or say how long to wait."""
        taken = await self._take_slots(key, lane, horizon_us=0, reserve_next=False)
        return 0.0 if taken.taken else taken.wait

    async def take_bulk(self, key: ChatKey | None, *, reserve_next: bool) -> Taken:
        """A bulk request whose reserved time came: its global, gate and chat slots if they come
        within ``horizon_us`` (taken for then), else how long until they may. ``reserve_next``:
        also reserve the bulk lane's next slot, for the next request waiting here."""
        return await self._take_slots(
            key, "bulk", horizon_us=self.horizon_us, reserve_next=reserve_next
        )

    async def _take_slots(
        self, key: ChatKey | None, lane: Lane, *, horizon_us: int, reserve_next: bool
    ) -> Taken:
        cells = self.cells(key, lane)
        keys = [c.key for c in cells]
        args = [*(c.interval_us for c in cells), self.catch_up_us, horizon_us]
        if reserve_next:
            keys.append(self._bulk.key)
        args += [self._bulk.interval_us, int(reserve_next)]
        wait, taken, next_bulk = await self._call(self._take, keys, args)
        next_slot = None if int(next_bulk) < 0 else int(next_bulk) / 1_000_000
        return Taken(int(wait) / 1_000_000, bool(int(taken)), next_slot)

    async def reserve_interactive(self, key: ChatKey | None) -> tuple[float, bool]:
        """A reply's turn: ``(seconds until its global slot, True)``, the slot being its own,
        or ``(seconds until its chat may be sent to, False)`` with nothing taken."""
        cells = [*self.cells(key, "interactive"), self._bulk]
        wait, reserved = await self._call(
            self._reserve_interactive, [c.key for c in cells], [c.interval_us for c in cells]
        )
        return int(wait) / 1_000_000, bool(int(reserved))

    async def pause(self, key: ChatKey | None, seconds: float, *, whole_bulk_lane: bool) -> None:
        """Honour a 429 for every replica: the chat waits, and bulk sending too if global
        (new reservations, and the ones already handed out, at the gate)."""
        keys = [] if key is None else [f"{self.prefix}:chat:{key}"]
        if whole_bulk_lane:
            keys += [self._bulk.key, self._bulk_gate.key]
        if keys:
            await self._call(self._pause, keys, [_micros(seconds)])

    async def _call(self, script: Any, keys: list[str], args: list[int]) -> Any:
        from redis.exceptions import RedisError

        try:
            return await script(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            raise BudgetUnavailable(str(exc) or type(exc).__name__) from exc


def _micros(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1_000_000))


class SharedRateLimiter(PacingRateLimiter):
    """``PacingRateLimiter`` whose budget is shared with the other replicas through Redis.

    The local pacer still orders this replica's requests (interactive first) and keeps each
    chat's pace; a request then takes its slots in Redis (``SharedBudget``). If Redis cannot be
    reached, requests are paced by a local limiter at ``1/replicas()`` of the budget (an equal
    share), that is said once in the log, and Redis is tried again every ``retry_seconds``.
    """

    __slots__ = (
        "_budget",
        "_bulk_holders",
        "_bulk_queued",
        "_fallback",
        "_prepaid",
        "_probing",
        "_replicas",
        "_retry_at",
        "_retry_seconds",
    )

    def __init__(
        self,
        limits: RateLimits,
        budget: SharedBudget,
        *,
        replicas: Callable[[], int] = lambda: 1,
        retry_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(limits, clock=clock)
        self._budget = budget
        self._replicas = replicas
        self._retry_seconds = retry_seconds
        self._retry_at = -math.inf  # Redis is tried whenever the clock is past this
        self._fallback: PacingRateLimiter | None = None
        # A request is asking a Redis that was unreachable whether it is back: the others do
        # not wait for its answer (a hung Redis answers only at the client's socket timeout).
        self._probing = False
        # Bulk requests holding a reserved slot at once: a tenth of a second's worth. Each of
        # the sender's workers holding one would queue the bulk lane seconds ahead, and every
        # reply taking a global slot in between would collide with the digests already due.
        self._bulk_holders = asyncio.Semaphore(max(2, math.ceil(limits.global_rate / 10)))
        self._bulk_queued = 0  # bulk requests waiting for the semaphore
        # Bulk slots reserved (monotonic times) for the next requests to get the semaphore.
        self._prepaid: deque[float] = deque()

    @property
    def shared(self) -> bool:
        """Whether requests are being paced through Redis right now."""
        return self._fallback is None

    async def shutdown(self) -> None:
        await super().shutdown()
        if self._fallback is not None:
            await self._fallback.shutdown()

    async def _wait_turn(self, key: ChatKey | None, lane: Lane) -> None:
        probe = self._fallback is not None and not self._probing
        if self._fallback is None or (probe and self._clock() >= self._retry_at):
            self._probing = self._probing or probe
            try:
                await super()._wait_turn(key, lane)
                await self._shared_turn(key, lane)
            except BudgetUnavailable as exc:
                self._fall_back(exc)
            else:
                self._recovered()
                return
            finally:
                if probe:
                    self._probing = False
        assert self._fallback is not None
        await self._fallback._wait_turn(key, lane)

    async def _shared_turn(self, key: ChatKey | None, lane: Lane) -> None:
        if lane == "interactive":
            late = False
            while True:
                wait, reserved = await self._budget.reserve_interactive(key)
                if await self._slept_on_time(wait, late) and reserved:
                    return
                late = late or reserved
        self._bulk_queued += 1
        try:
            await self._bulk_holders.acquire()
        finally:
            self._bulk_queued -= 1
        try:
            await self._bulk_turn(key)
        finally:
            self._bulk_holders.release()

    async def _bulk_turn(self, key: ChatKey | None) -> None:
        """Wait for a bulk slot (handed over by the request before, or reserved now), then take
        the global, gate and chat slots; each call may reserve the next waiting one's slot."""
        slot = self._prepaid.popleft() if self._prepaid else None
        if slot is None:
            slot = self._clock() + await self._budget.reserve_bulk()
        await asyncio.sleep(max(0.0, slot - self._clock()))
        late = False
        while True:
            reserve_next = self._bulk_queued > len(self._prepaid)
            taken = await self._budget.take_bulk(key, reserve_next=reserve_next)
            if taken.next_bulk is not None:
                self._prepaid.append(self._clock() + taken.next_bulk)
            # The answer says how long until the slots free up; no event could say it sooner.
            if await self._slept_on_time(taken.wait, late) and taken.taken:
                return
            late = late or taken.taken

    async def _slept_on_time(self, wait: float, late_before: bool) -> bool:
        """Sleep ``wait`` seconds; False if woken up too late to use a slot booked for then,
        unless that happened to this request before (a replica too busy to wake up on time at
        all would spend every slot it booked and send nothing)."""
        due = self._clock() + wait
        await asyncio.sleep(wait)
        return late_before or self._clock() - due <= _LATE_SECONDS

    def _fall_back(self, exc: BudgetUnavailable) -> None:
        self._retry_at = self._clock() + self._retry_seconds
        if self._fallback is not None:
            return
        replicas = max(1, self._replicas())
        share = replace(self.limits, global_rate=self.limits.global_rate / replicas)
        self._fallback = PacingRateLimiter(share, clock=self._clock)
        self._fallback.chat_load = self.chat_load
        _LOG.warning(
            "Redis is unreachable (%s): this replica paces itself at %.1f msg/s, an equal share "
            "of %.0f msg/s across %d replicas, until Redis answers again",
            exc,
            share.global_rate,
            self.limits.global_rate,
            replicas,
        )

    def _recovered(self) -> None:
        if self._fallback is not None:
            self._fallback = None  # requests already waiting there finish there
            _LOG.warning("Redis answers again: the rate budget is shared across replicas")

    def _on_retry_after(self, key: ChatKey | None, seconds: float, scope: str) -> None:
        if self._fallback is None:
            task = asyncio.get_running_loop().create_task(
                self._share_pause(key, seconds, scope == "global")
            )
            _PAUSES.add(task)
            task.add_done_callback(_PAUSES.discard)

    async def _share_pause(self, key: ChatKey | None, seconds: float, whole: bool) -> None:
        with contextlib.suppress(BudgetUnavailable):
            await self._budget.pause(key, seconds, whole_bulk_lane=whole)


_PAUSES: set[asyncio.Task[None]] = set()  # keeps fire-and-forget pause tasks referenced
