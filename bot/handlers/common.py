"""Small helpers every handler module shares: replies, chat records, group permissions."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from telegram import (
    ChatMember,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, NetworkError
from telegram.ext import ContextTypes

from bot.i18n import Translator
from bot.parsing import UsageError
from bot.render import escape
from bot.schedule import describe_next, describe_schedule, next_digest_at
from bot.services import Services, get_services
from bot.store import ChatSettings

logger = logging.getLogger(__name__)
ADMIN_CACHE_SECONDS = 300
REFUSAL_QUIET_SECONDS = 600
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_ADMIN_STATUSES = (ChatMember.ADMINISTRATOR, ChatMember.OWNER)


def argument_text(context: ContextTypes.DEFAULT_TYPE) -> str:
    return " ".join(context.args or [])


async def reply(
    update: Update,
    text: str,
    *,
    keyboard: InlineKeyboardMarkup | None = None,
    link_preview: bool = False,
) -> Message | None:
    """Answer in the chat the update came from, as Telegram HTML (callers escape their text)."""
    message = update.effective_message
    if message is None:
        return None
    for attempt in range(2):
        try:
            return await message.reply_text(
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard,
                link_preview_options=None if link_preview else NO_PREVIEW,
                do_quote=False,
            )
        except BadRequest:
            raise  # Telegram answered: sending it again would be refused again
        except NetworkError as error:
            # A dropped connection or a 5xx: once more, rather than "something went wrong".
            # (If Telegram did take the first one, the user sees the answer twice; better
            # than none.)
            if attempt:
                raise
            logger.info("reply in chat %s failed (%s); retrying once", message.chat_id, error)
    raise AssertionError("unreachable")


async def edit_in_place(
    update: Update, text: str, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    """Redraw the message a button is under; a double tap that changes nothing is fine."""
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_text(
            text, parse_mode=ParseMode.HTML, reply_markup=keyboard, link_preview_options=NO_PREVIEW
        )
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


async def reply_usage(update: Update, t: Translator, error: UsageError) -> None:
    """The parser's explanation of what was wrong, in the reader's language."""
    await reply(update, escape(error.message(t)))


async def ensure_chat(update: Update, services: Services) -> ChatSettings:
    """The stored settings of the update's chat, creating them with the defaults on first use."""
    chat = update.effective_chat
    assert chat is not None
    defaults = services.settings.bot.defaults
    first_digest = next_digest_at(
        defaults.frequency,
        defaults.digest_time,
        defaults.timezone,
        defaults.weekday,
        services.clock(),
    )
    title = chat.title or chat.full_name or chat.username or ""
    stored = await services.store.ensure_chat(chat.id, chat.type, title, defaults, first_digest)
    if stored.language is None:
        # A new chat speaks the language of the user who first writes (in a group: usually the
        # admin who added the bot) until /language says otherwise.
        detected = services.catalogs.supported(user_language_code(update))
        if detected is not None:
            stored = await services.store.update_chat(stored.chat_id, language=detected)
    return stored


def user_language_code(update: Update) -> str | None:
    user = update.effective_user
    return user.language_code if user is not None else None


def translator(services: Services, update: Update, chat: ChatSettings | None) -> Translator:
    """The language to answer in: the chat's own, else the language of the user writing."""
    return services.catalogs.pick(chat.language if chat else None, user_language_code(update))


async def chat_translator(update: Update, services: Services) -> Translator:
    """`translator` for handlers that have not loaded the chat (reads it; creates nothing)."""
    chat = update.effective_chat
    stored = await services.store.get_chat(chat.id) if chat is not None else None
    return translator(services, update, stored)


def schedule_text(chat: ChatSettings, t: Translator) -> str:
    return describe_schedule(chat.frequency, chat.digest_time, chat.timezone, chat.weekday, t)


def next_digest_text(chat: ChatSettings, now: datetime, t: Translator) -> str:
    """'Next digest: Fri 27 Nov, 08:00 (Asia/Shanghai).', or why there is none."""
    return describe_next(
        chat.frequency,
        chat.digest_time,
        chat.timezone,
        chat.weekday,
        t,
        paused=chat.paused,
        now=now,
    )


def is_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


async def is_group_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    chat, user = update.effective_chat, update.effective_user
    message = update.effective_message
    if chat is None:
        return False
    if message is not None and message.sender_chat is not None:
        # An anonymous administrator posts as the group itself.
        return message.sender_chat.id == chat.id
    if user is None:
        return False
    cache: dict[int, tuple[bool, float]] = context.chat_data.setdefault("admins", {})  # type: ignore[union-attr]
    cached = cache.get(user.id)
    if cached and time.monotonic() - cached[1] < ADMIN_CACHE_SECONDS:
        return cached[0]
    member = await context.bot.get_chat_member(chat.id, user.id)
    allowed = member.status in _ADMIN_STATUSES
    cache[user.id] = (allowed, time.monotonic())
    return allowed


async def may_change_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Private chats always may; in groups only administrators change subscriptions or settings.

    Refuses politely (as a reply, or as a callback answer for buttons) when not allowed.
    """
    if is_private(update) or await is_group_admin(update, context):
        return True
    t = await chat_translator(update, services_of(context))
    refusal = t.gettext(
        "Only this group's administrators can change its subscriptions and settings."
    )
    if update.callback_query is not None:
        await update.callback_query.answer(refusal)  # a toast, seen only by who tapped
    elif _first_refusal(update, context):
        await reply(update, refusal)
    return False


def _first_refusal(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Whether to say the refusal: once per member per REFUSAL_QUIET_SECONDS, so a member
    trying command after command does not fill the group with the same answer."""
    user = update.effective_user
    refused: dict[int, float] = context.chat_data.setdefault("refused", {})  # type: ignore[union-attr]
    key = user.id if user is not None else 0
    now = time.monotonic()
    if now - refused.get(key, -REFUSAL_QUIET_SECONDS) < REFUSAL_QUIET_SECONDS:
        return False
    refused[key] = now
    return True


def is_bot_admin(update: Update, services: Services) -> bool:
    user = update.effective_user
    return user is not None and user.id in services.settings.bot.admins


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return get_services(context)
