"""The command list: one source for /help, the published command menu and the README."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.i18n import N_, Translator, topic_title
from summaries.models import Topic

_VALID_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # English, marked for translation; shown through Translator.gettext
    admin_only: bool = False
    # What it says in a group, where "your" would mean the member reading (None: the same).
    group_description: str | None = None

    def describe(self, t: Translator, *, group: bool = False) -> str:
        """What the command does, in t's language, as a private chat or a group reads it."""
        return t.gettext((group and self.group_description) or self.description)


COMMANDS: tuple[Command, ...] = (
    Command("start", N_("What this bot does; subscribe to topics with one tap")),
    Command("help", N_("Every command, with what it does")),
    Command("topics", N_("Topics you can follow; tap to subscribe or unsubscribe")),
    Command("subscribe", N_("Follow a topic or keywords: /subscribe quantum")),
    Command("unsubscribe", N_("Stop following a topic or keywords, or all")),
    Command(
        "list",
        N_("Your subscriptions and digest schedule"),
        group_description=N_("This group's subscriptions and digest schedule"),
    ),
    Command(
        "digest",
        N_("The new articles for you, now"),
        group_description=N_("The new articles for this group, now"),
    ),
    Command("search", N_("Find stored articles: /search satellite internet")),
    Command("add", N_("Follow a feed or news page: /add https://example.org/news")),
    Command(
        "sources",
        N_("Your own sources, their health, and remove buttons"),
        group_description=N_("This group's own sources, their health, and remove buttons"),
    ),
    Command(
        "export",
        N_("Your own sources as an OPML file"),
        group_description=N_("This group's own sources as an OPML file"),
    ),
    Command(
        "settings",
        N_("When and how you get digests"),
        group_description=N_("When and how this group gets digests"),
    ),
    Command("language", N_("The language I write in: /language zh")),
    Command("time", N_("Digest time of day: /time 08:00")),
    Command(
        "timezone",
        N_("Your timezone: /timezone Asia/Shanghai"),
        group_description=N_("This group's timezone: /timezone Asia/Shanghai"),
    ),
    Command("frequency", N_("How often: /frequency daily|weekly|hourly|off")),
    Command("bullets", N_("Bullets per article: /bullets 3")),
    Command("preview", N_("Link previews in digests: /preview on|off")),
    Command("pause", N_("Pause scheduled digests")),
    Command("resume", N_("Resume scheduled digests")),
    Command("stop", N_("Unsubscribe and delete everything stored about this chat")),
    Command("stats", N_("Bot statistics and source health (admins)"), admin_only=True),
    Command("refresh", N_("Fetch all sources now (admins)"), admin_only=True),
)
RESERVED = frozenset(command.name for command in COMMANDS)
# What changes a chat's subscriptions or settings: in a group, for its administrators only.
GROUP_ADMIN_COMMANDS = frozenset(
    {
        "subscribe",
        "add",
        "unsubscribe",
        "settings",
        "language",
        "time",
        "timezone",
        "frequency",
        "bullets",
        "preview",
        "pause",
        "resume",
        "stop",
    }
)


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


def topic_command_description(topic: Topic, t: Translator) -> str:
    return t.gettext("Latest {topic} news").format(topic=topic_title(topic, t))


def menu(topics: Iterable[Topic], t: Translator, *, group: bool = False) -> list[tuple[str, str]]:
    """The (command, description) pairs published with setMyCommands, in t's language (as
    groups read them, with `group`)."""
    entries = [
        (command.name, command.describe(t, group=group))
        for command in COMMANDS
        if not command.admin_only
    ]
    entries += [
        (name, topic_command_description(topic, t)[:256])
        for name, topic in topic_commands(topics).items()
    ]
    return entries
