"""Builders for Bot API objects as JSON dicts: users, chats, messages, commands, button presses.

This is the one place tests build updates. Each function returns exactly what the Bot API would
send (PTB's ``Update.de_json`` accepts it), so tests can hand them to the fake server or to
``telegram.Update.de_json`` directly.
"""

from __future__ import annotations

import time
from typing import Any

from tests.support.telegram_html import utf16_length

JSON = dict[str, Any]

# Telegram's ids: users are positive, basic groups small negatives, supergroups -100xxxxxxxxxx.
SUPERGROUP_ID_FLOOR = -1_000_000_000_000


def now_unix() -> int:
    return int(time.time())


def user(
    user_id: int = 1001,
    first_name: str = "Alice",
    *,
    username: str | None = None,
    last_name: str | None = None,
    language_code: str | None = "en",
    is_bot: bool = False,
) -> JSON:
    """A Telegram ``User``."""
    data: JSON = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
    if last_name is not None:
        data["last_name"] = last_name
    if username is not None:
        data["username"] = username
    if language_code is not None:
        data["language_code"] = language_code
    return data


def users(count: int, *, first_id: int = 10_000) -> list[JSON]:
    """``count`` distinct users, handy for fan-out tests and benchmarks."""
    return [user(first_id + index, f"User{index}") for index in range(count)]


def bot_user(bot_id: int, username: str, first_name: str = "Digest Test Bot") -> JSON:
    """The bot's own ``User``, as getMe and message ``from`` fields show it."""
    return {"id": bot_id, "is_bot": True, "first_name": first_name, "username": username}


def private_chat(of_user: JSON) -> JSON:
    """The private ``Chat`` between the bot and ``of_user`` (same id as the user)."""
    chat: JSON = {"id": of_user["id"], "type": "private", "first_name": of_user["first_name"]}
    for key in ("last_name", "username"):
        if key in of_user:
            chat[key] = of_user[key]
    return chat


def group(chat_id: int = -4001, title: str = "Test group") -> JSON:
    """A basic group ``Chat``."""
    if chat_id >= 0:
        raise ValueError(f"group ids are negative, got {chat_id}")
    return {"id": chat_id, "type": "group", "title": title}


def supergroup(
    chat_id: int = -1_001_000_000_001, title: str = "Test supergroup", username: str | None = None
) -> JSON:
    """A supergroup ``Chat`` (ids below -10**12, as Telegram gives them)."""
    if chat_id > SUPERGROUP_ID_FLOOR:
        raise ValueError(f"supergroup ids are below {SUPERGROUP_ID_FLOOR}, got {chat_id}")
    chat: JSON = {"id": chat_id, "type": "supergroup", "title": title}
    if username is not None:
        chat["username"] = username
    return chat


def chat_for_id(chat_id: int) -> JSON:
    """A plausible ``Chat`` for a bare id: private above zero, else a group or supergroup."""
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
    if chat_id <= SUPERGROUP_ID_FLOOR:
        return supergroup(chat_id, title=f"Supergroup {chat_id}")
    return group(chat_id, title=f"Group {chat_id}")


def is_group(chat: JSON) -> bool:
    return chat["type"] in ("group", "supergroup")


def message(
    chat: JSON,
    sender: JSON,
    text: str,
    *,
    message_id: int,
    date: int | None = None,
    entities: list[JSON] | None = None,
) -> JSON:
    """A text ``Message`` from ``sender`` in ``chat``."""
    data: JSON = {
        "message_id": message_id,
        "from": sender,
        "chat": chat,
        "date": now_unix() if date is None else date,
        "text": text,
    }
    if entities:
        data["entities"] = entities
    return data


def command_text(name: str, args: str = "", *, bot_username: str | None = None) -> str:
    """``/name`` or ``/name@bot_username``, followed by the arguments if any."""
    command = f"/{name}" if bot_username is None else f"/{name}@{bot_username}"
    return f"{command} {args}" if args else command


def command_message(
    chat: JSON,
    sender: JSON,
    name: str,
    args: str = "",
    *,
    message_id: int,
    bot_username: str | None = None,
) -> JSON:
    """A command ``Message`` with its ``bot_command`` entity, as Telegram clients send it.

    Pass ``bot_username`` for the ``/cmd@BotName`` form that groups use.
    """
    text = command_text(name, args, bot_username=bot_username)
    command_part = text.split(" ", 1)[0]
    entity = {"type": "bot_command", "offset": 0, "length": utf16_length(command_part)}
    return message(chat, sender, text, message_id=message_id, entities=[entity])


def callback_query(
    query_id: str, sender: JSON, bot_message: JSON, data: str, *, chat_instance: str | None = None
) -> JSON:
    """A ``CallbackQuery``: ``sender`` pressed a button carrying ``data`` under ``bot_message``."""
    instance = chat_instance or str(abs(hash(bot_message["chat"]["id"])))
    return {
        "id": query_id,
        "from": sender,
        "message": bot_message,
        "chat_instance": instance,
        "data": data,
    }


def chat_member(member: JSON, status: str = "member") -> JSON:
    """A ``ChatMember`` of any status, with every field PTB requires for it."""
    if status == "creator":
        return {"status": status, "user": member, "is_anonymous": False}
    if status == "administrator":
        rights = [
            "can_manage_chat",
            "can_delete_messages",
            "can_manage_video_chats",
            "can_restrict_members",
            "can_change_info",
            "can_invite_users",
            "can_post_stories",
            "can_edit_stories",
            "can_delete_stories",
            "can_pin_messages",
        ]
        return {
            "status": status,
            "user": member,
            "can_be_edited": False,
            "is_anonymous": False,
            "can_promote_members": False,
            **dict.fromkeys(rights, True),
        }
    if status == "kicked":
        return {"status": status, "user": member, "until_date": 0}
    if status == "restricted":
        raise ValueError("restricted members are not modelled; use member, left or kicked")
    return {"status": status, "user": member}


def my_chat_member(
    chat: JSON, by_user: JSON, bot: JSON, *, old_status: str, new_status: str
) -> JSON:
    """A ``ChatMemberUpdated`` about the bot itself (added, removed, blocked, unblocked)."""
    return {
        "chat": chat,
        "from": by_user,
        "date": now_unix(),
        "old_chat_member": chat_member(bot, old_status),
        "new_chat_member": chat_member(bot, new_status),
    }


def new_chat_members_message(
    chat: JSON, by_user: JSON, members: list[JSON], *, message_id: int
) -> JSON:
    """The service ``Message`` a group shows when ``by_user`` adds ``members``."""
    return {
        "message_id": message_id,
        "from": by_user,
        "chat": chat,
        "date": now_unix(),
        "new_chat_members": members,
    }


def update(update_id: int, kind: str, payload: JSON) -> JSON:
    """An ``Update`` carrying ``payload`` under ``kind`` (message, callback_query, ...)."""
    return {"update_id": update_id, kind: payload}


def update_kind(an_update: JSON) -> str:
    """Which kind of update this is: the one key besides ``update_id``."""
    return next(key for key in an_update if key != "update_id")
