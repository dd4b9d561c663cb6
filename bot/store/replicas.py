"""Heartbeats of the running bot processes (replicas); see `bot.replicas`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, select, update

from bot.store.engine import insert_ignore
from bot.store.schema import replicas
from bot.store.values import Replica


def heartbeat(
    conn: Connection,
    replica_id: str,
    mode: str,
    leader: bool,
    started_at: datetime,
    now: datetime,
) -> None:
    values = {"mode": mode, "leader": leader, "heartbeat_at": now}
    updated = conn.execute(
        update(replicas).where(replicas.c.replica_id == replica_id).values(**values)
    )
    if updated.rowcount == 0:
        conn.execute(
            insert_ignore(conn, replicas, ["replica_id"]).values(
                replica_id=replica_id, started_at=started_at, **values
            )
        )


def forget_replica(conn: Connection, replica_id: str) -> None:
    conn.execute(delete(replicas).where(replicas.c.replica_id == replica_id))


def list_replicas(conn: Connection, since: datetime) -> list[Replica]:
    """Replicas whose last heartbeat is at or after `since`, leader first; older rows go."""
    conn.execute(delete(replicas).where(replicas.c.heartbeat_at < since))
    query = select(
        replicas.c.replica_id,
        replicas.c.mode,
        replicas.c.leader,
        replicas.c.started_at,
        replicas.c.heartbeat_at,
    ).order_by(replicas.c.leader.desc(), replicas.c.started_at)
    return [Replica(*row) for row in conn.execute(query)]
