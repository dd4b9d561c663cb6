"""When and how a chat hears from the bot: /settings buttons and the direct commands."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from datetime import datetime, time
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler, ContextTypes

from bot import callbacks
from bot.handlers.common import (
    argument_text,
    chat_translator,
    edit_in_place,
    ensure_chat,
    is_private,
    may_change_chat,
    next_digest_text,
    reply,
    reply_usage,
    schedule_text,
    services_of,
    translator,
)
from bot.i18n import N_, Translator
from bot.parsing import (
    FREQUENCY_BUTTONS,
    FREQUENCY_VALUES,
    MAX_BULLETS,
    MIN_BULLETS,
    SWITCH_VALUES,
    WEEKLY_ON,
    UsageError,
    parse_bullets,
    parse_frequency,
    parse_switch,
    parse_time,
    parse_timezone,
)
from bot.render import escape
from bot.schedule import WEEKDAY_NAMES, format_local, next_digest_at, weekday_name, zone_label
from bot.services import Services
from bot.store import ChatSettings

SET = "set"
STOP = "stop"
_SCHEDULE_FIELDS = {"digest_time", "timezone", "frequency", "weekday", "paused"}
_HOURS_PER_ROW = 6
_MINUTE_CHOICES = (0, 15, 30, 45)
CURRENT = "✓ "


def _frequency_value(chat: ChatSettings, t: Translator) -> str:
    if chat.frequency == "weekly":
        return t.gettext(WEEKLY_ON).format(weekday=weekday_name(chat.weekday, t))
    return t.gettext(FREQUENCY_VALUES[chat.frequency])


def _switch(on: bool, t: Translator) -> str:
    return t.gettext(SWITCH_VALUES[on])


# Each setting as people read it: what it is called and how its value is shown.
_SETTINGS: dict[str, tuple[str, Callable[[ChatSettings, Translator], str]]] = {
    "frequency": (N_("How often"), _frequency_value),
    "digest_time": (N_("Digest time"), lambda chat, t: f"{chat.digest_time:%H:%M}"),
    "timezone": (N_("Timezone"), lambda chat, t: zone_label(chat.timezone)),
    "bullets": (N_("Bullets per article"), lambda chat, t: str(chat.bullets)),
    "link_preview": (N_("Link previews"), lambda chat, t: _switch(chat.link_preview, t)),
    "paused": (
        N_("Scheduled digests"),
        lambda chat, t: t.gettext("paused") if chat.paused else t.gettext("active"),
    ),
}


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


def describe_changes(
    old: ChatSettings, new: ChatSettings, fields: Iterable[str], t: Translator
) -> list[str]:
    """One sentence per changed setting: its name, its new value and the old one."""
    names = {"frequency" if field == "weekday" else field for field in fields}
    sentences = []
    for field, (label, value) in _SETTINGS.items():
        if field not in names:
            continue
        before, after = value(old, t), value(new, t)
        if before == after:
            sentence = t.gettext("{setting}: {value} (unchanged).")
        else:
            sentence = t.gettext("{setting}: {value} (was {old}).")
        sentences.append(sentence.format(setting=t.gettext(label), value=after, old=before))
    return sentences


def change_report(
    old: ChatSettings, new: ChatSettings, fields: Iterable[str], now: datetime, t: Translator
) -> str:
    """What a settings change did, as plain text: the values, then the next digest if moved."""
    fields = set(fields)
    lines = describe_changes(old, new, fields, t)
    if new.frequency == "hourly" and "digest_time" in fields:
        lines.append(
            t.gettext(
                "Hourly digests come every hour at minute :{minute}; only the minutes "
                "of a time count until you choose /frequency daily or weekly."
            ).format(minute=f"{new.digest_time:%M}")
        )
    if _SCHEDULE_FIELDS & fields:
        lines += schedule_lines(new, now, t)
    return "\n".join(lines)


def schedule_lines(chat: ChatSettings, now: datetime, t: Translator) -> list[str]:
    """The schedule and the next digest; with digests off, "no scheduled digests", said once."""
    if chat.frequency == "off":
        return [next_digest_text(chat, now, t)]
    return [
        t.gettext("Schedule: {schedule}").format(schedule=schedule_text(chat, t)),
        next_digest_text(chat, now, t),
    ]


def _bullets_line(chat: ChatSettings, _now: datetime, t: Translator) -> list[str]:
    return [t.gettext("Bullets per article: {count}").format(count=chat.bullets)]


def _preview_line(chat: ChatSettings, _now: datetime, t: Translator) -> list[str]:
    return [t.gettext("Link previews: {state}").format(state=_switch(chat.link_preview, t))]


def _tap_hint(chat: ChatSettings, t: Translator) -> str:
    if chat.frequency == "hourly":
        return t.gettext(
            "Hourly: a digest every hour at the minute you choose below. "
            "Tap a button to change a setting."
        )
    if chat.frequency == "off":
        return t.gettext("Tap a button to change a setting.")
    if chat.frequency == "weekly":
        return t.gettext(
            "Tap how often, the hour of day, the day, bullets per article, link previews or pause."
        )
    return t.gettext(
        "Tap how often, the hour of day, bullets per article, link previews or pause."
    )


def settings_text(chat: ChatSettings, now: datetime, t: Translator) -> str:
    if chat.frequency == "off":
        # One sentence: "off" and "no next digest" are the same news.
        schedule = [
            t.gettext(
                "Schedule: scheduled digests are off. Tap Daily, Weekly or Hourly below, "
                "or send /frequency daily, to turn them on."
            )
        ]
    else:
        schedule = [
            t.gettext("Schedule: {schedule}").format(schedule=schedule_text(chat, t)),
            next_digest_text(chat, now, t),
        ]
    lines = [
        "<b>" + escape(t.gettext("Settings")) + "</b>",
        *schedule,
        *_bullets_line(chat, now, t),
        *_preview_line(chat, now, t),
        "",
        _tap_hint(chat, t),
        t.gettext(
            "Or send /time 08:00, /timezone Europe/London, /frequency weekly mon, "
            "/bullets 3, /preview on."
        ),
    ]
    return "\n".join([lines[0], *(escape(line) for line in lines[1:])])


def _rows(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[start : start + width] for start in range(0, len(buttons), width)]


def settings_keyboard(
    services: Services, chat: ChatSettings, t: Translator
) -> InlineKeyboardMarkup:
    def button(label: str, field: str, value: str, current: bool) -> InlineKeyboardButton:
        data = callbacks.encode(SET, chat.chat_id, field, value, key=services.callback_key)
        return InlineKeyboardButton((CURRENT if current else "") + label, callback_data=data)

    rows = [
        [
            button(t.gettext(label), "f", f, chat.frequency == f)
            for f, label in FREQUENCY_BUTTONS.items()
        ]
    ]
    if chat.frequency == "weekly":
        days = [
            button(weekday_name(index, t, "abbreviated"), "w", str(index), chat.weekday == index)
            for index in range(len(WEEKDAY_NAMES))
        ]
        rows += _rows(days, 7)
    if chat.frequency == "hourly":
        rows.append(
            [
                button(
                    t.gettext("at :{minute}").format(minute=f"{minute:02d}"),
                    "m",
                    str(minute),
                    chat.digest_time.minute == minute,
                )
                for minute in _MINUTE_CHOICES
            ]
        )
    elif chat.frequency != "off":
        # Each hour at the chosen minutes: after /time 20:30 the buttons read 08:30, 20:30...
        minute = chat.digest_time.minute
        hours = [
            button(
                f"{hour:02d}:{minute:02d}",
                "t",
                f"{hour:02d}:{minute:02d}",
                chat.digest_time == time(hour, minute),
            )
            for hour in range(24)
        ]
        rows += _rows(hours, _HOURS_PER_ROW)
    bullets = [
        button(
            t.ngettext("{count} bullet", "{count} bullets", n).format(count=n),
            "b",
            str(n),
            chat.bullets == n,
        )
        for n in range(MIN_BULLETS, MAX_BULLETS + 1)
    ]
    rows += _rows(bullets, 5)
    last = [
        button(
            t.gettext("Turn link previews off")
            if chat.link_preview
            else t.gettext("Turn link previews on"),
            "p",
            "off" if chat.link_preview else "on",
            False,
        )
    ]
    if chat.paused or chat.frequency != "off":  # digests that are off have nothing to pause
        last.append(
            button(
                t.gettext("Resume digests") if chat.paused else t.gettext("Pause digests"),
                "z",
                "off" if chat.paused else "on",
                False,
            )
        )
    rows.append(last)
    return InlineKeyboardMarkup(rows)


def _minute_change(old: ChatSettings, new: ChatSettings, t: Translator) -> str:
    minute, was = f"{new.digest_time:%M}", f"{old.digest_time:%M}"
    if minute == was:
        return t.gettext("Every hour at minute :{minute} (unchanged).").format(minute=minute)
    return t.gettext("Every hour at minute :{minute} (was :{old}).").format(minute=minute, old=was)


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
    raise ValueError(f"no setting is called {field!r}")  # a forged or outdated button


async def settings_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    chat = await ensure_chat(update, services)
    t = translator(services, update, chat)
    await reply(
        update,
        settings_text(chat, services.clock(), t),
        keyboard=settings_keyboard(services, chat, t),
    )


async def settings_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, button: callbacks.Callback
) -> None:
    query = update.callback_query
    assert query is not None
    services = services_of(context)
    before = await ensure_chat(update, services)
    t = translator(services, update, before)
    try:
        field, value = button.args
        changes = _button_change(field, value, before)
    except (ValueError, UsageError):
        await query.answer(t.gettext("This button is out of date. Send /settings again."))
        return
    if not await may_change_chat(update, context):
        return
    chat = await apply_changes(services, before, **changes)
    if field == "m":  # tapped "at :15": the stored hour is not what changed for this reader
        note = _minute_change(before, chat, t)
    else:
        note = " ".join(describe_changes(before, chat, changes, t))
    await query.answer(note[:200])
    await edit_in_place(
        update, settings_text(chat, services.clock(), t), settings_keyboard(services, chat, t)
    )


Current = Callable[[ChatSettings, datetime, Translator], list[str]]


def _direct(
    parse: Callable[[str, Translator], dict[str, Any]], usage: str, current: Current
) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    """A command that parses its argument (in English or in the words the chat's language
    shows) into setting changes, stores them and confirms. Without an argument it shows the
    `current` value (one asks "/time" to learn when digests come), then how to change it."""

    async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        services = services_of(context)
        chat = await ensure_chat(update, services)
        t = translator(services, update, chat)
        if not context.args:
            how = t.gettext(usage).format(low=MIN_BULLETS, high=MAX_BULLETS)
            lines = [*current(chat, services.clock(), t), how]
            await reply(update, escape("\n".join(lines)))
            return
        try:
            changes = parse(argument_text(context), t)
        except UsageError as error:
            await reply_usage(update, t, error)
            return
        if not await may_change_chat(update, context):
            return
        updated = await apply_changes(services, chat, **changes)
        await reply(update, escape(change_report(chat, updated, changes, services.clock(), t)))

    return handler


def _time_change(text: str, _t: Translator) -> dict[str, time]:
    return {"digest_time": parse_time(text)}


def _frequency_change(text: str, t: Translator) -> dict[str, Any]:
    frequency, weekday = parse_frequency(text, t)
    return {"frequency": frequency} | ({"weekday": weekday} if weekday is not None else {})


async def timezone_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/timezone NAME changes it; without a name, says which zone is set and its time now."""
    if context.args:
        await _set_timezone(update, context)
        return
    services = services_of(context)
    chat = await ensure_chat(update, services)
    t = translator(services, update, chat)
    if is_private(update):
        text = t.gettext(
            "Your timezone is {zone}; the time there is {time}. "
            "Change it with /timezone Europe/Berlin or /timezone UTC+8."
        )
    else:
        text = t.gettext(
            "This group's timezone is {zone}; the time there is {time}. "
            "Change it with /timezone Europe/Berlin or /timezone UTC+8."
        )
    zone = zone_label(chat.timezone)
    now = format_local(services.clock(), chat.timezone, t)
    await reply(update, escape(text.format(zone=zone, time=now)))


_set_timezone = _direct(
    lambda text, _t: {"timezone": parse_timezone(text)},
    N_("Send a timezone name: /timezone Asia/Shanghai"),
    schedule_lines,  # not shown: timezone_command answers /timezone alone itself
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
    t = translator(services, update, updated)
    await reply(update, escape(change_report(chat, updated, {"paused"}, services.clock(), t)))


async def stop_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Asks first: deleting everything is one tap away, but never one typo away."""
    services = services_of(context)
    chat = update.effective_chat
    assert chat is not None
    if not await may_change_chat(update, context):
        return
    t = await chat_translator(update, services)

    def button(label: str, answer: str) -> InlineKeyboardButton:
        data = callbacks.encode(STOP, chat.id, answer, key=services.callback_key)
        return InlineKeyboardButton(label, callback_data=data)

    question = t.gettext(
        "This stops every digest and deletes everything stored about this chat: "
        "its subscriptions and settings. Are you sure?"
    )
    await reply(
        update,
        escape(question),
        keyboard=InlineKeyboardMarkup(
            [
                [
                    button(t.gettext("Yes, delete everything"), "yes"),
                    button(t.gettext("Cancel"), "no"),
                ]
            ]
        ),
    )


async def stop_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, button: callbacks.Callback
) -> None:
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    services = services_of(context)
    if not await may_change_chat(update, context):
        return
    t = await chat_translator(update, services)  # read before the chat's language is deleted
    if button.args != ("yes",):
        await query.answer(t.gettext("Nothing was deleted."))
        await query.edit_message_text(
            escape(t.gettext("Nothing was deleted; everything stays as it was.")),
            parse_mode="HTML",
        )
        return
    await services.store.delete_chat(chat.id)
    if context.chat_data is not None:
        context.chat_data.clear()
    await query.answer(t.gettext("Deleted."))
    text = t.gettext(
        "Stopped. Everything stored about this chat is deleted. /start brings me back any time."
    )
    await query.edit_message_text(escape(text), parse_mode="HTML")


HANDLERS = [
    CommandHandler("settings", settings_command),
    CommandHandler(
        "time",
        _direct(_time_change, N_("Send the time of day as HH:MM: /time 08:00"), schedule_lines),
    ),
    CommandHandler("timezone", timezone_command),
    CommandHandler(
        "frequency",
        _direct(
            _frequency_change,
            N_(
                "Choose one: /frequency daily, /frequency weekly mon, "
                "/frequency hourly or /frequency off"
            ),
            schedule_lines,
        ),
    ),
    CommandHandler(
        "bullets",
        _direct(
            lambda text, _t: {"bullets": parse_bullets(text)},
            N_("How many bullets per article, {low} to {high}: /bullets 3"),
            _bullets_line,
        ),
    ),
    CommandHandler(
        "preview",
        _direct(
            lambda text, t: {"link_preview": parse_switch(text, t=t)},
            N_("Link previews on or off: /preview on"),
            _preview_line,
        ),
    ),
    CommandHandler("pause", pause_command),
    CommandHandler("resume", resume_command),
    CommandHandler("stop", stop_command),
]
BUTTONS = {SET: settings_button, STOP: stop_button}
