"""When and how a chat hears from the bot: /settings buttons and the direct commands."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime, time
from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CommandHandler, ContextTypes

from bot import callbacks
from bot.handlers.common import (
    argument_text,
    ensure_chat,
    may_change_chat,
    reply,
    reply_usage,
    services_of,
)
from bot.parsing import (
    UsageError,
    parse_bullets,
    parse_frequency,
    parse_switch,
    parse_time,
    parse_timezone,
)
from bot.schedule import describe_schedule, next_digest_at
from bot.services import Services
from bot.store import ChatSettings

SET = "set"
_SCHEDULE_FIELDS = {"digest_time", "timezone", "frequency", "weekday", "paused"}
_TIME_CHOICES = ("06:00", "07:00", "08:00", "12:00", "18:00", "21:00")


async def apply_changes(services: Services, chat: ChatSettings, **changes: Any) -> ChatSettings:
    """Stores the changes; a schedule change also moves the next digest time, computed in the
    same transaction from the settings as stored then (not from `chat`, which may be stale)."""
    now = services.clock()

    def reschedule(changed: ChatSettings) -> datetime | None:
        return next_digest_at(
            changed.frequency, changed.digest_time, changed.timezone, changed.weekday, now
        )

    schedule_changed = bool(_SCHEDULE_FIELDS & changes.keys())
    return await services.store.update_settings(
        chat.chat_id, changes, reschedule if schedule_changed else None
    )


def settings_text(chat: ChatSettings) -> str:
    schedule = describe_schedule(chat.frequency, chat.digest_time, chat.timezone, chat.weekday)
    state = "paused" if chat.paused else "active"
    return "\n".join(
        [
            "<b>Settings</b>",
            f"Schedule: {escape(schedule)} Digests are {state}.",
            f"Bullets per article: {chat.bullets}",
            f"Link previews: {'on' if chat.link_preview else 'off'}",
            "",
            "Tap to change, or use /time 08:00, /timezone Europe/London, /frequency weekly mon, "
            "/bullets 3, /preview on.",
        ]
    )


def settings_keyboard(services: Services, chat: ChatSettings) -> InlineKeyboardMarkup:
    def button(label: str, field: str, value: str, current: bool) -> InlineKeyboardButton:
        data = callbacks.encode(SET, chat.chat_id, field, value, key=services.callback_key)
        return InlineKeyboardButton(("• " if current else "") + label, callback_data=data)

    return InlineKeyboardMarkup(
        [
            [
                button(f.title(), "f", f, chat.frequency == f)
                for f in ("hourly", "daily", "weekly", "off")
            ],
            [button(t, "t", t, chat.digest_time == parse_time(t)) for t in _TIME_CHOICES],
            [button(str(n), "b", str(n), chat.bullets == n) for n in range(1, 6)],
            [
                button(
                    "Previews " + ("on" if chat.link_preview else "off"),
                    "p",
                    "off" if chat.link_preview else "on",
                    False,
                ),
                button(
                    "Resume" if chat.paused else "Pause",
                    "z",
                    "off" if chat.paused else "on",
                    False,
                ),
            ],
        ]
    )


def _button_change(field: str, value: str) -> dict[str, Any]:
    if field == "f":
        frequency, weekday = parse_frequency(value)
        return {"frequency": frequency} | ({"weekday": weekday} if weekday is not None else {})
    if field == "t":
        return {"digest_time": parse_time(value)}
    if field == "b":
        return {"bullets": parse_bullets(value)}
    if field == "p":
        return {"link_preview": parse_switch(value)}
    if field == "z":
        return {"paused": parse_switch(value)}
    raise UsageError("unknown setting")


async def settings_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    chat = await ensure_chat(update, services)
    await reply(update, settings_text(chat), keyboard=settings_keyboard(services, chat))


async def settings_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, button: callbacks.Callback
) -> None:
    query = update.callback_query
    assert query is not None
    services = services_of(context)
    try:
        field, value = button.args
        changes = _button_change(field, value)
    except (ValueError, UsageError):
        await query.answer("This button is out of date. Send /settings again.")
        return
    if not await may_change_chat(update, context):
        return
    chat = await apply_changes(services, await ensure_chat(update, services), **changes)
    await query.answer("Saved.")
    try:
        await query.edit_message_text(
            settings_text(chat), parse_mode="HTML", reply_markup=settings_keyboard(services, chat)
        )
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


def _direct(
    parse: Callable[[str], dict[str, Any]], usage: str
) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    """A command that parses its argument into setting changes, stores them and confirms."""

    async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        services = services_of(context)
        chat = await ensure_chat(update, services)
        if not context.args:
            await reply(update, escape(usage))
            return
        try:
            changes = parse(argument_text(context))
        except UsageError as error:
            await reply_usage(update, str(error))
            return
        if not await may_change_chat(update, context):
            return
        chat = await apply_changes(services, chat, **changes)
        await reply(update, "Saved. " + settings_text(chat).split("\n", 2)[1])

    return handler


def _time_change(text: str) -> dict[str, time]:
    return {"digest_time": parse_time(text)}


def _frequency_change(text: str) -> dict[str, Any]:
    frequency, weekday = parse_frequency(text)
    return {"frequency": frequency} | ({"weekday": weekday} if weekday is not None else {})


async def pause_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _set_paused(update, context, paused=True)


async def resume_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _set_paused(update, context, paused=False)


async def _set_paused(update: Update, context: ContextTypes.DEFAULT_TYPE, *, paused: bool) -> None:
    services = services_of(context)
    chat = await ensure_chat(update, services)
    if not await may_change_chat(update, context):
        return
    chat = await apply_changes(services, chat, paused=paused)
    if paused:
        await reply(update, "Scheduled digests paused. /resume starts them again.")
    else:
        schedule = describe_schedule(chat.frequency, chat.digest_time, chat.timezone, chat.weekday)
        await reply(update, f"Digests resumed. {escape(schedule)}")


async def stop_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    chat = update.effective_chat
    assert chat is not None
    if not await may_change_chat(update, context):
        return
    await services.store.delete_chat(chat.id)
    if context.chat_data is not None:
        context.chat_data.clear()
    await reply(
        update,
        "Stopped. Everything stored about this chat is deleted. /start brings me back any time.",
    )


HANDLERS = [
    CommandHandler("settings", settings_command),
    CommandHandler("time", _direct(_time_change, "Send the time of day as HH:MM: /time 08:00")),
    CommandHandler(
        "timezone",
        _direct(
            lambda text: {"timezone": parse_timezone(text)},
            "Send a timezone name: /timezone Asia/Shanghai",
        ),
    ),
    CommandHandler(
        "frequency",
        _direct(
            _frequency_change,
            "Choose one: /frequency daily, /frequency weekly mon, "
            "/frequency hourly or /frequency off",
        ),
    ),
    CommandHandler(
        "bullets",
        _direct(
            lambda text: {"bullets": parse_bullets(text)},
            "How many bullets per article, 1 to 5: /bullets 3",
        ),
    ),
    CommandHandler(
        "preview",
        _direct(
            lambda text: {"link_preview": parse_switch(text)},
            "Link previews on or off: /preview on",
        ),
    ),
    CommandHandler("pause", pause_command),
    CommandHandler("resume", resume_command),
    CommandHandler("stop", stop_command),
]
BUTTONS = {SET: settings_button}
