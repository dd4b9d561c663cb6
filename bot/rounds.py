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

from bot.render import DigestEntry, render_digest
from bot.schedule import next_digest_at
from bot.selection import articles_for_chat, topics_of
from bot.services import Services
from bot.store import AsyncStore, ChatSettings, StoredArticle, Subscription

logger = logging.getLogger(__name__)

ROUND_BATCH = 500
CANDIDATE_LIMIT = 1000
# An on-demand digest is sent by its handler; the background sender leaves it alone this long.
DIRECT_SEND_GRACE = timedelta(minutes=2)


@dataclass(frozen=True)
class RoundReport:
    due: int
    queued: int
    empty: int
    conflicts: int


def digest_messages(
    services: Services,
    chat: ChatSettings,
    chosen: Sequence[StoredArticle],
    subscriptions: Sequence[Subscription],
    now: datetime,
    *,
    title: str | None = None,
) -> list[str]:
    """The chat's digest of `chosen`, in the chat's language ("Your digest" unless `title`)."""
    reader = services.catalogs.get(chat.language)
    titles = [t.title for name in topics_of(subscriptions) if (t := services.topic(name))]
    return render_digest(
        [DigestEntry(stored.article, stored.digest) for stored in chosen],
        title=reader.gettext("Your digest") if title is None else title,
        when=now.astimezone(ZoneInfo(chat.timezone)),
        topics=titles,
        bullets=chat.bullets,
        t=reader,
    )


def following_slot(chat: ChatSettings, now: datetime) -> datetime | None:
    return next_digest_at(chat.frequency, chat.digest_time, chat.timezone, chat.weekday, now)


async def candidate_pool(services: Services, now: datetime) -> list[StoredArticle]:
    """The articles a digest may draw from: the newest within the look-back window."""
    since = now - timedelta(days=services.settings.bot.lookback_days)
    return await services.store.recent_articles(since, CANDIDATE_LIMIT)


async def digest_round(services: Services, now: datetime) -> RoundReport:
    """Queue the digest of every chat that is due at `now`. Serialised by the round lock."""
    async with services.round_lock:
        due = await services.store.due_chats(now)
        if not due:
            return RoundReport(0, 0, 0, 0)
        pool = await candidate_pool(services, now)
        services.texts.forget_except({stored.article.id for stored in pool})
        queued = empty = conflicts = 0
        for start in range(0, len(due), ROUND_BATCH):
            counts = await _queue_batch(services, due[start : start + ROUND_BATCH], pool, now)
            queued, empty, conflicts = queued + counts[0], empty + counts[1], conflicts + counts[2]
            await asyncio.sleep(0)  # let command handlers in between batches
        services.wake_delivery.set()
        report = RoundReport(len(due), queued, empty, conflicts)
        logger.info("digest round: %s", report)
        return report


@dataclass(frozen=True)
class ChatPlan:
    """What one due chat gets this round: articles and rendered messages, or nothing."""

    chat: ChatSettings
    article_ids: tuple[str, ...]
    messages: tuple[str, ...]
    following: datetime | None


def plan_batch(
    services: Services,
    chats: Sequence[ChatSettings],
    subscriptions: dict[int, list[Subscription]],
    delivered: dict[int, set[str]],
    pool: Sequence[StoredArticle],
    now: datetime,
) -> list[ChatPlan]:
    """Matching and rendering for a batch of chats: pure CPU work, run in a worker thread."""
    plans = []
    for chat in chats:
        subs = subscriptions.get(chat.chat_id, [])
        chosen = articles_for_chat(
            subs,
            pool,
            delivered.get(chat.chat_id, set()),
            services.texts,
            services.settings.bot.digest_max_articles,
        )
        messages = digest_messages(services, chat, chosen, subs, now) if chosen else []
        plans.append(
            ChatPlan(
                chat,
                tuple(stored.article.id for stored in chosen),
                tuple(messages),
                following_slot(chat, now),
            )
        )
    return plans


async def _queue_batch(
    services: Services, chats: Sequence[ChatSettings], pool: Sequence[StoredArticle], now: datetime
) -> tuple[int, int, int]:
    store = services.store
    chat_ids = [chat.chat_id for chat in chats]
    subscriptions = await store.subscriptions_for(chat_ids)
    delivered = await store.delivered_article_ids(chat_ids, [s.article.id for s in pool])
    # Rendering thousands of digests is seconds of CPU: keep it off the event loop.
    plans = await asyncio.to_thread(
        plan_batch, services, chats, subscriptions, delivered, pool, now
    )
    queued = empty = conflicts = 0
    for plan in plans:
        if not plan.article_ids:
            await store.advance_schedule(plan.chat.chat_id, plan.following, now)
            empty += 1
            continue
        digest_id = await store.enqueue_digest(
            plan.chat.chat_id,
            plan.article_ids,
            plan.messages,
            plan.chat.link_preview,
            now,
            plan.following,
        )
        if digest_id is None:
            conflicts += 1  # another round or /digest took these articles; next round retries
        else:
            queued += 1
    return queued, empty, conflicts


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
