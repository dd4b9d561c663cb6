"""Following topics and keywords: /topics, /subscribe, /unsubscribe, /list and topic buttons."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CommandHandler, ContextTypes

from bot import callbacks
from bot.handlers.common import (
    NO_PREVIEW,
    argument_text,
    chat_translator,
    ensure_chat,
    may_change_chat,
    next_digest_text,
    reply,
    reply_usage,
    schedule_text,
    services_of,
    translator,
)
from bot.i18n import N_, Translator, join_list, join_sentences, topic_title
from bot.parsing import Phrase, UsageError, check_argument_text
from bot.render import escape, truncate_text
from bot.rounds import following_slot
from bot.selection import KEYWORDS, SOURCE, TOPIC, source_parts
from bot.services import Services
from bot.store import ChatSettings, Subscription, SubscriptionLimitReached
from summaries.language import has_han, stop_words
from summaries.matching import KeywordQuery, QueryError, stem
from summaries.ranking import ENGLISH_FUNCTION_WORDS

TOGGLE = "tog"
REMOVE = "rm"
# Keywords made only of these would match nearly every English (or Chinese: 的, 了, 我们)
# article.
_COMMON_STEMS = frozenset(stem(word) for word in ENGLISH_FUNCTION_WORDS) | frozenset(
    word for word in stop_words("zh") if has_han(word)
)
MAX_SUBSCRIPTIONS = 50
SHOWN_SOURCE_CHARS = 60
SUBSCRIBE_EXAMPLE = N_(
    'For example: /subscribe quantum (a topic), /subscribe "satellite internet" (a phrase) or '
    "/subscribe drug approval (articles with both words)."
)


def resolve_subscription(services: Services, text: str) -> Subscription:
    """A topic when `text` names one (or its command), else free keywords."""
    text = check_argument_text(text, what=N_("topic or keywords"))
    topic = services.topic_named(text)
    if topic is not None:
        return Subscription(TOPIC, topic.name)
    try:
        query = KeywordQuery.parse(text)
    except QueryError as error:
        raise UsageError(
            N_("Cannot follow “{text}”: {reason}. {example}"),
            text=text,
            reason=Phrase(str(error)),
            example=Phrase(SUBSCRIBE_EXAMPLE),
        ) from None
    if all(_common(term) for term in query.terms):
        raise UsageError(
            N_(
                "“{text}” has only common words that almost every article contains. "
                "Follow something more specific (a quoted phrase keeps them). {example}"
            ),
            text=text,
            example=Phrase(SUBSCRIBE_EXAMPLE),
        )
    return Subscription(KEYWORDS, query.text)


def _common(term: tuple[str, ...]) -> bool:
    """A word nearly every article contains; a Chinese term too when made only of such words
    ("的了": Chinese has no spaces, so quoting it changes nothing)."""
    if len(term) == 1 or all(has_han(token) for token in term):
        return all(token in _COMMON_STEMS for token in term)
    return False


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


def _query_terms(text: str) -> frozenset[tuple[str, ...]] | None:
    try:
        return frozenset(KeywordQuery.parse(text).terms)
    except QueryError:
        return None


def same_query(subscriptions: Iterable[Subscription], wanted: Subscription) -> Subscription | None:
    """The keyword subscription that finds what `wanted` would: the same words or phrases in any
    form and order ("museums" for "museum", "approvals drugs" for "drug approval")."""
    terms = _query_terms(wanted.value) if wanted.kind == KEYWORDS else None
    for sub in subscriptions:
        if terms and sub.kind == KEYWORDS and _query_terms(sub.value) == terms:
            return sub
    return None


def label(services: Services, subscription: Subscription, t: Translator) -> str:
    """A subscription as plain text: the topic's title (in t's language), the source's title,
    or the keywords."""
    if subscription.kind == TOPIC:
        topic = services.topic(subscription.value)
        return topic_title(topic, t) if topic else subscription.value
    if subscription.kind == SOURCE:
        return source_title(subscription)
    return subscription.value


def source_title(subscription: Subscription) -> str:
    """What to call a chat's own source: its title, else its URL."""
    url, _ = source_parts(subscription.value)
    return " ".join((subscription.title or "").split()) or url


def subscription_key(subscription: Subscription) -> str:
    """A short stable name for a subscription in button data (keywords may be long)."""
    digest = hashlib.sha256(f"{subscription.kind}\x1f{subscription.value}".encode())
    return digest.hexdigest()[:12]


def remove_keyboard(
    services: Services, chat_id: int, subscriptions: Sequence[Subscription], t: Translator
) -> InlineKeyboardMarkup | None:
    """One "✖ name" button per subscription: a tap stops following it."""
    rows = [
        [
            InlineKeyboardButton(
                f"✖ {truncate_text(label(services, sub, t), 60)}",
                callback_data=callbacks.encode(
                    REMOVE, chat_id, subscription_key(sub), key=services.callback_key
                ),
            )
        ]
        for sub in subscriptions
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def describe(services: Services, subscription: Subscription, t: Translator) -> str:
    """'topic <b>Quantum</b>' or 'keywords <b>drug approval</b>', in HTML."""
    if subscription.kind == TOPIC:
        topic = services.topic(subscription.value)
        title = topic_title(topic, t) if topic else subscription.value
        return escape(t.gettext("topic {name}")).format(name=f"<b>{escape(title)}</b>")
    if subscription.kind == SOURCE:
        name = f"<b>{escape(truncate_text(source_title(subscription), SHOWN_SOURCE_CHARS))}</b>"
        _, keywords = source_parts(subscription.value)
        if not keywords:
            return escape(t.gettext("source {name}")).format(name=name)
        return escape(t.gettext("source {name} (only: {keywords})")).format(
            name=name, keywords=escape(keywords)
        )
    name = f"<b>{escape(subscription.value)}</b>"
    return escape(t.gettext("keywords {name}")).format(name=name)


async def topic_counts(services: Services) -> Counter[str]:
    since = services.clock() - timedelta(days=services.settings.bot.lookback_days)
    recent = await services.store.recent_articles(since, 2000)
    return Counter(topic for stored in recent for topic in stored.digest.topics)


async def topics_keyboard(services: Services, chat_id: int, t: Translator) -> InlineKeyboardMarkup:
    followed = {
        sub.value for sub in await services.store.list_subscriptions(chat_id) if sub.kind == TOPIC
    }
    rows = []
    for topic in services.topics:
        mark = "✅" if topic.name in followed else "➕"
        data = callbacks.encode(TOGGLE, chat_id, topic.name, key=services.callback_key)
        rows.append([InlineKeyboardButton(f"{mark} {topic_title(topic, t)}", callback_data=data)])
    return InlineKeyboardMarkup(rows)


async def topics_text(services: Services, t: Translator) -> str:
    counts = await topic_counts(services)
    days = services.settings.bot.lookback_days
    heading = "<b>" + escape(t.gettext("Topics")) + "</b>"
    lines = [join_sentences([heading, escape(t.gettext("(tap to follow or unfollow)"))], t), ""]
    for topic in services.topics:
        count = counts.get(topic.name, 0)
        recent = t.ngettext(
            "({count} article in {days} days)", "({count} articles in {days} days)", count
        ).format(count=count, days=days)
        about = join_sentences([topic.description_in(t.language), recent], t)
        lines.append(
            f"• <b>{escape(topic_title(topic, t))}</b> /{escape(topic.name)} — {escape(about)}"
        )
    return "\n".join(lines)


async def topics_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    chat = await ensure_chat(update, services)
    t = translator(services, update, chat)
    keyboard = await topics_keyboard(services, chat.chat_id, t)
    await reply(update, await topics_text(services, t), keyboard=keyboard)


async def toggle_topic(
    update: Update, context: ContextTypes.DEFAULT_TYPE, button: callbacks.Callback
) -> None:
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None and chat is not None
    services = services_of(context)
    topic = services.topic(button.args[0]) if len(button.args) == 1 else None
    if topic is None:
        t = await chat_translator(update, services)
        await query.answer(t.gettext("This button is out of date. Send /topics for a fresh list."))
        return
    if not await may_change_chat(update, context):
        return
    t = translator(services, update, await ensure_chat(update, services))
    subscription = Subscription(TOPIC, topic.name)
    if await services.store.remove_subscription(chat.id, subscription):
        note = t.gettext("Unsubscribed from {topic}.").format(topic=topic_title(topic, t))
    else:
        try:
            await follow(services, chat.id, subscription, limit=MAX_SUBSCRIPTIONS)
            note = t.gettext("Subscribed to {topic}.").format(topic=topic_title(topic, t))
        except SubscriptionLimitReached:
            note = limit_reached_text(t, private=chat.type == "private")
    await query.answer(note)
    keyboard = await topics_keyboard(services, chat.id, t)
    try:
        await query.edit_message_reply_markup(keyboard)
    except BadRequest as error:  # "message is not modified" after a double tap
        if "not modified" not in str(error).lower():
            raise


async def subscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    chat = await ensure_chat(update, services)
    t = translator(services, update, chat)
    if not context.args:
        keyboard = await topics_keyboard(services, chat.chat_id, t)
        text = join_sentences(
            [t.gettext("Tap a topic to follow it."), t.gettext(SUBSCRIBE_EXAMPLE)], t
        )
        await reply(update, escape(text), keyboard=keyboard)
        return
    if not await may_change_chat(update, context):
        return
    try:
        subscription = resolve_subscription(services, argument_text(context))
    except UsageError as error:
        await reply_usage(update, t, error)
        return
    await reply(update, await subscribe(services, chat, subscription, t))


async def follow(
    services: Services, chat_id: int, subscription: Subscription, *, limit: int | None = None
) -> bool:
    """Adds the subscription (False if the chat had it); a chat that followed nothing gets its
    next slot, not a backlog. `SubscriptionLimitReached` when the chat has `limit` already."""
    added = await services.store.add_subscription(chat_id, subscription, limit=limit)
    now = services.clock()

    def next_slot(chat: ChatSettings) -> datetime | None:
        # Rounds skip chats without subscriptions, so their due time may lie in the past.
        if chat.next_digest_at is not None and chat.next_digest_at <= now:
            return following_slot(chat, now)
        return chat.next_digest_at

    await services.store.update_settings(chat_id, {}, next_slot)
    return added


def limit_reached_text(t: Translator, *, private: bool) -> str:
    text = (
        t.gettext("You follow {count} things already; /unsubscribe some first.")
        if private
        else t.gettext("This group follows {count} things already; /unsubscribe some first.")
    )
    return text.format(count=MAX_SUBSCRIPTIONS)


async def subscribe(
    services: Services, chat: ChatSettings, subscription: Subscription, t: Translator
) -> str:
    """Adds the subscription and says what happened, in HTML."""
    private = chat.chat_type == "private"
    followed = same_query(await services.store.list_subscriptions(chat.chat_id), subscription)
    if followed is not None:  # another form of it: what is stored is what /list shows
        subscription, added = followed, False
    else:
        try:
            added = await follow(services, chat.chat_id, subscription, limit=MAX_SUBSCRIPTIONS)
        except SubscriptionLimitReached:
            return escape(limit_reached_text(t, private=private))
    what = describe(services, subscription, t)
    if not added:
        already = (
            t.gettext("You already follow {what}.")
            if private
            else t.gettext("This group already follows {what}.")
        )
        return escape(already).format(what=what)
    done = (
        t.gettext(
            "Subscribed to {what}. "
            "New matching articles come in your next digest; /digest shows them now."
        )
        if private
        else t.gettext(
            "Subscribed to {what}. "
            "New matching articles come in this group's next digest; /digest shows them now."
        )
    )
    return escape(done).format(what=what)


async def unsubscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    chat = await ensure_chat(update, services)
    t = translator(services, update, chat)
    if not context.args:
        subscriptions = await services.store.list_subscriptions(chat.chat_id)
        text = (
            t.gettext("Tap a subscription to stop following it, or send /unsubscribe all.")
            if subscriptions
            else t.gettext(
                "Nothing to stop following yet: /topics to choose, or /subscribe keywords."
            )
        )
        await reply(
            update,
            escape(text),
            keyboard=remove_keyboard(services, chat.chat_id, subscriptions, t),
        )
        return
    if not await may_change_chat(update, context):
        return
    text = argument_text(context)
    if text.strip().casefold() == "all":
        removed = await services.store.clear_subscriptions_by_kind(chat.chat_id)
        private = chat.chat_type == "private"
        await reply(update, escape(unsubscribed_all_text(removed, t, private=private)))
        return
    existing = await services.store.list_subscriptions(chat.chat_id)
    own = own_source_named(existing, text)
    if own is not None or looks_like_url(text):
        await reply(update, await unsubscribe_source(services, chat, own, text, t))
        return
    try:
        subscription = resolve_subscription(services, text)
    except UsageError as error:
        await reply_usage(update, t, error)
        return
    if subscription not in existing:
        # "satellite internet" names a topic by its title, but this chat may follow the words.
        as_words = Subscription(KEYWORDS, text) if subscription.kind == TOPIC else subscription
        subscription = same_words(existing, as_words) or subscription
    what = describe(services, subscription, t)
    if await services.store.remove_subscription(chat.chat_id, subscription):
        await reply(update, escape(t.gettext("Unsubscribed from {what}.")).format(what=what))
    else:
        text = (
            t.gettext("You do not follow {what}. /list shows what you do.")
            if chat.chat_type == "private"
            else t.gettext("This group does not follow {what}. /list shows what it does.")
        )
        await reply(update, escape(text).format(what=what))


def unsubscribed_all_text(removed: dict[str, int], t: Translator, *, private: bool) -> str:
    """'Unsubscribed from everything: 1 topic, 2 keyword subscriptions, 1 source.'"""
    topics, keywords, sources = (removed.get(kind, 0) for kind in (TOPIC, KEYWORDS, SOURCE))
    parts = []
    if topics:
        parts.append(t.ngettext("{count} topic", "{count} topics", topics).format(count=topics))
    if keywords:
        parts.append(
            t.ngettext(
                "{count} keyword subscription", "{count} keyword subscriptions", keywords
            ).format(count=keywords)
        )
    if sources:
        parts.append(
            t.ngettext("{count} source", "{count} sources", sources).format(count=sources)
        )
    if not parts:
        if not private:
            return t.gettext(
                "This group follows nothing, so there is nothing to unsubscribe from. "
                "/topics to choose, or /subscribe keywords."
            )
        return t.gettext(
            "You follow nothing, so there is nothing to unsubscribe from. "
            "/topics to choose, or /subscribe keywords."
        )
    return t.gettext("Unsubscribed from everything: {what}.").format(what=join_list(parts, t))


def looks_like_url(text: str) -> bool:
    return text.strip().casefold().startswith(("http://", "https://"))


def own_source_named(subscriptions: Iterable[Subscription], text: str) -> Subscription | None:
    """The chat's own source that `text` names: by its URL (a trailing slash aside; words
    after it, such as the keywords it was added with, do not matter), or by its title."""
    wanted = text.strip()
    named_url = wanted.split(maxsplit=1)[0] if looks_like_url(wanted) else wanted
    for sub in subscriptions:
        if sub.kind != SOURCE:
            continue
        url, _ = source_parts(sub.value)
        if url.rstrip("/") == named_url.rstrip("/"):
            return sub
        if sub.title and sub.title.strip().casefold() == wanted.casefold():
            return sub
    return None


async def unsubscribe_source(
    services: Services, chat: ChatSettings, own: Subscription | None, text: str, t: Translator
) -> str:
    """Stops following the chat's own source `own` (None: `text` named none it follows)."""
    if own is not None and await services.store.remove_subscription(chat.chat_id, own):
        what = describe(services, own, t)
        return escape(t.gettext("Unsubscribed from {what}.")).format(what=what)
    shown = escape(truncate_text(text.strip(), SHOWN_SOURCE_CHARS))
    not_followed = (
        t.gettext("You do not follow the source {url}. /sources lists yours.")
        if chat.chat_type == "private"
        else t.gettext("This group does not follow the source {url}. /sources lists its own.")
    )
    return escape(not_followed).format(url=shown)


async def list_text(services: Services, chat: ChatSettings, t: Translator) -> str:
    subscriptions = await services.store.list_subscriptions(chat.chat_id)
    who = (
        t.gettext("You follow") if chat.chat_type == "private" else t.gettext("This group follows")
    )
    lines = ["<b>" + escape(who) + "</b>"]
    lines += [f"• {describe(services, sub, t)}" for sub in subscriptions] or [
        escape(t.gettext("nothing yet — /topics to choose, or /subscribe keywords"))
    ]
    if subscriptions:
        lines.append("<i>" + escape(t.gettext("Tap ✖ to stop following one.")) + "</i>")
    next_digest = next_digest_text(chat, services.clock(), t)
    # With digests off, "no scheduled digests: /frequency daily ..." says all there is.
    schedule = next_digest if chat.frequency == "off" else schedule_text(chat, t)
    lines += ["", t.gettext("<b>Schedule</b>: {schedule}").format(schedule=escape(schedule))]
    if chat.frequency != "off":
        lines.append(escape(next_digest))
    how = t.ngettext(
        "{count} bullet per article; link previews {state}.",
        "{count} bullets per article; link previews {state}.",
        chat.bullets,
    )
    state = t.gettext("on") if chat.link_preview else t.gettext("off")
    lines.append(escape(how.format(count=chat.bullets, state=state)))
    return "\n".join(lines)


async def list_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    chat = await ensure_chat(update, services)
    t = translator(services, update, chat)
    subscriptions = await services.store.list_subscriptions(chat.chat_id)
    await reply(
        update,
        await list_text(services, chat, t),
        keyboard=remove_keyboard(services, chat.chat_id, subscriptions, t),
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
    t = translator(services, update, chat)
    if chosen is None:
        gone = (
            t.gettext("You no longer follow that. Send /list for a fresh list.")
            if chat.chat_type == "private"
            else t.gettext("This group no longer follows that. Send /list for a fresh list.")
        )
        await query.answer(gone)
        return
    if not await may_change_chat(update, context):
        return
    await services.store.remove_subscription(chat.chat_id, chosen)
    done = t.gettext("Unsubscribed from {topic}.").format(topic=label(services, chosen, t))
    await query.answer(done[:200])
    left = [sub for sub in subscriptions if sub != chosen]
    try:
        await query.edit_message_text(
            await list_text(services, chat, translator(services, update, chat)),
            parse_mode="HTML",
            reply_markup=remove_keyboard(services, chat.chat_id, left, t),
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
