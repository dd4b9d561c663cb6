"""The language of the bot's texts in a chat: /language with buttons, or /language zh."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler, ContextTypes

from bot import callbacks
from bot.handlers.common import (
    argument_text,
    edit_in_place,
    ensure_chat,
    may_change_chat,
    reply,
    services_of,
    translator,
)
from bot.i18n import LANGUAGE_NAMES, N_, Translator, join_list
from bot.render import escape
from bot.services import Services
from bot.store import ChatSettings

LANGUAGE = "lang"
CURRENT = "✓ "
# Translators: name your own language here, not English.
SWITCHED = N_("From now on I write in English here.")


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def language_text(services: Services, t: Translator) -> str:
    choices = join_list(
        (
            # Translators: one choice of the /language list, "/language zh (简体中文)".
            t.gettext("{command} ({language})").format(
                command=f"/language {code}", language=language_name(code)
            )
            for code in services.catalogs.languages
        ),
        t,
    )
    return "\n".join(
        [
            escape(t.gettext("I write to this chat in {language}.")).format(
                language=f"<b>{escape(language_name(t.language))}</b>"
            ),
            escape(t.gettext("Tap a language, or send one of: {choices}")).format(
                choices=escape(choices)
            ),
        ]
    )


def language_keyboard(
    services: Services, chat: ChatSettings, current: str
) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            (CURRENT if code == current else "") + language_name(code),
            callback_data=callbacks.encode(
                LANGUAGE, chat.chat_id, code, key=services.callback_key
            ),
        )
        for code in services.catalogs.languages
    ]
    return InlineKeyboardMarkup([buttons])


def find_language(services: Services, text: str) -> str | None:
    """'zh', 'zh-hans', 'Chinese', '中文', '简体中文', 'English' -> a language code, or None."""
    wanted = text.strip().casefold()
    for code in services.catalogs.languages:
        t = services.catalogs.get(code)
        names = {
            code,
            language_name(code).casefold(),
            (t.locale.get_display_name("en") or "").casefold(),
            (t.locale.get_display_name(code) or "").casefold(),
            (t.locale.get_language_name("en") or "").casefold(),
            (t.locale.get_language_name(code) or "").casefold(),
        }
        if wanted in names:
            return code
    return services.catalogs.supported(wanted)


async def language_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    chat = await ensure_chat(update, services)
    t = translator(services, update, chat)
    if not context.args:
        keyboard = language_keyboard(services, chat, t.language)
        await reply(update, language_text(services, t), keyboard=keyboard)
        return
    code = find_language(services, argument_text(context))
    if code is None:
        problem = t.gettext("I do not write in “{language}” yet.").format(
            language=argument_text(context)[:40]
        )
        await reply(update, escape(problem) + "\n" + language_text(services, t))
        return
    if not await may_change_chat(update, context):
        return
    await services.store.update_chat(chat.chat_id, language=code)
    await reply(update, escape(services.catalogs.get(code).gettext(SWITCHED)))


async def language_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, button: callbacks.Callback
) -> None:
    query = update.callback_query
    assert query is not None
    services = services_of(context)
    code = button.args[0] if len(button.args) == 1 else None
    if code not in services.catalogs.languages:
        t = translator(services, update, None)
        await query.answer(t.gettext("This button is out of date. Send /language again."))
        return
    if not await may_change_chat(update, context):
        return
    chat = await ensure_chat(update, services)
    chat = await services.store.update_chat(chat.chat_id, language=code)
    t = services.catalogs.get(code)
    await query.answer(t.gettext(SWITCHED))
    await edit_in_place(
        update, language_text(services, t), language_keyboard(services, chat, code)
    )


HANDLERS = [CommandHandler("language", language_command)]
BUTTONS = {LANGUAGE: language_button}
