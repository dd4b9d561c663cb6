"""Following topics and keywords: /topics, /subscribe, /unsubscribe, /list and topic buttons."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CommandHandler, ContextTypes

from bot import callbacks
from bot.handlers.common import (
    argument_text,
    ensure_chat,
    may_change_chat,
    next_digest_text,
    reply,
    reply_usage,
    schedule_text,
    services_of,
)
from bot.parsing import UsageError, check_argument_text
from bot.rounds import following_slot
from bot.selection import KEYWORDS, TOPIC
from bot.services import Services
from bot.store import Subscription
from summaries.matching import KeywordQuery, QueryError

TOGGLE = "tog"
MAX_SUBSCRIPTIONS = 50
SUBSCRIBE_EXAMPLE = (
    'For example: /subscribe quantum (a topic), /subscribe "satellite internet" (a phrase) or '
    "/subscribe drug approval (articles with both words)."
)


def resolve_subscription(services: Services, text: str) -> Subscription:
    """A topic when `text` names one (or its command), else free keywords."""
    text = check_argument_text(text, what="topic or keywords")
    topic = services.topic(text) or services.topic_commands.get(text.casefold().lstrip("/"))
    if topic is not None:
        return Subscription(TOPIC, topic.name)
    try:
        query = KeywordQuery.parse(text)
    except QueryError as error:
        raise UsageError(f"Cannot follow “{text}”: {error}. {SUBSCRIBE_EXAMPLE}") from None
    return Subscription(KEYWORDS, query.text)


def describe(services: Services, subscription: Subscription) -> str:
    if subscription.kind == TOPIC:
        topic = services.topic(subscription.value)
        return f"topic <b>{escape(topic.title if topic else subscription.value)}</b>"
    return f"keywords <b>{escape(subscription.value)}</b>"


async def topic_counts(services: Services) -> Counter[str]:
    since = services.clock() - timedelta(days=services.settings.bot.lookback_days)
    recent = await services.store.recent_articles(since, 2000)
    return Counter(topic for stored in recent for topic in stored.digest.topics)


async def topics_keyboard(services: Services, chat_id: int) -> InlineKeyboardMarkup:
    followed = {
        sub.value for sub in await services.store.list_subscriptions(chat_id) if sub.kind == TOPIC
    }
    rows = []
    for topic in services.topics:
        mark = "✅" if topic.name in followed else "➕"
        data = callbacks.encode(TOGGLE, chat_id, topic.name, key=services.callback_key)
        rows.append([InlineKeyboardButton(f"{mark} {topic.title}", callback_data=data)])
    return InlineKeyboardMarkup(rows)


async def topics_text(services: Services) -> str:
    counts = await topic_counts(services)
    days = services.settings.bot.lookback_days
    lines = ["<b>Topics</b> (tap to follow or unfollow)", ""]
    for topic in services.topics:
        count = counts.get(topic.name, 0)
        lines.append(
            f"• <b>{escape(topic.title)}</b> /{escape(topic.name)} — {escape(topic.description)}"
            f" ({count} article{'s' if count != 1 else ''} in {days} days)"
        )
    return "\n".join(lines)


async def topics_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    chat = await ensure_chat(update, services)
    keyboard = await topics_keyboard(services, chat.chat_id)
    await reply(update, await topics_text(services), keyboard=keyboard)


async def toggle_topic(
    update: Update, context: ContextTypes.DEFAULT_TYPE, button: callbacks.Callback
) -> None:
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None and chat is not None
    services = services_of(context)
    topic = services.topic(button.args[0]) if len(button.args) == 1 else None
    if topic is None:
        await query.answer("This button is out of date. Send /topics for a fresh list.")
        return
    if not await may_change_chat(update, context):
        return
    await ensure_chat(update, services)
    subscription = Subscription(TOPIC, topic.name)
    if await services.store.remove_subscription(chat.id, subscription):
        note = f"Unsubscribed from {topic.title}."
    else:
        await follow(services, chat.id, subscription)
        note = f"Subscribed to {topic.title}."
    await query.answer(note)
    keyboard = await topics_keyboard(services, chat.id)
    try:
        await query.edit_message_reply_markup(keyboard)
    except BadRequest as error:  # "message is not modified" after a double tap
        if "not modified" not in str(error).lower():
            raise


async def subscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    chat = await ensure_chat(update, services)
    if not context.args:
        keyboard = await topics_keyboard(services, chat.chat_id)
        await reply(
            update, "Tap a topic to follow it. " + escape(SUBSCRIBE_EXAMPLE), keyboard=keyboard
        )
        return
    if not await may_change_chat(update, context):
        return
    try:
        subscription = resolve_subscription(services, argument_text(context))
    except UsageError as error:
        await reply_usage(update, str(error))
        return
    await reply(update, await subscribe(services, chat.chat_id, subscription))


async def follow(services: Services, chat_id: int, subscription: Subscription) -> None:
    """Adds the subscription; a chat that followed nothing gets its next slot, not a backlog."""
    await services.store.add_subscription(chat_id, subscription)
    chat = await services.store.get_chat(chat_id)
    now = services.clock()
    if chat is not None and chat.next_digest_at is not None and chat.next_digest_at <= now:
        # Rounds skip chats without subscriptions, so their due time may lie in the past.
        await services.store.update_chat(chat_id, next_digest_at=following_slot(chat, now))


async def subscribe(services: Services, chat_id: int, subscription: Subscription) -> str:
    """Adds the subscription and says what happened, in HTML."""
    existing = await services.store.list_subscriptions(chat_id)
    if subscription in existing:
        return f"You already follow {describe(services, subscription)}."
    if len(existing) >= MAX_SUBSCRIPTIONS:
        return f"You follow {MAX_SUBSCRIPTIONS} things already; /unsubscribe some first."
    await follow(services, chat_id, subscription)
    return (
        f"Subscribed to {describe(services, subscription)}. "
        "New matching articles come in your next digest; /digest shows them now."
    )


async def unsubscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    chat = await ensure_chat(update, services)
    if not context.args:
        await reply(
            update, "Say what to stop following: /unsubscribe quantum, or /unsubscribe all."
        )
        return
    if not await may_change_chat(update, context):
        return
    text = argument_text(context)
    if text.strip().casefold() == "all":
        removed = await services.store.clear_subscriptions(chat.chat_id)
        await reply(update, f"Unsubscribed from everything ({removed} subscriptions).")
        return
    try:
        subscription = resolve_subscription(services, text)
    except UsageError as error:
        await reply_usage(update, str(error))
        return
    if await services.store.remove_subscription(chat.chat_id, subscription):
        await reply(update, f"Unsubscribed from {describe(services, subscription)}.")
    else:
        await reply(
            update,
            f"You do not follow {describe(services, subscription)}. /list shows what you do.",
        )


async def list_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    chat = await ensure_chat(update, services)
    subscriptions = await services.store.list_subscriptions(chat.chat_id)
    lines = ["<b>You follow</b>"]
    lines += [f"• {describe(services, sub)}" for sub in subscriptions] or [
        "nothing yet — /topics to choose, or /subscribe keywords"
    ]
    lines += [
        "",
        f"<b>Schedule</b>: {escape(schedule_text(chat))}",
        escape(next_digest_text(chat, services.clock())),
    ]
    lines.append(
        f"{chat.bullets} bullets per article; "
        f"link previews {'on' if chat.link_preview else 'off'}."
    )
    await reply(update, "\n".join(lines))


HANDLERS = [
    CommandHandler("topics", topics_command),
    CommandHandler("subscribe", subscribe_command),
    CommandHandler("unsubscribe", unsubscribe_command),
    CommandHandler("list", list_command),
]
BUTTONS = {TOGGLE: toggle_topic}
