"""Welcoming people: /start (with deep-link topics), /help, and the greeting in a new group."""

from __future__ import annotations

from telegram import ChatMemberUpdated, Update
from telegram.constants import ChatMemberStatus
from telegram.ext import ChatMemberHandler, CommandHandler, ContextTypes

from bot.commands import COMMANDS, GROUP_ADMIN_COMMANDS, topic_command_description
from bot.handlers.common import (
    NO_PREVIEW,
    chat_translator,
    ensure_chat,
    is_bot_admin,
    is_group_admin,
    is_private,
    may_change_chat,
    next_digest_text,
    reply,
    schedule_text,
    services_of,
    translator,
)
from bot.handlers.subscriptions import subscribe, topics_keyboard
from bot.i18n import N_, Translator, join_sentences
from bot.parsing import shorten_user_text
from bot.render import escape
from bot.selection import TOPIC
from bot.services import Services
from bot.store import ChatSettings, Subscription

INTRO = N_(
    "I read the regional news so you don't have to: every article condensed into a few "
    "bullet points, sent to you as a digest at the time you choose.\n\n"
    "Tap a topic below to follow it, or follow keywords with /subscribe. "
    "/digest shows what is new now, /search finds articles, /help lists everything."
)
GROUP_INTRO = N_(
    "I read the regional news so this group doesn't have to: every article condensed into a "
    "few bullet points, sent here as a digest at the time its administrators choose.\n\n"
    "Administrators tap a topic below to follow it, or follow keywords with /subscribe. "
    "/digest shows what is new now, /search finds articles, /help lists everything."
)


def intro(t: Translator, *, private: bool) -> str:
    """What the bot does, said to one reader or to a group."""
    return t.gettext(INTRO if private else GROUP_INTRO)


def help_text(
    services: Services,
    t: Translator,
    *,
    admin: bool,
    bot_username: str | None = None,
    group_admin: bool = True,
) -> str:
    """Every command with what it does. In a group (`bot_username` given) commands read
    /cmd@BotName, as the group must send them, and the commands that change the group are
    listed to its administrators only."""
    mention = f"@{bot_username}" if bot_username else ""
    lines = ["<b>" + escape(t.gettext("Commands")) + "</b>"]
    lines += [
        f"/{command.name}{mention} — {escape(command.describe(t, group=bool(mention)))}"
        for command in COMMANDS
        if (admin or not command.admin_only)
        and (group_admin or command.name not in GROUP_ADMIN_COMMANDS)
    ]
    if not group_admin:
        lines.append(
            escape(
                t.gettext("This group's administrators can also change what it follows and when.")
            )
        )
    lines += ["", "<b>" + escape(t.gettext("Topic digests")) + "</b>"]
    lines += [
        f"/{name}{mention} — {escape(topic_command_description(topic, t))}"
        for name, topic in services.topic_commands.items()
    ]
    lines += ["", escape(t.gettext("In a private chat, any other message is a search."))]
    return "\n".join(lines)


async def start_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    chat = await ensure_chat(update, services)
    t = translator(services, update, chat)
    payload = " ".join(context.args or []).strip()
    note = ""
    if payload:
        topic = services.topic(payload) or services.topic_commands.get(payload.casefold())
        if topic is None:
            # Typed by hand, a payload can be thousands of characters: echo it shortened.
            note = "\n\n" + t.gettext(
                "There is no topic “{name}”; here are the ones there are."
            ).format(name=escape(shorten_user_text(payload)))
        elif await may_change_chat(update, context):
            note = "\n\n" + await subscribe(services, chat, Subscription(TOPIC, topic.name), t)
    keyboard = await topics_keyboard(services, chat.chat_id, t)
    text = (
        escape(intro(t, private=is_private(update)))
        + note
        + "\n\n"
        + schedule_note(services, chat, t)
    )
    await reply(update, text, keyboard=keyboard)


def schedule_note(services: Services, chat: ChatSettings, t: Translator) -> str:
    """When digests come and the next one, in HTML: a newcomer learns the default schedule."""
    schedule = t.gettext(
        "Digests come on this schedule: {schedule} {next_digest} /settings changes it."
    ).format(
        schedule=schedule_text(chat, t), next_digest=next_digest_text(chat, services.clock(), t)
    )
    return escape(schedule)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    t = await chat_translator(update, services)
    group = not is_private(update)
    text = help_text(
        services,
        t,
        admin=is_bot_admin(update, services),
        bot_username=context.bot.username if group else None,
        group_admin=not group or await is_group_admin(update, context),
    )
    await reply(update, text)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command no handler took: one line pointing to /help. In a group, only when it was
    addressed to this bot (/cmd@ThisBot): a bare /cmd may be meant for another bot there."""
    message = update.effective_message
    if message is None or not message.text:
        return
    command, _, addressee = message.text.split(maxsplit=1)[0].partition("@")
    if addressee.casefold() != (context.bot.username or "").casefold() and (
        addressee or not is_private(update)
    ):
        return
    t = await chat_translator(update, services_of(context))
    text = t.gettext("I don't know {command}. /help lists what I can do.")
    await reply(update, escape(text.format(command=command[:40])))


def _was_added(change: ChatMemberUpdated) -> bool:
    before, after = change.old_chat_member.status, change.new_chat_member.status
    absent = (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)
    return before in absent and after not in absent


async def bot_membership_changed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greets a group the bot was added to; a chat that blocked or removed it is deactivated.

    Nothing is deleted on removal (/stop does that): a user who unblocks the bot and writes
    again finds their subscriptions as they left them.
    """
    change = update.my_chat_member
    if change is None:
        return
    services = services_of(context)
    if change.new_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        await services.store.deactivate_chat(change.chat.id, "the bot was blocked or removed")
        return
    if change.chat.type == "private" or not _was_added(change):
        return
    chat = await ensure_chat(update, services)
    t = translator(services, update, chat)
    keyboard = await topics_keyboard(services, chat.chat_id, t)
    hello = (
        t.gettext("Hello, {group}!").format(group=escape(change.chat.title))
        if change.chat.title
        else t.gettext("Hello, everyone!")
    )
    # The group's introduction already says that its administrators choose what it follows.
    greeting = join_sentences([hello, escape(intro(t, private=False))], t)
    greeting += "\n\n" + schedule_note(services, chat, t)
    await context.bot.send_message(
        change.chat.id,
        greeting,
        parse_mode="HTML",
        reply_markup=keyboard,
        link_preview_options=NO_PREVIEW,
    )


HANDLERS = [
    CommandHandler("start", start_command),
    CommandHandler("help", help_command),
    ChatMemberHandler(bot_membership_changed, ChatMemberHandler.MY_CHAT_MEMBER),
]
