"""Commands for the people who run the bot: /stats and /refresh."""

from __future__ import annotations

from datetime import timedelta
from html import escape

from telegram import Update
from telegram.ext import CommandHandler, ContextTypes

from bot.handlers.common import is_bot_admin, reply, services_of
from bot.ingest import ingest_due
from bot.rounds import digest_round
from bot.services import Services
from bot.store import SourceState

NOT_ADMIN = "Sorry, only the bot's administrators can use this command."


def _source_line(state: SourceState) -> str:
    when = state.last_fetch_at.strftime("%Y-%m-%d %H:%M UTC") if state.last_fetch_at else "never"
    line = f"• <b>{escape(state.name)}</b>: last fetch {when}"
    if state.last_error:
        line += (
            f" — <i>failing ({state.consecutive_failures}×): {escape(state.last_error[:200])}</i>"
        )
    return line


async def stats_text(services: Services) -> str:
    stats = await services.store.stats()
    states = {state.name: state for state in await services.store.source_states()}
    lines = [
        "<b>Statistics</b>",
        f"Chats: {stats.chats_active} active of {stats.chats_total}",
        f"Subscriptions: {stats.subscriptions}",
        f"Articles: {stats.articles}",
        f"Deliveries: {stats.deliveries} articles sent",
        f"Outbox: {stats.outbox_pending} pending, {stats.outbox_sent} sent, "
        f"{stats.outbox_failed} failed",
        *await _replica_lines(services),
        "",
        "<b>Sources</b>",
    ]
    for spec in services.settings.app.sources:
        state = states.get(spec.name)
        lines.append(
            _source_line(state) if state else f"• <b>{escape(spec.name)}</b>: not fetched yet"
        )
    return "\n".join(lines)


async def _replica_lines(services: Services) -> list[str]:
    """Replicas sharing the database, the leader first, with their last heartbeat."""
    coordinator = services.replicas
    if coordinator is None:
        return []
    now = services.clock()
    alive = await services.store.list_replicas(
        now - timedelta(seconds=3 * coordinator.tick_seconds)
    )
    lines = ["", f"<b>Replicas</b>: {len(alive)}"]
    for replica in alive:
        ago = max(0.0, (now - replica.heartbeat_at).total_seconds())
        role = "leader" if replica.leader else "standby"
        here = " (this one)" if replica.replica_id == coordinator.replica_id else ""
        lines.append(
            f"• <code>{escape(replica.replica_id)}</code>: {role}, {escape(replica.mode)}, "
            f"heartbeat {ago:.0f} s ago{here}"
        )
    return lines


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    if not is_bot_admin(update, services):
        await reply(update, NOT_ADMIN)
        return
    await reply(update, await stats_text(services))


async def refresh_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    if not is_bot_admin(update, services):
        await reply(update, NOT_ADMIN)
        return
    await reply(update, "Fetching every source now…")
    reports = await ingest_due(services, services.clock(), force=True)
    await digest_round(services, services.clock())
    lines = ["<b>Fetched</b>"]
    for report in reports:
        outcome = (
            f"failed: {escape(report.error)}"
            if report.error
            else "unchanged"
            if report.not_modified
            else f"{report.fetched} articles, {report.added} new"
        )
        lines.append(f"• {escape(report.source)}: {outcome}")
    await reply(update, "\n".join(lines))


HANDLERS = [CommandHandler("stats", stats_command), CommandHandler("refresh", refresh_command)]
