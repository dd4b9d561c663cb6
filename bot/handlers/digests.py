"""Digests on demand: /digest [topic or keywords] and one command per topic (/quantum, ...)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial

from telegram import Update
from telegram.ext import CommandHandler, ContextTypes

from bot.candidates import Candidates
from bot.handlers.common import (
    argument_text,
    ensure_chat,
    reply,
    reply_usage,
    services_of,
    translator,
)
from bot.handlers.subscriptions import resolve_subscription
from bot.parsing import UsageError
from bot.render import escape
from bot.rounds import digest_messages, plan_chats, send_now
from bot.selection import TOPIC
from bot.services import Services
from bot.store import ChatSettings, Subscription
from summaries.models import Topic

logger = logging.getLogger(__name__)
TOPIC_COMMAND_ARTICLES = 5


async def digest_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    chat = await ensure_chat(update, services)
    t = translator(services, update, chat)
    if context.args:
        try:
            subscriptions = [resolve_subscription(services, argument_text(context))]
        except UsageError as error:
            await reply_usage(update, t, error)
            return
    else:
        subscriptions = await services.store.list_subscriptions(chat.chat_id)
        if not subscriptions:
            text = t.gettext(
                "You follow nothing yet. Pick topics with /topics, or try "
                "/digest quantum for one topic now."
            )
            await reply(update, escape(text))
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
    wanted = {chat.chat_id: list(subscriptions)}
    [plan] = await plan_chats(services, [chat], wanted, Candidates(services, now), now)
    if not plan.article_ids:
        t = services.catalogs.pick(chat.language, None)
        await context.bot.send_message(
            chat.chat_id, t.gettext("Nothing new for you right now. /search finds older articles.")
        )
        return
    await send_now(context.bot, services.store, chat, plan.article_ids, plan.messages, now)


async def topic_command(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, topic: Topic
) -> None:
    """The latest articles of one topic, whether or not this chat has seen them."""
    services = services_of(context)
    chat = await ensure_chat(update, services)
    t = translator(services, update, chat)
    candidates = Candidates(services, services.clock())
    subscription = Subscription(TOPIC, topic.name)
    ids = (await candidates.matches_for([subscription]))[subscription][:TOPIC_COMMAND_ARTICLES]
    found = await candidates.articles(ids)
    latest = [found[article_id] for article_id in ids if article_id in found]
    if not latest:
        days = services.settings.bot.lookback_days
        text = t.ngettext(
            "No {topic} articles in the last {days} day.",
            "No {topic} articles in the last {days} days.",
            days,
        )
        await reply(update, escape(text.format(topic=topic.title, days=days)))
        return
    messages = digest_messages(
        services,
        chat,
        latest,
        [subscription],
        services.clock(),
        title=t.gettext("Latest: {topic}").format(topic=topic.title),
    )
    for text in messages:
        await reply(update, text, link_preview=chat.link_preview)


def topic_handlers(commands: dict[str, Topic]) -> list[CommandHandler]:
    return [
        CommandHandler(name, partial(topic_command, topic=topic))
        for name, topic in commands.items()
    ]


HANDLERS = [CommandHandler("digest", digest_command)]
