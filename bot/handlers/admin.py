"""Commands for the people who run the bot: /stats and /refresh."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update
from telegram.ext import CommandHandler, ContextTypes

from bot.handlers.common import chat_translator, is_bot_admin, reply, services_of
from bot.handlers.sources import user_sources_stats
from bot.i18n import N_, Translator
from bot.ingest import IngestReport, ingest_due
from bot.reasons import translate_reason
from bot.render import escape
from bot.rounds import digest_round
from bot.services import Services
from bot.store import SourceState

NOT_ADMIN = N_("Sorry, only the bot's administrators can use this command.")


def _source_line(state: SourceState, t: Translator) -> str:
    if state.last_fetch_at:
        when = t.gettext("last fetch {when}").format(
            when=state.last_fetch_at.strftime("%Y-%m-%d %H:%M UTC")
        )
    else:
        when = t.gettext("never fetched")
    line = f"• <b>{escape(state.name)}</b>: {escape(when)}"
    if state.last_error and state.consecutive_failures:
        failing = t.gettext("failing ({count}×): {error}").format(
            count=state.consecutive_failures, error=translate_reason(t, state.last_error[:200])
        )
        line += f" — <i>{escape(failing)}</i>"
    elif state.last_error:  # fetched, but some items could not be kept
        problem = t.gettext("problem: {error}").format(
            error=translate_reason(t, state.last_error[:200])
        )
        line += f" — <i>{escape(problem)}</i>"
    return line


def _bold(text: str) -> str:
    return f"<b>{escape(text)}</b>"


async def stats_text(services: Services, t: Translator) -> str:
    stats = await services.store.stats()
    states = {state.name: state for state in await services.store.source_states()}
    figures = [
        t.gettext("Chats: {active} active of {total}").format(
            active=stats.chats_active, total=stats.chats_total
        ),
        t.gettext("Subscriptions: {count}").format(count=stats.subscriptions),
        t.gettext("Articles: {count}").format(count=stats.articles),
        t.gettext("Deliveries: {count} articles sent").format(count=stats.deliveries),
        t.gettext("Outbox: {pending} pending, {sent} sent, {failed} failed").format(
            pending=stats.outbox_pending, sent=stats.outbox_sent, failed=stats.outbox_failed
        ),
    ]
    lines = [
        _bold(t.gettext("Statistics")),
        *map(escape, figures),
        *await _replica_lines(services, t),
        "",
        _bold(t.gettext("Sources")),
    ]
    for spec in services.settings.app.sources:
        state = states.get(spec.name)
        not_yet = f"• <b>{escape(spec.name)}</b>: " + escape(t.gettext("not fetched yet"))
        lines.append(_source_line(state, t) if state else not_yet)
    return "\n".join(lines)


async def _replica_lines(services: Services, t: Translator) -> list[str]:
    """Replicas sharing the database, the leader first, with their last heartbeat."""
    coordinator = services.replicas
    if coordinator is None:
        return []
    now = services.clock()
    alive = await services.store.list_replicas(
        now - timedelta(seconds=3 * coordinator.tick_seconds)
    )
    lines = ["", _bold(t.gettext("Replicas")) + f": {len(alive)}"]
    for replica in alive:
        ago = max(0.0, (now - replica.heartbeat_at).total_seconds())
        role = t.gettext("leader") if replica.leader else t.gettext("standby")
        if replica.replica_id == coordinator.replica_id:
            text = t.gettext("{role}, {mode}, heartbeat {seconds} s ago (this one)")
        else:
            text = t.gettext("{role}, {mode}, heartbeat {seconds} s ago")
        shown = text.format(role=role, mode=replica.mode, seconds=f"{ago:.0f}")
        lines.append(f"• <code>{escape(replica.replica_id)}</code>: {escape(shown)}")
    return lines


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    t = await chat_translator(update, services)
    if not is_bot_admin(update, services):
        await reply(update, escape(t.gettext(NOT_ADMIN)))
        return
    text = await stats_text(services, t) + "\n\n" + await user_sources_stats(context, t)
    await reply(update, text)


def _outcome(report: IngestReport, t: Translator) -> str:
    if report.error:
        return t.gettext("failed: {error}").format(error=translate_reason(t, report.error))
    if report.not_modified:
        return t.gettext("unchanged")
    return t.gettext("{fetched} articles, {added} new").format(
        fetched=report.fetched, added=report.added
    )


async def refresh_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    t = await chat_translator(update, services)
    if not is_bot_admin(update, services):
        await reply(update, escape(t.gettext(NOT_ADMIN)))
        return
    await reply(update, escape(t.gettext("Fetching every source now…")))
    reports = await ingest_due(services, services.clock(), force=True)
    await digest_round(services, services.clock())
    lines = [_bold(t.gettext("Fetched"))]
    lines += [f"• {escape(report.source)}: {escape(_outcome(report, t))}" for report in reports]
    await reply(update, "\n".join(lines))


HANDLERS = [CommandHandler("stats", stats_command), CommandHandler("refresh", refresh_command)]
