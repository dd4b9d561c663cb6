"""Parse command arguments into values, or refuse them with a friendly, specific answer.

Every parser takes any text and either returns a value or raises `UsageError`, whose message is
plain text meant for the user: what was wrong and an example of the right form. (It may echo the
user's text, so escape it before sending it with parse_mode HTML.)
"""

from __future__ import annotations

import difflib
import re
import unicodedata
import zoneinfo
from datetime import time
from functools import cache
from typing import NamedTuple

MAX_ECHO_CHARS = 40
MAX_TIMEZONE_CHARS = 64
MIN_BULLETS = 1
MAX_BULLETS = 10  # as summariser.bullets: every stored digest ranks up to 10
FREQUENCIES = ("hourly", "daily", "weekly", "off")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_TIME = re.compile(
    r"(?P<hour>\d{1,2})(?:\s*[:.：h]\s*(?P<minute>\d{2}))?\s*(?P<half>[ap]\.?\s*m\.?)?",
    re.IGNORECASE,
)
_OFFSET = re.compile(
    r"(?:utc|gmt)?\s*(?P<sign>[+\-−])\s*(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?",
    re.IGNORECASE,
)
_WHITESPACE = re.compile(r"\s+")
# Zones for the offsets that have no Etc/GMT form, to suggest instead.
_FRACTIONAL_OFFSET_ZONES = {
    (1, 3, 30): "Asia/Tehran",
    (1, 4, 30): "Asia/Kabul",
    (1, 5, 30): "Asia/Kolkata",
    (1, 5, 45): "Asia/Kathmandu",
    (1, 6, 30): "Asia/Yangon",
    (1, 8, 45): "Australia/Eucla",
    (1, 9, 30): "Australia/Darwin",
    (1, 10, 30): "Australia/Adelaide",
    (1, 12, 45): "Pacific/Chatham",
    (-1, 3, 30): "America/St_Johns",
    (-1, 9, 30): "Pacific/Marquesas",
}
_SWITCH_VALUES = {
    "on": True,
    "yes": True,
    "true": True,
    "1": True,
    "enable": True,
    "enabled": True,
    "off": False,
    "no": False,
    "false": False,
    "0": False,
    "disable": False,
    "disabled": False,
}
_FREQUENCY_ALIASES = {
    "hourly": "hourly",
    "hour": "hourly",
    "daily": "daily",
    "day": "daily",
    "weekly": "weekly",
    "week": "weekly",
    "off": "off",
    "never": "off",
    "none": "off",
}


class UsageError(ValueError):
    """A command argument the bot cannot use; the message is the answer for the user."""


class Frequency(NamedTuple):
    """How often a chat gets digests; `weekday` (0 = Monday) only for weekly, when given."""

    frequency: str
    weekday: int | None = None


def _echo(text: str) -> str:
    """The user's text, quoted back safely: no controls, one line, short."""
    printable = "".join(" " if _is_control(char) else char for char in text)
    shown = _WHITESPACE.sub(" ", printable).strip()
    if len(shown) > MAX_ECHO_CHARS:
        shown = shown[: MAX_ECHO_CHARS - 1] + "…"
    return f"“{shown}”"


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cs")


# --- time ---------------------------------------------------------------------------------


def parse_time(text: str) -> time:
    """'08:00', '8:30', '8', '8am', '8 pm', '20.15' -> a time of day (24-hour clock)."""
    example = "Send it as HH:MM, for example /time 08:00"
    cleaned = text.strip()
    if not cleaned:
        raise UsageError("Send the time of day as HH:MM, for example /time 08:00")
    match = _TIME.fullmatch(cleaned)
    if match is None:
        raise UsageError(f"{_echo(cleaned)} is not a time. {example}")
    hour = int(match["hour"])
    minute = int(match["minute"]) if match["minute"] else 0
    half = match["half"]
    if half:
        if not 1 <= hour <= 12:
            raise UsageError(
                f"{_echo(cleaned)} is not a time: with am/pm the hour is 1-12. {example}"
            )
        hour = hour % 12 + (12 if half.lower().startswith("p") else 0)
    if hour > 23 or minute > 59:
        raise UsageError(f"{_echo(cleaned)} is not a time. {example}")
    return time(hour, minute)


# --- timezone -----------------------------------------------------------------------------


@cache
def _zone_names() -> dict[str, str]:
    """Every IANA zone this machine knows, by its lowercase name."""
    names = zoneinfo.available_timezones() - {"localtime", "posixrules", "Factory"}
    return {name.lower(): name for name in names}


@cache
def _zones_by_city() -> dict[str, str]:
    """'shanghai' -> 'Asia/Shanghai': the last part of each name, preferring canonical areas."""
    by_city: dict[str, str] = {}
    for name in sorted(_zone_names().values(), key=_zone_preference):
        by_city.setdefault(name.rsplit("/", 1)[-1].lower(), name)
    return by_city


def _zone_preference(name: str) -> tuple[bool, int, str]:
    legacy = name.startswith(("Etc/", "SystemV/", "US/", "Canada/", "Mexico/", "Brazil/"))
    return legacy, name.count("/"), name


def parse_timezone(text: str) -> str:
    """An IANA timezone name ('Asia/Shanghai', 'europe/berlin', 'Berlin', 'UTC', 'UTC+8')."""
    example = "for example /timezone Europe/Berlin or /timezone UTC+8"
    cleaned = text.strip()
    if not cleaned:
        raise UsageError(f"Send a timezone name, {example}")
    if len(cleaned) > MAX_TIMEZONE_CHARS:
        raise UsageError(f"That is too long for a timezone name. Send one, {example}")
    key = _WHITESPACE.sub("_", cleaned).lower()
    if key in ("utc", "gmt", "z", "zulu", "utc0", "gmt0"):
        return "UTC"
    offset = _OFFSET.fullmatch(cleaned)
    if offset is not None:
        return _offset_zone(cleaned, offset)
    name = _zone_names().get(key) or _zones_by_city().get(key)
    if name is not None:
        return name
    candidates = list(_zone_names()) + list(_zones_by_city())
    close = difflib.get_close_matches(key, candidates, n=3, cutoff=0.6)
    suggestions = list(dict.fromkeys(_zone_names().get(c) or _zones_by_city()[c] for c in close))
    hint = f" Did you mean {_either(suggestions)}?" if suggestions else ""
    raise UsageError(f"{_echo(cleaned)} is not a timezone I know.{hint} Send its name, {example}")


def _either(names: list[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _offset_zone(cleaned: str, offset: re.Match[str]) -> str:
    """'UTC+8' -> 'Etc/GMT-8': the Etc zones count the other way round (POSIX style)."""
    sign = -1 if offset["sign"] in "-−" else 1
    hours = int(offset["hours"])
    minutes = int(offset["minutes"] or 0)
    if minutes:
        zone = _FRACTIONAL_OFFSET_ZONES.get((sign, hours, minutes))
        hint = f"for example /timezone {zone}" if zone else "for example /timezone Asia/Kolkata"
        raise UsageError(
            f"{_echo(cleaned)} has no fixed-offset zone; send the name of a city's zone, {hint}"
        )
    if hours == 0:
        return "UTC"
    if (sign > 0 and hours > 14) or (sign < 0 and hours > 12):
        raise UsageError(
            f"{_echo(cleaned)} is outside UTC-12 to UTC+14. Send an offset in that range "
            "or a name, for example /timezone UTC+8 or /timezone Asia/Shanghai"
        )
    return f"Etc/GMT{'-' if sign > 0 else '+'}{hours}"


# --- frequency, bullets, switches -----------------------------------------------------------


def parse_weekday(text: str) -> int:
    """'mon', 'Monday', 'tues', 'thurs' -> 0..6 (0 = Monday)."""
    word = text.strip().lower().rstrip(".")
    if len(word) >= 2:  # two letters already tell every day apart
        for index, day in enumerate(WEEKDAYS):
            if day.startswith(word):
                return index
    raise UsageError(
        f"{_echo(text)} is not a day of the week. Send it after weekly, "
        "for example /frequency weekly mon"
    )


def parse_frequency(text: str) -> Frequency:
    """'daily', 'hourly', 'off', 'weekly', 'weekly mon', 'weekly on Friday' -> a Frequency."""
    example = "for example /frequency daily or /frequency weekly mon"
    words = text.strip().lower().split()
    if not words:
        raise UsageError(
            f"Send how often you want digests: hourly, daily, weekly or off, {example}"
        )
    frequency = _FREQUENCY_ALIASES.get(words[0])
    if frequency is None:
        raise UsageError(
            f"{_echo(text.strip())} is not a frequency. "
            f"Send hourly, daily, weekly or off, {example}"
        )
    rest = [word for word in words[1:] if word != "on"]
    if not rest:
        return Frequency(frequency)
    if frequency != "weekly":
        raise UsageError(f"A day only goes with weekly, {example}")
    if len(rest) > 1:
        raise UsageError(f"Send one day after weekly, {example}")
    return Frequency(frequency, parse_weekday(rest[0]))


def parse_bullets(text: str) -> int:
    """'3' -> 3: how many bullets per article, 1 to 10."""
    example = f"Send a number from {MIN_BULLETS} to {MAX_BULLETS}, for example /bullets 3"
    cleaned = text.strip()
    if not cleaned:
        raise UsageError(f"How many bullets per article? {example}")
    if not (cleaned.isascii() and cleaned.isdigit()):
        raise UsageError(f"{_echo(cleaned)} is not a number. {example}")
    significant = cleaned.lstrip("0") or "0"
    # Compare lengths first: int() refuses strings of thousands of digits.
    value = int(significant) if len(significant) <= 2 else MAX_BULLETS + 1
    if not MIN_BULLETS <= value <= MAX_BULLETS:
        raise UsageError(f"{_echo(cleaned)} is out of range. {example}")
    return value


def parse_switch(text: str, *, command: str = "/preview") -> bool:
    """'on'/'off', 'yes'/'no', 'true'/'false', '1'/'0' -> True/False."""
    cleaned = text.strip()
    value = _SWITCH_VALUES.get(cleaned.lower())
    if value is None:
        shown = f"{_echo(cleaned)} is neither on nor off. " if cleaned else ""
        raise UsageError(f"{shown}Send on or off, for example {command} on")
    return value


def check_argument_text(
    text: str,
    *,
    max_chars: int = 200,
    what: str = "keywords",
    example: str = "/subscribe quantum",
) -> str:
    """Free text for a command (keywords, a search): stripped, spaces collapsed, checked.

    Refuses empty text, text longer than `max_chars`, and control characters such as NUL.
    """
    if any(_is_control(char) and not char.isspace() for char in text):
        raise UsageError(
            f"The {what} contain a control character I cannot use. "
            f"Send plain words, for example {example}"
        )
    collapsed = _WHITESPACE.sub(" ", text).strip()
    if not collapsed:
        raise UsageError(f"Send some {what} after the command, for example {example}")
    if len(collapsed) > max_chars:
        raise UsageError(
            f"That is {len(collapsed)} characters; {what} can be at most {max_chars}. "
            f"Send something shorter, for example {example}"
        )
    return collapsed
