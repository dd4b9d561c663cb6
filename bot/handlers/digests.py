"""Digests on demand: /digest [topic or keywords] and one command per topic (/quantum, ...)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from html import escape

from telegram import Update
from telegram.ext import CommandHandler, ContextTypes

from bot.handlers.common import (
    argument_text,
    ensure_chat,
    reply,
    reply_usage,
    services_of,
)
from bot.handlers.subscriptions import resolve_subscription
from bot.parsing import UsageError
from bot.rounds import candidate_pool, digest_messages, plan_batch, send_now
from bot.services import Services
from bot.store import ChatSettings, StoredArticle, Subscription
from summaries.models import Topic

logger = logging.getLogger(__name__)
TOPIC_COMMAND_ARTICLES = 5


async def digest_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    chat = await ensure_chat(update, services)
    if context.args:
        try:
            subscriptions = [resolve_subscription(services, argument_text(context))]
        except UsageError as error:
            await reply_usage(update, str(error))
            return
    else:
        subscriptions = await services.store.list_subscriptions(chat.chat_id)
        if not subscriptions:
            await reply(
                update,
                "You follow nothing yet. Pick topics with /topics, or try "
                "/digest quantum for one topic now.",
            )
            return
    await send_unsent_digest(services, chat, subscriptions, context)


async def send_unsent_digest(
    services: Services,
    chat: ChatSettings,
    subscriptions: Sequence[Subscription],
    context: ContextTypes.DEFAULT_TYPE,
) -> None:
    """The articles matching `subscriptions` this chat has not had, recorded then sent now."""
    now = services.clock()
    pool = await candidate_pool(services, now)
    delivered = await services.store.delivered_article_ids(
        [chat.chat_id], [stored.article.id for stored in pool]
    )
    wanted = {chat.chat_id: list(subscriptions)}
    [plan] = plan_batch(services, [chat], wanted, delivered, pool, now)
    if not plan.article_ids:
        await context.bot.send_message(
            chat.chat_id, "Nothing new for you right now. /search finds older articles."
        )
        return
    await send_now(context.bot, services.store, chat, plan.article_ids, plan.messages, now)


async def topic_command(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, topic: Topic
) -> None:
    """The latest articles of one topic, whether or not this chat has seen them."""
    services = services_of(context)
    chat = await ensure_chat(update, services)
    pool = await candidate_pool(services, services.clock())
    latest = newest_published([stored for stored in pool if topic.name in stored.digest.topics])
    if not latest:
        await reply(
            update,
            f"No {escape(topic.title)} articles in the last "
            f"{services.settings.bot.lookback_days} days.",
        )
        return
    messages = digest_messages(
        services,
        chat,
        latest[:TOPIC_COMMAND_ARTICLES],
        [],  # every article is this topic's: no tag needed
        services.clock(),
        title=f"Latest: {topic.title}",
        note="Newest first, by publication time.",
    )
    for text in messages:
        await reply(update, text, link_preview=chat.link_preview)


def newest_published(articles: Sequence[StoredArticle]) -> list[StoredArticle]:
    """Newest publication first; articles without a date go last, newest fetched first."""
    dated = sorted(
        (stored for stored in articles if stored.article.published is not None),
        key=lambda stored: stored.article.published or stored.fetched_at,
        reverse=True,
    )
    undated = [stored for stored in articles if stored.article.published is None]
    return dated + undated


def topic_handlers(commands: dict[str, Topic]) -> list[CommandHandler]:
    return [
        CommandHandler(name, partial(topic_command, topic=topic))
        for name, topic in commands.items()
    ]


HANDLERS = [CommandHandler("digest", digest_command)]
