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
from datetime import datetime, time, timedelta
from functools import lru_cache

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.candidates import Candidates
from bot.i18n import Translator
from bot.render import DigestEntry, OwnSource, render_digest, render_entry, short_source
from bot.schedule import next_digest_at, zone_of
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
    return DigestRenderer(services).messages(
        chat, chosen, subscriptions, now, title=title, more=more, note=note
    )


# A round keeps at most this many rendered article blocks (a bound on its memory, far above
# what chats in every zone and bullet count seeing a window of articles need).
MAX_CACHED_BLOCKS = 50_000


class DigestRenderer:
    """Renders the digests of one round (or of one /digest); what chats share is made once.

    Pure CPU work, no I/O. Within a round an article is the same for every chat, so:
    - which of a chat's subscriptions brought it (its labels, topic titles in the reader's
      language) is found once per (article, subscriptions, language);
    - its HTML block, once per (article, labels, bullet count, time zone, language): chats in
      one zone and language get the identical block, a chat in another zone its own times;
    - the dates, once per (moment, language) (see `format_reader_day` and
      `format_reader_moment`).
    """

    def __init__(self, services: Services, *, max_blocks: int = MAX_CACHED_BLOCKS) -> None:
        self._services = services
        self._max_blocks = max_blocks
        self._entries: dict[tuple[object, ...], DigestEntry] = {}
        self._blocks: dict[tuple[object, ...], str] = {}
        self._sources: dict[str, str | None] = {}

    def entry(
        self,
        stored: StoredArticle,
        subscriptions: Sequence[Subscription],
        reader: Translator | None = None,
    ) -> DigestEntry:
        """The article with what brought it (topic titles in the reader's language, keywords,
        the chat's own sources, among `subscriptions`) and its source's name (configured, or
        the title of the chat's own source); made once per round."""
        language = reader.language if reader else None
        key = (stored.article.id, tuple(subscriptions), language)
        entry = self._entries.get(key)
        if entry is None or entry.article is not stored.article:
            entry = self._entry(stored, subscriptions, language)
            if len(self._entries) >= self._max_blocks:
                self._entries.clear()
            self._entries[key] = entry
        return entry

    def _entry(
        self, stored: StoredArticle, subscriptions: Sequence[Subscription], language: str | None
    ) -> DigestEntry:
        services = self._services
        topics, keywords, own = [], [], []
        for sub in matched_by(subscriptions, stored, services.texts):
            if sub.kind == TOPIC:
                topic = services.topic(sub.value)
                topics.append(topic.title_in(language) if topic else sub.value)
            elif sub.kind == SOURCE:
                url, only = source_parts(sub.value)
                own.append(OwnSource(sub.title or short_source(url), only))
            else:
                keywords.append(sub.value)
        source = stored.article.source
        if source not in self._sources:
            self._sources[source] = source_name(source, services.settings.app.sources)
        name = self._sources[source]
        if name is None:  # a chat's own source: the title it was followed by
            name = next(
                (
                    sub.title
                    for sub in subscriptions
                    if sub.kind == SOURCE and sub.title and source_parts(sub.value)[0] == source
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

    def block(
        self, entry: DigestEntry, bullets: int | None, timezone: str, reader: Translator
    ) -> str:
        """`render_entry(entry, bullets=bullets, tz=zone_of(timezone), t=reader)`, made once
        per round."""
        key = (
            entry.article.id,
            entry.topics,
            entry.keywords,
            entry.sources,
            entry.source_name,
            bullets,
            timezone,
            reader.language,
        )
        block = self._blocks.get(key)
        if block is None:
            block = render_entry(entry, bullets=bullets, tz=zone_of(timezone), t=reader)
            if len(self._blocks) >= self._max_blocks:
                self._blocks.clear()
            self._blocks[key] = block
        return block

    def messages(
        self,
        chat: ChatSettings,
        chosen: Sequence[StoredArticle],
        subscriptions: Sequence[Subscription],
        now: datetime,
        *,
        title: str | None = None,
        more: int = 0,
        note: str = "",
    ) -> list[str]:
        """The chat's digest of `chosen`, in the chat's language ("Your digest", in a group
        "Digest", unless `title`)."""
        reader = self._services.catalogs.get(chat.language)
        if title is None:
            private = chat.chat_type == "private"
            title = reader.gettext("Your digest") if private else reader.gettext("Digest")
        zone = zone_of(chat.timezone)
        entries = [self.entry(stored, subscriptions, reader) for stored in chosen]
        return render_digest(
            entries,
            title=title,
            when=now.astimezone(zone),
            bullets=chat.bullets,
            tz=zone,
            more=more,
            note=note,
            t=reader,
            blocks=[self.block(entry, chat.bullets, chat.timezone, reader) for entry in entries],
        )


@lru_cache(maxsize=4096)
def _next_slot(
    frequency: str, at: time, timezone: str, weekday: int, now: datetime
) -> datetime | None:
    # Chats due together mostly share a schedule: one computation serves them all.
    return next_digest_at(frequency, at, timezone, weekday, now)


def following_slot(chat: ChatSettings, now: datetime) -> datetime | None:
    return _next_slot(chat.frequency, chat.digest_time, chat.timezone, chat.weekday, now)


async def digest_round(services: Services, now: datetime) -> RoundReport:
    """Queue the digest of every chat that is due at `now`. Serialised by the round lock."""
    async with services.round_lock:
        due = await services.store.due_chats(now)
        if not due:
            return RoundReport(0, 0, 0, 0)
        candidates = Candidates(services, now)
        queued, empty, conflicts = await _queue_round(services, due, candidates, now)
        report = RoundReport(len(due), queued, empty, conflicts)
        logger.info("digest round: %s", report)
        return report


async def _queue_round(
    services: Services, due: Sequence[ChatSettings], candidates: Candidates, now: datetime
) -> tuple[int, int, int]:
    """Plan and record the round batch by batch; (queued, empty, conflicts).

    The next batch is planned (read and rendered) while the one before is being recorded: the
    database writes one batch while the bot's CPU renders the next. Batches hold different
    chats, and each is recorded in its own transaction as before.
    """
    totals = (0, 0, 0)
    renderer = DigestRenderer(services)
    recording: asyncio.Task[tuple[int, int, int]] | None = None
    try:
        for batch in round_batches(due):
            plans = await _plan_batch(services, batch, candidates, renderer, now)
            if recording is not None:
                totals = _add(totals, await recording)
                recording = None
                if services.stopping.is_set():
                    logger.info("digest round stopped for shutdown; the rest stay due")
                    return totals
            recording = asyncio.create_task(_record_batch(services, plans, now))
            await asyncio.sleep(0)  # let command handlers in between batches
        if recording is not None:
            totals = _add(totals, await recording)
            recording = None
        return totals
    finally:
        if recording is not None and not recording.done():
            # Planning failed while a batch was being recorded: that batch's transaction ends
            # on its own (all or nothing); wait for it, so the round ends after its writes.
            await asyncio.wait([recording])
            if not recording.cancelled() and (error := recording.exception()) is not None:
                logger.warning("digest round: recording a batch failed too: %s", error)


def _add(totals: tuple[int, int, int], counts: tuple[int, int, int]) -> tuple[int, int, int]:
    return (totals[0] + counts[0], totals[1] + counts[1], totals[2] + counts[2])


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
    renderer: DigestRenderer | None = None,
) -> list[ChatPlan]:
    """Choose each chat's articles (per subscription, not yet given) and render its digest
    (with `renderer`, a round's, so that what its chats share is rendered once)."""
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
            subscriptions.get(chat_id, []),
            matches,
            delivered[chat_id],
            chosen[chat_id],
            unions=candidates.unions,
        )
        for chat_id in chat_ids
    }
    stored = await candidates.articles(i for ids in chosen.values() for i in ids)
    # Rendering thousands of digests is seconds of CPU: keep it off the event loop.
    renderer = renderer or DigestRenderer(services)
    return await asyncio.to_thread(
        render_plans, renderer, chats, subscriptions, chosen, stored, now, more
    )


def render_plans(
    renderer: DigestRenderer,
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
            rendered[key] = renderer.messages(chat, articles, subs, now, more=left)
        plans.append(
            ChatPlan(
                chat,
                tuple(a.article.id for a in articles),
                tuple(rendered.get(key, [])) if articles else (),
                following_slot(chat, now),
            )
        )
    return plans


async def _plan_batch(
    services: Services,
    chats: Sequence[ChatSettings],
    candidates: Candidates,
    renderer: DigestRenderer,
    now: datetime,
) -> list[ChatPlan]:
    subscriptions = await services.store.subscriptions_for([chat.chat_id for chat in chats])
    return await plan_chats(services, chats, subscriptions, candidates, now, renderer)


async def _record_batch(
    services: Services, plans: Sequence[ChatPlan], now: datetime
) -> tuple[int, int, int]:
    """Record a planned batch; (queued, empty, conflicts)."""
    # One transaction for the batch; each chat is still recorded all or nothing.
    recorded = await services.store.enqueue_digests(
        [
            QueuedDigest(
                plan.chat.chat_id,
                plan.article_ids,
                plan.messages,
                plan.chat.link_preview,
                plan.following,
                read_due_at=plan.chat.next_digest_at,
            )
            for plan in plans
        ],
        now,
    )
    services.wake_delivery.set()  # send what is queued while the next batch is recorded
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
