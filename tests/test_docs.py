"""The command list is written in three places; these tests keep them the same."""

import re
from pathlib import Path

from bot.commands import COMMANDS, menu
from bot.handlers.start import help_text
from bot.i18n import Catalogs
from summaries.config import DEFAULT_CONFIG_PATH, load_config

README = Path(__file__).resolve().parents[1] / "README.md"
ENGLISH = Catalogs.load().get("en")


def readme_commands() -> dict[str, str]:
    rows = re.findall(r"^\| `/(\w+)` \| (.+?) \|$", README.read_text(encoding="utf-8"), re.M)
    return {name: description.replace("\\|", "|") for name, description in rows}


class FakeServices:
    def __init__(self):
        from bot.commands import topic_commands

        self.topic_commands = topic_commands(load_config(DEFAULT_CONFIG_PATH).topics)


def test_readme_lists_every_command_with_the_same_description():
    assert readme_commands() == {command.name: command.description for command in COMMANDS}


def test_help_lists_every_public_command_and_topic_command():
    services = FakeServices()
    text = help_text(services, ENGLISH, admin=False)
    public = [command for command in COMMANDS if not command.admin_only]
    for command in public:
        assert f"/{command.name} — {command.description}".replace("&", "&amp;") in text
    for name in services.topic_commands:
        assert f"/{name} — " in text
    assert "/stats" not in text
    assert "/stats" in help_text(services, ENGLISH, admin=True)


def test_published_menu_matches_help():
    topics = load_config(DEFAULT_CONFIG_PATH).topics
    published = dict(menu(topics, ENGLISH))
    services = FakeServices()
    text = help_text(services, ENGLISH, admin=False)
    for name, description in published.items():
        assert re.fullmatch(r"[a-z0-9_]{1,32}", name)
        assert 3 <= len(description) <= 256
        assert f"/{name} — " in text
    assert {c.name for c in COMMANDS if not c.admin_only} <= published.keys()


def test_readme_says_that_a_chinese_topic_title_follows_the_topic():
    """`/subscribe 量子通信` is the quantum topic's Chinese title in the bundled config, so it
    follows the topic (bot.services.Services.topic_named); quoted, it is the phrase."""
    topics = load_config(DEFAULT_CONFIG_PATH).topics
    quantum = next(topic for topic in topics if topic.name == "quantum")
    assert "量子通信" in dict(quantum.titles).values()
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert "`/subscribe 量子通信` the phrase" not in text
    assert "`/subscribe 量子通信` (the topic's Chinese title) follows the topic" in text
    assert '`/subscribe "量子通信"` the phrase' in text
