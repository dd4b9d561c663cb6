"""Several bot processes on one PostgreSQL: which one leads, and which ones are alive.

- The leader is the replica holding a PostgreSQL session advisory lock. It runs the jobs (source
  polling, digest rounds) and, in polling mode, is the one that polls Telegram; the others stand
  by, answer webhooks and send the outbox, and try to take the lock every ``takeover / 3``
  seconds. The lock lives exactly as long as the leader's database session: a killed leader's
  socket closes and the server frees the lock at once; a machine that vanished is found dead by
  TCP keepalives set well inside ``takeover``. A leader that is stopped (SIGSTOP, a paused VM)
  or stuck keeps its session, since its kernel still answers keepalives: a standby that has
  seen no new heartbeat from it for more than ``takeover`` seconds (counted in its own ticks,
  so no clock is compared) ends that session (``pg_terminate_backend``; replicas connect as
  the same role, or one granted ``pg_signal_backend``). So another replica leads within
  ``takeover`` seconds (15 by default; about 1.7 times that for a stopped leader), and because
  rounds only take what is due and the store refuses a second delivery of an article to a chat,
  nothing is skipped or done twice across the change.
- Every replica writes a heartbeat row (``replicas`` table); ``/stats`` lists them.

Advisory locks are database-wide, so the lock key is derived from the database, the schema and
the bot: two deployments (or two test runs in their own schemas) never share a leader.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import os
import secrets
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bot.store import AsyncStore, StoreError

_LOG = logging.getLogger(__name__)

DEFAULT_TAKEOVER_SECONDS = 15.0
# Ticks (takeover / 3 s each) of a standby without a new heartbeat from the leader after which
# it ends the leader's session: more than the takeover time, whatever the ticks' phases.
_SILENT_TICKS = 4
# The leader lock's session, found by the lock's key (two 32-bit halves) in pg_locks.
_LOCK_HOLDER = (
    "SELECT pid, pg_terminate_backend(pid, 5000) FROM pg_locks WHERE locktype = 'advisory' "
    "AND granted AND objsubid = 1 AND classid = %s::bigint::oid AND objid = %s::bigint::oid "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def new_replica_id() -> str:
    """host:pid:random, unique per process start, readable in /stats."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def libpq_dsn(url: str) -> str:
    """The SQLAlchemy URL as psycopg takes it (driver suffix dropped, query kept)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def lock_key(database: str, schema: str, purpose: str) -> int:
    """A signed 64-bit advisory-lock key, distinct per database, schema and purpose."""
    digest = hashlib.sha256(f"digest-bot:{purpose}:{database}:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Coordinator:
    """Leader election and heartbeats for one replica; see the module docstring.

    ``on_change(is_leader)`` is called (in the event loop) whenever leadership changes.
    """

    def __init__(
        self,
        url: str,
        store: AsyncStore,
        *,
        mode: str,
        replica_id: str | None = None,
        takeover_seconds: float = DEFAULT_TAKEOVER_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if takeover_seconds < 3:
            raise ValueError(f"takeover_seconds must be at least 3, got {takeover_seconds}")
        self.url = url
        self.store = store
        self.mode = mode
        self.replica_id = replica_id or new_replica_id()
        self.takeover_seconds = takeover_seconds
        self.clock = clock
        self.started_at = clock()
        self.is_leader = False
        self.live = 1  # replicas heard from lately (for an equal share of the rate budget)
        self.changed = asyncio.Event()  # set on every change of leadership
        self.on_change: Callable[[bool], None] | None = None
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._key: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._leader_beat: tuple[str, datetime] | None = None  # the leader's last heartbeat seen
        self._leader_silent = 0  # this replica's ticks since it saw a new one

    @property
    def tick_seconds(self) -> float:
        return self.takeover_seconds / 3

    async def start(self) -> None:
        """Try for the lead at once, then keep trying (or keep proving it) in the background."""
        await self.tick()
        self._task = asyncio.create_task(self._run(), name="replica-coordinator")

    async def stop(self) -> None:
        """Step down (the lock goes with the session) and remove this replica's heartbeat."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        conn = self._conn
        if self.is_leader and conn is not None and not conn.closed and self._key is not None:
            # Closing only asks the server to end the session, and the lock goes whenever it
            # does: give it up first, so that a standby can take it at once.
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
        await self._close()
        self._set_leader(False)
        with contextlib.suppress(StoreError):
            await self.store.forget_replica(self.replica_id)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.tick_seconds)
            await self.tick()

    async def tick(self) -> None:
        """One step: keep or seek the lock, then write the heartbeat."""
        try:
            await self._hold_or_seek()
        except (psycopg.Error, OSError) as exc:
            if self.is_leader:
                _LOG.warning("Lost the leader lock's database session (%s); standing by", exc)
            await self._close()
            self._set_leader(False)
        now = self.clock()
        try:
            await self.store.heartbeat(
                self.replica_id, self.mode, self.is_leader, self.started_at, now
            )
            alive = await self.store.list_replicas(now - timedelta(seconds=3 * self.tick_seconds))
            self.live = max(1, len(alive))
            beat = next(((r.replica_id, r.heartbeat_at) for r in alive if r.leader), None)
            if beat is not None and beat != self._leader_beat:
                self._leader_beat, self._leader_silent = beat, 0
            else:
                self._leader_silent += 1
        except StoreError as exc:
            _LOG.warning("Could not write this replica's heartbeat: %s", exc)

    async def _hold_or_seek(self) -> None:
        conn = await self._connection()
        if self.is_leader:
            await conn.execute("SELECT 1")  # the session, and so the lock, is still there
            return
        assert self._key is not None
        if not await self._try_lock(conn) and self._leader_silent >= _SILENT_TICKS:
            # The lock is held, but its holder has been silent longer than the takeover time.
            self._leader_silent = 0
            unsigned = self._key & 0xFFFF_FFFF_FFFF_FFFF
            cursor = await conn.execute(_LOCK_HOLDER, (unsigned >> 32, unsigned & 0xFFFF_FFFF))
            for pid, ended in await cursor.fetchall():
                _LOG.warning(
                    "The leader sent no heartbeat for over %g s: its session (pid %s) %s",
                    self.takeover_seconds,
                    pid,
                    "was ended" if ended else "could not be ended",
                )
            await self._try_lock(conn)

    async def _try_lock(self, conn: psycopg.AsyncConnection[Any]) -> bool:
        cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,))
        row = await cursor.fetchone()
        if row is not None and row[0]:
            self._set_leader(True)
            return True
        return False

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        idle = max(1, math.floor(self.takeover_seconds / 5))
        conn = await psycopg.AsyncConnection.connect(
            libpq_dsn(self.url),
            autocommit=True,
            connect_timeout=max(2, math.ceil(self.tick_seconds)),
            application_name="digest-bot leader lock",
            keepalives=1,
            keepalives_idle=idle,
            keepalives_interval=1,
            keepalives_count=3,
        )
        # The server's side of the same: a leader whose machine vanished loses the lock
        # within about idle + 3 s, inside the takeover time.
        for name, value in (
            ("tcp_keepalives_idle", idle),
            ("tcp_keepalives_interval", 1),
            ("tcp_keepalives_count", 3),
        ):
            await conn.execute(f"SET {name} = {int(value)}")  # noqa: S608 - integers only
        cursor = await conn.execute("SELECT current_database(), current_schema()")
        row = await cursor.fetchone()
        assert row is not None
        self._key = lock_key(str(row[0]), str(row[1]), "leader")
        self._conn = conn
        return conn

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.close()

    def _set_leader(self, leader: bool) -> None:
        if leader == self.is_leader:
            return
        self.is_leader = leader
        _LOG.info("Replica %s is %s", self.replica_id, "the leader" if leader else "standing by")
        self.changed.set()
        if self.on_change is not None:
            self.on_change(leader)
