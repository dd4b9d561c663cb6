"""Digests on demand: /digest [topic or keywords] and one command per topic (/quantum, ...)."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Sequence
from functools import partial

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import CommandHandler, ContextTypes

from bot.candidates import Candidates
from bot.handlers.common import (
    argument_text,
    ensure_chat,
    is_group_admin,
    is_private,
    reply,
    reply_usage,
    services_of,
    translator,
)
from bot.handlers.subscriptions import resolve_subscription
from bot.i18n import Translator, topic_title
from bot.parsing import UsageError
from bot.render import escape
from bot.rounds import digest_messages, plan_chats, send_now
from bot.selection import KEYWORDS, TOPIC
from bot.services import Services
from bot.store import ChatSettings, StoredArticle, Subscription
from summaries.models import Topic

logger = logging.getLogger(__name__)
TOPIC_COMMAND_ARTICLES = 5


async def digest_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    chat = await ensure_chat(update, services)
    t = translator(services, update, chat)
    asked = argument_text(context)
    if asked:
        try:
            subscriptions = [resolve_subscription(services, asked)]
        except UsageError as error:
            await reply_usage(update, t, error)
            return
    else:
        subscriptions = await services.store.list_subscriptions(chat.chat_id)
        if not subscriptions:
            text = (
                t.gettext(
                    "You follow nothing yet. Pick topics with /topics, or try "
                    "/digest quantum for one topic now."
                )
                if is_private(update)
                else t.gettext(
                    "This group follows nothing yet; an administrator can /subscribe to "
                    "topics or keywords."
                )
            )
            await reply(update, escape(text))
            return
    # In a group, a member who is not an admin reads without using up the group's digest.
    record = is_private(update) or await is_group_admin(update, context)
    sent = await send_unsent_digest(services, chat, subscriptions, context, record=record)
    if sent:
        return
    if subscriptions[0].kind == KEYWORDS and asked:
        await reply(update, no_such_topic(services, asked, t))
    else:
        text = (
            t.gettext("Nothing new for you right now. /search finds older articles.")
            if is_private(update)
            else t.gettext("Nothing new for this group right now. /search finds older articles.")
        )
        await reply(update, escape(text))


def no_such_topic(services: Services, asked: str, t: Translator) -> str:
    """'/digest nosuch' found no topic and no new article with that word: say so, and
    suggest the closest topic."""
    names = {name: name for name in services.topic_commands}
    for command, topic in services.topic_commands.items():
        names[topic.title.casefold()] = command
        names[topic_title(topic, t).casefold()] = command
    close = difflib.get_close_matches(asked.casefold(), list(names), n=1, cutoff=0.6)
    shown = asked[:40]
    if close:
        text = t.gettext(
            "There is no topic “{asked}”, and no new article mentions it. Did you mean /{command}?"
        ).format(asked=shown, command=names[close[0]])
    else:
        text = t.gettext(
            "There is no topic “{asked}”, and no new article mentions it. /topics lists them all."
        ).format(asked=shown)
    return escape(text)


async def send_unsent_digest(
    services: Services,
    chat: ChatSettings,
    subscriptions: Sequence[Subscription],
    context: ContextTypes.DEFAULT_TYPE,
    *,
    record: bool = True,
) -> bool:
    """The articles matching `subscriptions` this chat has not had, sent now; False if none.

    Recorded first (the chat will not get them again) unless `record` is False: then they are
    only shown, and the chat's scheduled digest still brings them.
    """
    now = services.clock()
    wanted = {chat.chat_id: list(subscriptions)}
    [plan] = await plan_chats(services, [chat], wanted, Candidates(services, now), now)
    if not plan.article_ids:
        return False
    if record:
        await send_now(context.bot, services.store, chat, plan.article_ids, plan.messages, now)
        return True
    preview = LinkPreviewOptions(is_disabled=not chat.link_preview)
    for text in plan.messages:
        await context.bot.send_message(
            chat.chat_id, text, parse_mode=ParseMode.HTML, link_preview_options=preview
        )
    return True


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
    latest = newest_published([found[article_id] for article_id in ids if article_id in found])
    if not latest:
        days = services.settings.bot.lookback_days
        text = t.ngettext(
            "No {topic} articles in the last {days} day.",
            "No {topic} articles in the last {days} days.",
            days,
        )
        await reply(update, escape(text.format(topic=topic_title(topic, t), days=days)))
        return
    messages = digest_messages(
        services,
        chat,
        latest,
        [],  # every article is this topic's: no tag needed
        services.clock(),
        title=t.gettext("Latest: {topic}").format(topic=topic_title(topic, t)),
        note=t.gettext("Newest first, by publication time."),
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
