"""Digest rounds: find the chats whose digest is due, and queue each one's digest in the outbox.

The round only *records* what to send (deliveries + outbox rows + the next due time, in one
transaction per chat); the outbox sender sends. So a crash at any point loses nothing and a
restart resumes: a chat whose digest was queued is not due again, and its queued messages are
still pending.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.candidates import Candidates
from bot.i18n import Translator
from bot.render import DigestEntry, OwnSource, render_digest, short_source
from bot.schedule import next_digest_at
from bot.selection import (
    SOURCE,
    TOPIC,
    choose_articles,
    count_more,
    matched_by,
    source_name,
    source_parts,
)
from bot.services import Services
from bot.store import AsyncStore, ChatSettings, QueuedDigest, StoredArticle, Subscription

logger = logging.getLogger(__name__)

ROUND_BATCH = 500
# The first batch is small so that the first digests are queued (and the sender woken) within
# moments of the minute they are due, however many chats the round has.
FIRST_BATCH = 25
# An on-demand digest is sent by its handler; the background sender leaves it alone this long.
DIRECT_SEND_GRACE = timedelta(minutes=2)


@dataclass(frozen=True)
class RoundReport:
    due: int
    queued: int
    empty: int
    conflicts: int


def digest_entry(
    services: Services,
    stored: StoredArticle,
    subscriptions: Sequence[Subscription],
    reader: Translator | None = None,
) -> DigestEntry:
    """An article with what brought it (topic titles in the reader's language, keywords, the
    chat's own sources) and its source's name (configured, or the title of the chat's own)."""
    topics, keywords, own = [], [], []
    for sub in matched_by(subscriptions, stored, services.texts):
        if sub.kind == TOPIC:
            topic = services.topic(sub.value)
            topics.append(
                topic.title_in(reader.language if reader else None) if topic else sub.value
            )
        elif sub.kind == SOURCE:
            url, only = source_parts(sub.value)
            own.append(OwnSource(sub.title or short_source(url), only))
        else:
            keywords.append(sub.value)
    name = source_name(stored.article.source, services.settings.app.sources)
    if name is None:
        name = next(
            (
                sub.title
                for sub in subscriptions
                if sub.kind == SOURCE
                and sub.title
                and source_parts(sub.value)[0] == stored.article.source
            ),
            None,
        )
    return DigestEntry(
        stored.article,
        stored.digest,
        topics=tuple(topics),
        keywords=tuple(keywords),
        sources=tuple(own),
        source_name=name,
    )


def digest_messages(
    services: Services,
    chat: ChatSettings,
    chosen: Sequence[StoredArticle],
    subscriptions: Sequence[Subscription],
    now: datetime,
    *,
    title: str | None = None,
    more: int = 0,
    note: str = "",
) -> list[str]:
    """The chat's digest of `chosen`, in the chat's language ("Your digest" unless `title`)."""
    reader = services.catalogs.get(chat.language)
    zone = ZoneInfo(chat.timezone)
    return render_digest(
        [digest_entry(services, stored, subscriptions, reader) for stored in chosen],
        title=reader.gettext("Your digest") if title is None else title,
        when=now.astimezone(zone),
        bullets=chat.bullets,
        tz=zone,
        more=more,
        note=note,
        t=reader,
    )


def following_slot(chat: ChatSettings, now: datetime) -> datetime | None:
    return next_digest_at(chat.frequency, chat.digest_time, chat.timezone, chat.weekday, now)


async def digest_round(services: Services, now: datetime) -> RoundReport:
    """Queue the digest of every chat that is due at `now`. Serialised by the round lock."""
    async with services.round_lock:
        due = await services.store.due_chats(now)
        if not due:
            return RoundReport(0, 0, 0, 0)
        candidates = Candidates(services, now)
        queued = empty = conflicts = 0
        for batch in round_batches(due):
            counts = await _queue_batch(services, batch, candidates, now)
            queued, empty, conflicts = queued + counts[0], empty + counts[1], conflicts + counts[2]
            services.wake_delivery.set()  # send what is queued while the next batch is built
            if services.stopping.is_set():
                logger.info("digest round stopped for shutdown; the rest stay due")
                break
            await asyncio.sleep(0)  # let command handlers in between batches
        candidates.forget_other_texts()
        report = RoundReport(len(due), queued, empty, conflicts)
        logger.info("digest round: %s", report)
        return report


def round_batches(due: Sequence[ChatSettings]) -> list[Sequence[ChatSettings]]:
    """The due chats in batches: a small first one, then ROUND_BATCH at a time."""
    batches = [due[:FIRST_BATCH]] if due else []
    batches += [due[i : i + ROUND_BATCH] for i in range(FIRST_BATCH, len(due), ROUND_BATCH)]
    return batches


@dataclass(frozen=True)
class ChatPlan:
    """What one due chat gets this round: articles and rendered messages, or nothing."""

    chat: ChatSettings
    article_ids: tuple[str, ...]
    messages: tuple[str, ...]
    following: datetime | None


async def plan_chats(
    services: Services,
    chats: Sequence[ChatSettings],
    subscriptions: dict[int, list[Subscription]],
    candidates: Candidates,
    now: datetime,
) -> list[ChatPlan]:
    """Choose each chat's articles (per subscription, not yet given) and render its digest."""
    chat_ids = [chat.chat_id for chat in chats]
    matches = await candidates.matches_for(s for subs in subscriptions.values() for s in subs)
    delivered = await services.store.delivered_in_window(chat_ids, candidates.since)
    limit = services.settings.bot.digest_max_articles
    chosen = {
        chat_id: choose_articles(
            subscriptions.get(chat_id, []), matches, candidates.rank, delivered[chat_id], limit
        )
        for chat_id in chat_ids
    }
    more = {
        chat_id: count_more(
            subscriptions.get(chat_id, []), matches, delivered[chat_id], chosen[chat_id]
        )
        for chat_id in chat_ids
    }
    stored = await candidates.articles(i for ids in chosen.values() for i in ids)
    # Rendering thousands of digests is seconds of CPU: keep it off the event loop.
    return await asyncio.to_thread(
        render_plans, services, chats, subscriptions, chosen, stored, now, more
    )


def render_plans(
    services: Services,
    chats: Sequence[ChatSettings],
    subscriptions: dict[int, list[Subscription]],
    chosen: dict[int, list[str]],
    stored: dict[str, StoredArticle],
    now: datetime,
    more: dict[int, int] | None = None,
) -> list[ChatPlan]:
    """Pure CPU work: chats that get the same digest (same articles, bullet count,
    subscriptions, zone, language, count left over) share one rendering."""
    more = more or {}
    rendered: dict[tuple[object, ...], list[str]] = {}
    plans = []
    for chat in chats:
        subs = subscriptions.get(chat.chat_id, [])
        articles = [stored[i] for i in chosen[chat.chat_id] if i in stored]
        left = more.get(chat.chat_id, 0)
        key = (
            tuple(a.article.id for a in articles),
            chat.bullets,
            chat.timezone,
            chat.language,
            tuple(subs),
            left,
        )
        if articles and key not in rendered:
            rendered[key] = digest_messages(services, chat, articles, subs, now, more=left)
        plans.append(
            ChatPlan(
                chat,
                tuple(a.article.id for a in articles),
                tuple(rendered.get(key, [])) if articles else (),
                following_slot(chat, now),
            )
        )
    return plans


async def _queue_batch(
    services: Services, chats: Sequence[ChatSettings], candidates: Candidates, now: datetime
) -> tuple[int, int, int]:
    store = services.store
    subscriptions = await store.subscriptions_for([chat.chat_id for chat in chats])
    plans = await plan_chats(services, chats, subscriptions, candidates, now)
    # One transaction for the batch; each chat is still recorded all or nothing.
    recorded = await store.enqueue_digests(
        [
            QueuedDigest(
                plan.chat.chat_id,
                plan.article_ids,
                plan.messages,
                plan.chat.link_preview,
                plan.following,
            )
            for plan in plans
        ],
        now,
    )
    empty = sum(1 for plan in plans if not plan.article_ids)
    queued = sum(1 for digest_id in recorded.values() if digest_id is not None)
    # A conflict: another round or /digest took these articles; the next round retries.
    return queued, empty, len(plans) - queued - empty


async def send_now(
    bot: Bot,
    store: AsyncStore,
    chat: ChatSettings,
    article_ids: Sequence[str],
    messages: Sequence[str],
    now: datetime,
) -> bool:
    """Record an on-demand digest in the outbox, then send it at once as a command reply.

    Recording first keeps the at-most-once rule; if sending fails here, the messages stay
    pending and the background sender delivers them after the grace period.
    """
    digest_id = await store.enqueue_digest(
        chat.chat_id,
        article_ids,
        messages,
        chat.link_preview,
        now,
        chat.next_digest_at,
        not_before=now + DIRECT_SEND_GRACE,
        keep_schedule=True,  # `chat` was read before; a round may have moved its due time
    )
    if digest_id is None:
        return False
    preview = LinkPreviewOptions(is_disabled=not chat.link_preview)
    for message in await store.digest_messages(digest_id):
        try:
            sent = await bot.send_message(
                chat.chat_id, message.text, parse_mode=ParseMode.HTML, link_preview_options=preview
            )
        except TelegramError as error:
            logger.warning(
                "on-demand digest for chat %s left to the sender: %s", chat.chat_id, error
            )
            await store.mark_retry(message.id, now, str(error))
            return True
        await store.mark_sent(message.id, sent.message_id, sent.date)
    return True
