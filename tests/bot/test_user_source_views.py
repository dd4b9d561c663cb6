"""What /sources and an OPML import report show always fits one Telegram message."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace

from bot.handlers.sources import _import_report, sources_view
from bot.i18n import Catalogs
from bot.render import utf16_len
from bot.store import ChatDefaults, ChatSettings
from bot.store.user_sources import Follow, UserSource

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
LIMIT = 4096


def source(index: int) -> UserSource:
    return UserSource(
        id=index,
        url="https://news.example/" + "p" * 1000 + str(index),
        kind="feed",
        title="T" * 300,
        last_fetch_at=NOW,
        last_success_at=None,
        last_error="HTTP 500 " + "x" * 1000,
        failing_since=NOW,
        etag=None,
        last_modified=None,
        next_fetch_at=NOW,
        paused=False,
        seen_links=(),
    )


def chat() -> ChatSettings:
    defaults = ChatDefaults()
    return SimpleNamespace(  # type: ignore[return-value]
        chat_id=7, timezone=defaults.timezone, chat_type="private"
    )


def test_twenty_long_sources_fit_one_message():
    t = Catalogs.load().get("en")
    follows = [Follow(7, source(i), "k" * 200) for i in range(20)]
    services = SimpleNamespace(callback_key=b"k" * 32)
    text, keyboard = sources_view(services, chat(), t, follows)  # type: ignore[arg-type]
    assert len(text) < LIMIT
    assert keyboard is not None and sum(len(row) for row in keyboard.inline_keyboard) == 20


def test_a_short_list_shows_failure_reasons_whole_and_a_huge_one_still_fits():
    t = Catalogs.load().get("en")
    services = SimpleNamespace(callback_key=b"k" * 32)
    reason = "the server had a problem and said so at length " * 3
    one = replace(
        source(1), title="Harbour", url="https://harbour.example/feed", last_error=reason
    )
    text, _ = sources_view(services, chat(), t, [Follow(7, one, "")])  # type: ignore[arg-type]
    assert f"last fetch failed: {reason.strip()}" in text
    follows = [Follow(7, source(i), "k" * 200) for i in range(500)]  # max_per_chat allows it
    text, keyboard = sources_view(services, chat(), t, follows)  # type: ignore[arg-type]
    assert utf16_len(text) <= LIMIT
    shown = sum(len(row) for row in keyboard.inline_keyboard)  # type: ignore[union-attr]
    assert 20 <= shown < 500
    assert text.endswith(f"… and {500 - shown} more\n/export sends them as an OPML file.")


def test_an_import_report_of_fifty_failures_fits_one_message():
    t = Catalogs.load().get("en")
    failed = [f"feed {i}: Cannot follow {'u' * 80}: {'r' * 160}" for i in range(50)]
    text = _import_report(t, ["a" * 300] * 50, [], failed, skipped=0)
    assert len(text) < LIMIT
    assert "… and 40 more" in text


def test_unsubscribe_names_a_source_as_it_was_added_keywords_and_all() -> None:
    """Re-walkthrough: `/unsubscribe <url> ferries` (as typed to /add) was not recognised."""
    from bot.handlers.subscriptions import own_source_named
    from bot.store import Subscription

    source = Subscription("source", "http://example.org/feed.xml ferries")
    others = [Subscription("keywords", "ferries"), source]
    assert own_source_named(others, "http://example.org/feed.xml ferries") == source
    assert own_source_named(others, "http://example.org/feed.xml/") == source
    assert own_source_named(others, "  http://example.org/feed.xml  harbour ") == source
    assert own_source_named(others, "http://example.org/other.xml ferries") is None
