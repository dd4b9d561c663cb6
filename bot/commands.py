"""The command list: one source for /help, the published command menu and the README."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from summaries.models import Topic

_VALID_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")


@dataclass(frozen=True)
class Command:
    name: str
    description: str
    admin_only: bool = False


COMMANDS: tuple[Command, ...] = (
    Command("start", "What this bot does; subscribe to topics with one tap"),
    Command("help", "Every command, with what it does"),
    Command("topics", "Topics you can follow; tap to subscribe or unsubscribe"),
    Command("subscribe", "Follow a topic or keywords: /subscribe quantum"),
    Command("unsubscribe", "Stop following a topic or keywords, or all"),
    Command("list", "Your subscriptions and digest schedule"),
    Command("digest", "The new articles for you, now"),
    Command("search", "Find stored articles: /search satellite internet"),
    Command("settings", "When and how you get digests"),
    Command("time", "Digest time of day: /time 08:00"),
    Command("timezone", "Your timezone: /timezone Asia/Shanghai"),
    Command("frequency", "How often: /frequency daily|weekly|hourly|off"),
    Command("bullets", "Bullets per article: /bullets 3"),
    Command("preview", "Link previews in digests: /preview on|off"),
    Command("pause", "Pause scheduled digests"),
    Command("resume", "Resume scheduled digests"),
    Command("stop", "Unsubscribe and delete everything stored about this chat"),
    Command("stats", "Bot statistics and source health (admins)", admin_only=True),
    Command("refresh", "Fetch all sources now (admins)", admin_only=True),
)
RESERVED = frozenset(command.name for command in COMMANDS)


def topic_command(topic: Topic) -> str:
    """A valid Telegram command for a topic: its name, made valid and kept clear of built-ins."""
    name = re.sub(r"[^a-z0-9_]", "_", topic.name.lower())[:32]
    if name in RESERVED:
        name = ("topic_" + name)[:32]
    return name


def topic_commands(topics: Iterable[Topic]) -> dict[str, Topic]:
    commands: dict[str, Topic] = {}
    for topic in topics:
        name = topic_command(topic)
        assert _VALID_COMMAND.match(name), name
        commands[name] = topic
    return commands


def menu(topics: Iterable[Topic]) -> list[tuple[str, str]]:
    """The (command, description) pairs published with setMyCommands."""
    entries = [
        (command.name, command.description) for command in COMMANDS if not command.admin_only
    ]
    entries += [
        (name, f"Latest {topic.title} news"[:256])
        for name, topic in topic_commands(topics).items()
    ]
    return entries
