"""The `bot.user_sources` section of the configuration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from summaries.yamlfile import Section


@dataclass(frozen=True)
class UserSourceSettings:
    """Limits for sources that chats add with /add or an OPML file."""

    enabled: bool = True
    max_per_chat: int = 20
    adds_per_user_per_hour: int = 10
    min_interval_minutes: int = 30
    pause_after_days: int = 3
    requests_per_second: float = 2.0
    concurrency: int = 4
    new_links_per_poll: int = 10
    allowed_hosts: frozenset[str] = frozenset()


def _range(low: float, high: float) -> Callable[[float], str | None]:
    return lambda value: None if low <= value <= high else f"must be from {low} to {high}"


def _hosts(section: Section) -> frozenset[str]:
    hosts = section.get("allowed_hosts", list, [])
    for index, host in enumerate(hosts):
        if not isinstance(host, str) or not host.strip() or "/" in host:
            raise section.error("allowed_hosts", f"entry {index + 1} must be a host name")
    return frozenset(host.strip().lower().rstrip(".") for host in hosts)


def read_user_source_settings(section: Section) -> UserSourceSettings:
    settings = UserSourceSettings(
        enabled=section.get("enabled", bool, True),
        max_per_chat=section.get("max_per_chat", int, 20, check=_range(1, 500)),
        adds_per_user_per_hour=section.get(
            "adds_per_user_per_hour", int, 10, check=_range(1, 1000)
        ),
        min_interval_minutes=section.get(
            "min_interval_minutes", int, 30, check=_range(1, 24 * 60)
        ),
        pause_after_days=section.get("pause_after_days", int, 3, check=_range(1, 365)),
        requests_per_second=section.get(
            "requests_per_second", float, 2.0, check=_range(0.01, 100)
        ),
        concurrency=section.get("concurrency", int, 4, check=_range(1, 64)),
        new_links_per_poll=section.get("new_links_per_poll", int, 10, check=_range(1, 100)),
        allowed_hosts=_hosts(section),
    )
    section.reject_unknown()
    return settings
