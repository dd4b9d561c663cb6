"""When and how a chat hears from the bot: /settings buttons and the direct commands."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
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
    is_private,
    may_change_chat,
    next_digest_text,
    reply,
    reply_usage,
    schedule_text,
    services_of,
)
from bot.parsing import (
    MAX_BULLETS,
    MIN_BULLETS,
    UsageError,
    parse_bullets,
    parse_frequency,
    parse_switch,
    parse_time,
    parse_timezone,
)
from bot.schedule import WEEKDAY_NAMES, format_local, next_digest_at, zone_label
from bot.services import Services
from bot.store import ChatSettings

SET = "set"
_SCHEDULE_FIELDS = {"digest_time", "timezone", "frequency", "weekday", "paused"}
_HOURS_PER_ROW = 6
_MINUTE_CHOICES = (0, 15, 30, 45)
_DAY_BUTTONS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CURRENT = "✓ "


def _frequency_value(chat: ChatSettings) -> str:
    if chat.frequency == "weekly":
        return f"weekly, on {WEEKDAY_NAMES[chat.weekday]}"
    return chat.frequency


# Each setting as people read it: what it is called and how its value is shown.
_SETTINGS: dict[str, tuple[str, Callable[[ChatSettings], str]]] = {
    "frequency": ("How often", _frequency_value),
    "digest_time": ("Digest time", lambda chat: f"{chat.digest_time:%H:%M}"),
    "timezone": ("Timezone", lambda chat: zone_label(chat.timezone)),
    "bullets": ("Bullets per article", lambda chat: str(chat.bullets)),
    "link_preview": ("Link previews", lambda chat: "on" if chat.link_preview else "off"),
    "paused": ("Scheduled digests", lambda chat: "paused" if chat.paused else "active"),
}


async def apply_changes(services: Services, chat: ChatSettings, **changes: Any) -> ChatSettings:
    """Stores the changes; a schedule change also moves the next digest time."""
    if _SCHEDULE_FIELDS & changes.keys():
        frequency = changes.get("frequency", chat.frequency)
        changes["next_digest_at"] = next_digest_at(
            frequency,
            changes.get("digest_time", chat.digest_time),
            changes.get("timezone", chat.timezone),
            changes.get("weekday", chat.weekday),
            services.clock(),
        )
    return await services.store.update_chat(chat.chat_id, **changes)


def describe_changes(old: ChatSettings, new: ChatSettings, fields: Iterable[str]) -> list[str]:
    """One sentence per changed setting: its name, its new value and the old one."""
    names = {"frequency" if field == "weekday" else field for field in fields}
    sentences = []
    for field, (label, value) in _SETTINGS.items():
        if field not in names:
            continue
        before, after = value(old), value(new)
        if before == after:
            sentences.append(f"{label}: {after} (unchanged).")
        else:
            sentences.append(f"{label}: {after} (was {before}).")
    return sentences


def change_report(
    old: ChatSettings, new: ChatSettings, fields: Iterable[str], now: datetime
) -> str:
    """What a settings change did, as plain text: the values, then the next digest if moved."""
    fields = set(fields)
    lines = describe_changes(old, new, fields)
    if new.frequency == "hourly" and "digest_time" in fields:
        lines.append(
            f"Hourly digests come every hour at minute :{new.digest_time:%M}; only the minutes "
            "of a time count until you choose /frequency daily or weekly."
        )
    if _SCHEDULE_FIELDS & fields:
        lines += [f"Schedule: {schedule_text(new)}", next_digest_text(new, now)]
    return "\n".join(lines)


def settings_text(chat: ChatSettings, now: datetime) -> str:
    lines = [
        "<b>Settings</b>",
        f"Schedule: {escape(schedule_text(chat))}",
        escape(next_digest_text(chat, now)),
        f"Bullets per article: {chat.bullets}",
        f"Link previews: {'on' if chat.link_preview else 'off'}",
        "",
    ]
    if chat.frequency == "hourly":
        lines.append(
            "Hourly: a digest every hour at the minute you choose below. "
            "Tap a button to change a setting."
        )
    elif chat.frequency == "off":
        lines.append("Tap how often you want digests, or another button to change a setting.")
    else:
        lines.append(
            "Tap how often, the hour of day"
            + (", the day" if chat.frequency == "weekly" else "")
            + ", bullets per article, link previews or pause."
        )
    lines.append(
        "Or send /time 08:00, /timezone Europe/London, /frequency weekly mon, "
        "/bullets 3, /preview on."
    )
    return "\n".join(lines)


def _rows(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[start : start + width] for start in range(0, len(buttons), width)]


def settings_keyboard(services: Services, chat: ChatSettings) -> InlineKeyboardMarkup:
    def button(label: str, field: str, value: str, current: bool) -> InlineKeyboardButton:
        data = callbacks.encode(SET, chat.chat_id, field, value, key=services.callback_key)
        return InlineKeyboardButton((CURRENT if current else "") + label, callback_data=data)

    rows = [
        [
            button(f.title(), "f", f, chat.frequency == f)
            for f in ("hourly", "daily", "weekly", "off")
        ]
    ]
    if chat.frequency == "weekly":
        days = [
            button(day, "w", str(index), chat.weekday == index)
            for index, day in enumerate(_DAY_BUTTONS)
        ]
        rows += _rows(days, 7)
    if chat.frequency == "hourly":
        rows.append(
            [
                button(f"at :{minute:02d}", "m", str(minute), chat.digest_time.minute == minute)
                for minute in _MINUTE_CHOICES
            ]
        )
    elif chat.frequency != "off":
        hours = [
            button(f"{hour:02d}:00", "t", f"{hour:02d}:00", chat.digest_time == time(hour))
            for hour in range(24)
        ]
        rows += _rows(hours, _HOURS_PER_ROW)
    bullets = [
        button(f"{n} bullet{'s' if n > 1 else ''}", "b", str(n), chat.bullets == n)
        for n in range(MIN_BULLETS, MAX_BULLETS + 1)
    ]
    rows += _rows(bullets, 5)
    rows.append(
        [
            button(
                "Turn link previews " + ("off" if chat.link_preview else "on"),
                "p",
                "off" if chat.link_preview else "on",
                False,
            ),
            button(
                "Resume digests" if chat.paused else "Pause digests",
                "z",
                "off" if chat.paused else "on",
                False,
            ),
        ]
    )
    return InlineKeyboardMarkup(rows)


def _button_change(field: str, value: str, chat: ChatSettings) -> dict[str, Any]:
    if field == "f":
        frequency, weekday = parse_frequency(value)
        return {"frequency": frequency} | ({"weekday": weekday} if weekday is not None else {})
    if field == "w" and value.isdigit() and int(value) < len(WEEKDAY_NAMES):
        return {"weekday": int(value)}
    if field == "m" and value.isdigit() and int(value) < 60:
        return {"digest_time": chat.digest_time.replace(minute=int(value))}
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
    await reply(
        update,
        settings_text(chat, services.clock()),
        keyboard=settings_keyboard(services, chat),
    )


async def settings_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, button: callbacks.Callback
) -> None:
    query = update.callback_query
    assert query is not None
    services = services_of(context)
    before = await ensure_chat(update, services)
    try:
        field, value = button.args
        changes = _button_change(field, value, before)
    except (ValueError, UsageError):
        await query.answer("This button is out of date. Send /settings again.")
        return
    if not await may_change_chat(update, context):
        return
    chat = await apply_changes(services, before, **changes)
    await query.answer(" ".join(describe_changes(before, chat, changes))[:200])
    try:
        await query.edit_message_text(
            settings_text(chat, services.clock()),
            parse_mode="HTML",
            reply_markup=settings_keyboard(services, chat),
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
        updated = await apply_changes(services, chat, **changes)
        await reply(update, escape(change_report(chat, updated, changes, services.clock())))

    return handler


def _time_change(text: str) -> dict[str, time]:
    return {"digest_time": parse_time(text)}


def _frequency_change(text: str) -> dict[str, Any]:
    frequency, weekday = parse_frequency(text)
    return {"frequency": frequency} | ({"weekday": weekday} if weekday is not None else {})


async def timezone_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/timezone NAME changes it; without a name, says which zone is set and its time now."""
    if context.args:
        await _set_timezone(update, context)
        return
    services = services_of(context)
    chat = await ensure_chat(update, services)
    now = services.clock()
    whose = "Your" if is_private(update) else "This group's"
    await reply(
        update,
        escape(
            f"{whose} timezone is {zone_label(chat.timezone)}; "
            f"the time there is {format_local(now, chat.timezone)}. "
            "Change it with /timezone Europe/Berlin or /timezone UTC+8."
        ),
    )


_set_timezone = _direct(
    lambda text: {"timezone": parse_timezone(text)},
    "Send a timezone name: /timezone Asia/Shanghai",
)


async def pause_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _set_paused(update, context, paused=True)


async def resume_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _set_paused(update, context, paused=False)


async def _set_paused(update: Update, context: ContextTypes.DEFAULT_TYPE, *, paused: bool) -> None:
    services = services_of(context)
    chat = await ensure_chat(update, services)
    if not await may_change_chat(update, context):
        return
    updated = await apply_changes(services, chat, paused=paused)
    await reply(update, escape(change_report(chat, updated, {"paused"}, services.clock())))


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
    CommandHandler("timezone", timezone_command),
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
            f"How many bullets per article, {MIN_BULLETS} to {MAX_BULLETS}: /bullets 3",
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
