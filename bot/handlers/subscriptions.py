"""Following topics and keywords: /topics, /subscribe, /unsubscribe, /list and topic buttons."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import timedelta
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CommandHandler, ContextTypes

from bot import callbacks
from bot.handlers.common import (
    NO_PREVIEW,
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
from bot.render import truncate_text
from bot.rounds import following_slot
from bot.selection import KEYWORDS, TOPIC
from bot.services import Services
from bot.store import ChatSettings, Subscription
from summaries.matching import KeywordQuery, QueryError, stem
from summaries.ranking import ENGLISH_FUNCTION_WORDS

TOGGLE = "tog"
REMOVE = "rm"
# Keywords made only of these would match nearly every English article.
_COMMON_STEMS = frozenset(stem(word) for word in ENGLISH_FUNCTION_WORDS)
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
    if all(len(term) == 1 and term[0] in _COMMON_STEMS for term in query.terms):
        raise UsageError(
            f"“{text}” has only common words that almost every article contains. "
            f"Follow something more specific (a quoted phrase keeps them). {SUBSCRIBE_EXAMPLE}"
        )
    return Subscription(KEYWORDS, query.text)


def _flat_terms(text: str) -> tuple[str, ...] | None:
    """A keyword query's words in order, quotes ignored: "satellite internet" and
    satellite internet both give ('satellit', 'internet')."""
    try:
        query = KeywordQuery.parse(text)
    except QueryError:
        return None
    return tuple(token for term in query.terms for token in term)


def same_words(subscriptions: Iterable[Subscription], wanted: Subscription) -> Subscription | None:
    """The keyword subscription with the same words as `wanted`, however it was quoted."""
    if wanted.kind != KEYWORDS:
        return None
    words = _flat_terms(wanted.value)
    for sub in subscriptions:
        if sub.kind == KEYWORDS and words and _flat_terms(sub.value) == words:
            return sub
    return None


def label(services: Services, subscription: Subscription) -> str:
    """A subscription as plain text: the topic's title, or the keywords as followed."""
    if subscription.kind == TOPIC:
        topic = services.topic(subscription.value)
        return topic.title if topic else subscription.value
    return subscription.value


def subscription_key(subscription: Subscription) -> str:
    """A short stable name for a subscription in button data (keywords may be long)."""
    digest = hashlib.sha256(f"{subscription.kind}\x1f{subscription.value}".encode())
    return digest.hexdigest()[:12]


def remove_keyboard(
    services: Services, chat_id: int, subscriptions: Sequence[Subscription]
) -> InlineKeyboardMarkup | None:
    """One "✖ name" button per subscription: a tap stops following it."""
    rows = [
        [
            InlineKeyboardButton(
                f"✖ {truncate_text(label(services, sub), 60)}",
                callback_data=callbacks.encode(
                    REMOVE, chat_id, subscription_key(sub), key=services.callback_key
                ),
            )
        ]
        for sub in subscriptions
    ]
    return InlineKeyboardMarkup(rows) if rows else None


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
        subscriptions = await services.store.list_subscriptions(chat.chat_id)
        text = (
            "Tap a subscription to stop following it, or send /unsubscribe all."
            if subscriptions
            else "Nothing to stop following yet: /topics to choose, or /subscribe keywords."
        )
        await reply(
            update, escape(text), keyboard=remove_keyboard(services, chat.chat_id, subscriptions)
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
    existing = await services.store.list_subscriptions(chat.chat_id)
    if subscription not in existing:
        subscription = same_words(existing, subscription) or subscription
    if await services.store.remove_subscription(chat.chat_id, subscription):
        await reply(update, f"Unsubscribed from {describe(services, subscription)}.")
    else:
        await reply(
            update,
            f"You do not follow {describe(services, subscription)}. /list shows what you do.",
        )


async def list_text(services: Services, chat: ChatSettings) -> str:
    subscriptions = await services.store.list_subscriptions(chat.chat_id)
    who = "You follow" if chat.chat_type == "private" else "This group follows"
    lines = [f"<b>{who}</b>"]
    lines += [f"• {describe(services, sub)}" for sub in subscriptions] or [
        "nothing yet — /topics to choose, or /subscribe keywords"
    ]
    if subscriptions:
        lines.append("<i>Tap ✖ to stop following one.</i>")
    lines += [
        "",
        f"<b>Schedule</b>: {escape(schedule_text(chat))}",
        escape(next_digest_text(chat, services.clock())),
    ]
    lines.append(
        f"{chat.bullets} bullets per article; "
        f"link previews {'on' if chat.link_preview else 'off'}."
    )
    return "\n".join(lines)


async def list_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    chat = await ensure_chat(update, services)
    subscriptions = await services.store.list_subscriptions(chat.chat_id)
    await reply(
        update,
        await list_text(services, chat),
        keyboard=remove_keyboard(services, chat.chat_id, subscriptions),
    )


async def remove_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, button: callbacks.Callback
) -> None:
    """A "✖" button under /list or /unsubscribe: stop following that subscription."""
    query = update.callback_query
    assert query is not None
    services = services_of(context)
    chat = await ensure_chat(update, services)
    subscriptions = await services.store.list_subscriptions(chat.chat_id)
    key = button.args[0] if len(button.args) == 1 else ""
    chosen = next((sub for sub in subscriptions if subscription_key(sub) == key), None)
    if chosen is None:
        await query.answer("You no longer follow that. Send /list for a fresh list.")
        return
    if not await may_change_chat(update, context):
        return
    await services.store.remove_subscription(chat.chat_id, chosen)
    await query.answer(f"Unsubscribed from {label(services, chosen)}."[:200])
    left = [sub for sub in subscriptions if sub != chosen]
    try:
        await query.edit_message_text(
            await list_text(services, chat),
            parse_mode="HTML",
            reply_markup=remove_keyboard(services, chat.chat_id, left),
            link_preview_options=NO_PREVIEW,
        )
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


HANDLERS = [
    CommandHandler("topics", topics_command),
    CommandHandler("subscribe", subscribe_command),
    CommandHandler("unsubscribe", unsubscribe_command),
    CommandHandler("list", list_command),
]
BUTTONS = {TOGGLE: toggle_topic, REMOVE: remove_button}
