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
from collections.abc import Callable
from datetime import time
from functools import cache
from typing import NamedTuple

from babel import Locale
from babel.lists import format_list

from bot.i18n import N_, Translator

MAX_ECHO_CHARS = 40
MAX_TIMEZONE_CHARS = 64
# How alike the city part of a mistyped zone must be to a zone's to be suggested (difflib's
# ratio: 'shangai'/'shanghai' 0.93, 'berlim'/'berlin' 0.83). Whole names are not compared:
# 'mars/base' and 'marquesas' share enough letters to look alike, but mean nothing alike.
CLOSE_NAME_RATIO = 0.8
MAX_SUGGESTIONS = 3
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
# Zones for the offsets that have no Etc/GMT form: /timezone UTC+5:30 takes the zone of the
# place that keeps that offset.
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
# Cities people name that are not the city of their zone's IANA name (keys as parse_timezone
# normalises them: lower case, spaces as "_"); checked before guessing at close names.
_CHINA = "Asia/Shanghai"
_CITY_ALIASES = {
    **dict.fromkeys(
        (
            "beijing",
            "peking",
            "shenzhen",
            "guangzhou",
            "hangzhou",
            "chengdu",
            "wuhan",
            "nanjing",
            "suzhou",
            "xian",
            "xi'an",
            "tianjin",
            "songjiang",
            "china",
            "北京",
            "上海",
            "深圳",
            "广州",
            "杭州",
            "成都",
            "武汉",
            "南京",
            "苏州",
            "西安",
            "天津",
            "重庆",
            "松江",
            "中国",
            "北京时间",
        ),
        _CHINA,
    ),
    "hongkong": "Asia/Hong_Kong",
    "香港": "Asia/Hong_Kong",
    "澳门": "Asia/Macau",
    "台北": "Asia/Taipei",
    "东京": "Asia/Tokyo",
    "osaka": "Asia/Tokyo",
    "kyoto": "Asia/Tokyo",
    "首尔": "Asia/Seoul",
    "新加坡": "Asia/Singapore",
    "mumbai": "Asia/Kolkata",
    "bombay": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "new_delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata",
    "伦敦": "Europe/London",
    "巴黎": "Europe/Paris",
    "柏林": "Europe/Berlin",
    "莫斯科": "Europe/Moscow",
    "纽约": "America/New_York",
    "washington": "America/New_York",
    "boston": "America/New_York",
    "miami": "America/New_York",
    "洛杉矶": "America/Los_Angeles",
    "san_francisco": "America/Los_Angeles",
    "旧金山": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "悉尼": "Australia/Sydney",
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
# How often, as a value in a sentence and on a button (the words a reader may send back).
FREQUENCY_VALUES = {
    "hourly": N_("hourly"),
    "daily": N_("daily"),
    "weekly": N_("weekly"),
    "off": N_("off"),
}
FREQUENCY_BUTTONS = {
    "hourly": N_("Hourly"),
    "daily": N_("Daily"),
    "weekly": N_("Weekly"),
    "off": N_("Off"),
}
WEEKLY_ON = N_("weekly, on {weekday}")
SWITCH_VALUES = {True: N_("on"), False: N_("off")}
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


# What summaries.matching.QueryError says (in English: summaries/ knows no languages), marked
# here so that the catalogs translate it when it is passed on as a Phrase.
QUERY_PROBLEMS = (
    N_("the query has no words to look for"),
    N_("a query can have at most 8 words or phrases"),
)


class Phrase(str):
    """A value for a placeholder that is itself a text to translate (marked with N_)."""


class Choices(tuple[str, ...]):
    """A value for a placeholder that lists alternatives: 'a, b or c', in the reader's language."""


class UsageError(ValueError):
    """A command argument the bot cannot use; the message is the answer for the user.

    `text` is an English sentence marked with N_ and `values` fill its {placeholders}:
    `message(t)` is the answer in t's language, `str(error)` the English one.
    """

    def __init__(self, text: str, /, **values: str | Choices) -> None:
        self.text = text
        self.values = values
        super().__init__(_fill(text, values, lambda message: message, Locale.parse("en")))

    def message(self, t: Translator) -> str:
        return _fill(t.gettext(self.text), self.values, t.gettext, t.locale)


def _fill(
    text: str, values: dict[str, str | Choices], translate: Callable[[str], str], locale: Locale
) -> str:
    def shown(value: str | Choices) -> str:
        if isinstance(value, Phrase):
            return translate(value)
        if isinstance(value, Choices):
            return format_list(list(value), style="or", locale=locale)
        return value

    return text.format(**{name: shown(value) for name, value in values.items()})


class Frequency(NamedTuple):
    """How often a chat gets digests; `weekday` (0 = Monday) only for weekly, when given."""

    frequency: str
    weekday: int | None = None


def shorten_user_text(text: str) -> str:
    """The user's text, fit to echo back: no controls, one line, short (escape it for HTML
    after shortening, so shortening never cuts an entity)."""
    printable = "".join(" " if _is_control(char) else char for char in text)
    shown = _WHITESPACE.sub(" ", printable).strip()
    if len(shown) > MAX_ECHO_CHARS:
        shown = shown[: MAX_ECHO_CHARS - 1] + "…"
    return shown


def _echo(text: str) -> str:
    """The user's text, fit to quote back; the quotes are in each sentence (“{text}”), so
    that a language puts them, and the space around them, its own way."""
    return shorten_user_text(text)


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cs")


# --- time ---------------------------------------------------------------------------------


def parse_time(text: str) -> time:
    """'08:00', '8:30', '8', '8am', '8 pm', '20.15' -> a time of day (24-hour clock)."""
    not_a_time = N_("“{text}” is not a time. Send it as HH:MM, for example /time 08:00")
    cleaned = text.strip()
    if not cleaned:
        raise UsageError(N_("Send the time of day as HH:MM, for example /time 08:00"))
    match = _TIME.fullmatch(cleaned)
    if match is None:
        raise UsageError(not_a_time, text=_echo(cleaned))
    hour = int(match["hour"])
    minute = int(match["minute"]) if match["minute"] else 0
    half = match["half"]
    if half:
        if not 1 <= hour <= 12:
            raise UsageError(
                N_(
                    "“{text}” is not a time: with am/pm the hour is 1-12. "
                    "Send it as HH:MM, for example /time 08:00"
                ),
                text=_echo(cleaned),
            )
        hour = hour % 12 + (12 if half.lower().startswith("p") else 0)
    if hour > 23 or minute > 59:
        raise UsageError(not_a_time, text=_echo(cleaned))
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
    """An IANA timezone name ('Asia/Shanghai', 'europe/berlin', 'Berlin', '北京', 'UTC', 'UTC+8',
    'UTC+5:30')."""
    cleaned = text.strip()
    if not cleaned:
        raise UsageError(
            N_("Send a timezone name, for example /timezone Europe/Berlin or /timezone UTC+8")
        )
    if len(cleaned) > MAX_TIMEZONE_CHARS:
        raise UsageError(
            N_(
                "That is too long for a timezone name. Send one, "
                "for example /timezone Europe/Berlin or /timezone UTC+8"
            )
        )
    key = _WHITESPACE.sub("_", cleaned).lower()
    if key in ("utc", "gmt", "z", "zulu", "utc0", "gmt0"):
        return "UTC"
    offset = _OFFSET.fullmatch(cleaned)
    if offset is not None:
        return _offset_zone(cleaned, offset)
    name = _zone_names().get(key) or _zones_by_city().get(key) or _CITY_ALIASES.get(key)
    if name is not None:
        return name
    suggestions = _close_zones(key)
    if suggestions:
        raise UsageError(
            N_(
                "“{text}” is not a timezone I know. Did you mean {zones}? Send its name, "
                "for example /timezone Europe/Berlin or /timezone UTC+8"
            ),
            text=_echo(cleaned),
            zones=Choices(suggestions),
        )
    raise UsageError(
        N_(
            "“{text}” is not a timezone I know. Send a zone name, an offset from UTC or a "
            "city, for example /timezone Asia/Shanghai, /timezone UTC+8 or /timezone London"
        ),
        text=_echo(cleaned),
    )


def _region_and_city(key: str) -> tuple[str, str]:
    """'america/argentina/buenos_aires' -> ('america', 'buenos_aires'); 'berlin' -> ('', ...)."""
    region, _, city = key.rpartition("/")
    return region.split("/", 1)[0], city


@cache
def _places() -> tuple[tuple[str, str, str], ...]:
    """(region, city, zone) of every zone name and city alias, in lower case:
    ('asia', 'shanghai', 'Asia/Shanghai'), ('asia', 'beijing', 'Asia/Shanghai'), ..."""
    places = [(*_region_and_city(key), name) for key, name in _zone_names().items()]
    places += [
        (_region_and_city(zone.lower())[0], alias, zone) for alias, zone in _CITY_ALIASES.items()
    ]
    return tuple(sorted(places, key=lambda place: _zone_preference(place[2])))


def _similar(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def _close_zones(key: str) -> list[str]:
    """Zones a mistyped name plausibly meant: a city part within a typo or two of theirs
    ('Asia/Shangai', 'Berlim'), and when a region is given, the same region (or a typo of it,
    or the very city elsewhere). 'Mars/Base' means none: better no guess than a wild one."""
    region, city = _region_and_city(key)
    scored: dict[str, float] = {}
    for place_region, place_city, zone in _places():
        likeness = _similar(city, place_city)
        if likeness < CLOSE_NAME_RATIO:
            continue
        same_region = (
            not region
            or not place_region
            or likeness == 1.0
            or _similar(region, place_region) >= CLOSE_NAME_RATIO
        )
        if same_region and likeness > scored.get(zone, 0.0):
            scored[zone] = likeness
    ranked = sorted(scored, key=lambda zone: -scored[zone])  # stable: preferred names first
    return ranked[:MAX_SUGGESTIONS]


def _offset_zone(cleaned: str, offset: re.Match[str]) -> str:
    """'UTC+8' -> 'Etc/GMT-8': the Etc zones count the other way round (POSIX style)."""
    sign = -1 if offset["sign"] in "-−" else 1
    hours = int(offset["hours"])
    minutes = int(offset["minutes"] or 0)
    if minutes and (sign, hours, minutes) in _FRACTIONAL_OFFSET_ZONES:
        # No Etc zone has a fractional offset: the zone of the place that keeps it.
        return _FRACTIONAL_OFFSET_ZONES[(sign, hours, minutes)]
    if minutes:
        raise UsageError(
            N_(
                "“{text}” has no fixed-offset zone; send the name of a city's zone, "
                "for example /timezone {zone}"
            ),
            text=_echo(cleaned),
            zone=_FRACTIONAL_OFFSET_ZONES.get((sign, hours, minutes), "Asia/Kolkata"),
        )
    if hours == 0:
        return "UTC"
    if (sign > 0 and hours > 14) or (sign < 0 and hours > 12):
        raise UsageError(
            N_(
                "“{text}” is outside UTC-12 to UTC+14. Send an offset in that range "
                "or a name, for example /timezone UTC+8 or /timezone Asia/Shanghai"
            ),
            text=_echo(cleaned),
        )
    return f"Etc/GMT{'-' if sign > 0 else '+'}{hours}"


# --- frequency, bullets, switches -----------------------------------------------------------


def _day_names(t: Translator | None) -> dict[str, int]:
    """The names of the days in t's language, every width that tells them apart ('星期一',
    '周一', '一'), lower case."""
    if t is None:
        return {}
    names: dict[str, int] = {}
    for width in ("wide", "abbreviated", "short", "narrow"):
        days = [str(t.locale.days["format"][width][index]).casefold() for index in range(7)]
        if len(set(days)) == len(days):
            names.update((day, index) for index, day in enumerate(days))
    return names


def parse_weekday(text: str, t: Translator | None = None) -> int:
    """'mon', 'Monday', 'tues', 'thurs' -> 0..6 (0 = Monday); also the day's names in t's
    language ('周一', '星期一')."""
    word = text.strip().lower().rstrip(".")
    if len(word) >= 2:  # two letters already tell every day apart
        for index, day in enumerate(WEEKDAYS):
            if day.startswith(word):
                return index
    found = _day_names(t).get(word.casefold())
    if found is not None:
        return found
    raise UsageError(
        N_(
            "“{text}” is not a day of the week. Send it after weekly, "
            "for example /frequency weekly mon"
        ),
        text=_echo(text),
    )


def _frequency_words(t: Translator | None) -> dict[str, str]:
    """The words for each frequency: English always, and as t's language shows them on the
    settings buttons and in replies ('每周', '每天', '关闭'), lower case."""
    words = dict(_FREQUENCY_ALIASES)
    if t is not None:
        for frequency in FREQUENCIES:
            for shown in (FREQUENCY_VALUES[frequency], FREQUENCY_BUTTONS[frequency]):
                words.setdefault(t.gettext(shown).casefold(), frequency)
    return words


def _weekly_phrases(t: Translator | None) -> dict[str, int]:
    """'weekly, on {weekday}' as t's language says it for each day ('每星期一', '每周一'), so
    that what a reply shows is understood when sent back."""
    if t is None:
        return {}
    phrases: dict[str, int] = {}
    for name, day in _day_names(t).items():
        phrases[t.gettext(WEEKLY_ON).format(weekday=name).casefold()] = day
    return phrases


def parse_frequency(text: str, t: Translator | None = None) -> Frequency:
    """'daily', 'hourly', 'off', 'weekly', 'weekly mon', 'weekly on Friday' -> a Frequency;
    also the words t's language shows ('每周', '每周 周五', '每周五')."""
    words = text.strip().casefold().split()
    if not words:
        raise UsageError(
            N_(
                "Send how often you want digests: hourly, daily, weekly or off, "
                "for example /frequency daily or /frequency weekly mon"
            )
        )
    weekly_on = _weekly_phrases(t).get(" ".join(words))
    if weekly_on is not None:
        return Frequency("weekly", weekly_on)
    frequency = _frequency_words(t).get(words[0])
    if frequency is None:
        raise UsageError(
            N_(
                "“{text}” is not a frequency. Send hourly, daily, weekly or off, "
                "for example /frequency daily or /frequency weekly mon"
            ),
            text=_echo(text.strip()),
        )
    rest = [word for word in words[1:] if word != "on"]
    if not rest:
        return Frequency(frequency)
    if frequency != "weekly":
        raise UsageError(
            N_(
                "A day only goes with weekly, "
                "for example /frequency daily or /frequency weekly mon"
            )
        )
    if len(rest) > 1:
        raise UsageError(
            N_("Send one day after weekly, for example /frequency daily or /frequency weekly mon")
        )
    return Frequency(frequency, parse_weekday(rest[0], t))


def parse_bullets(text: str) -> int:
    """'3' -> 3: how many bullets per article, 1 to 10."""
    limits = {"low": str(MIN_BULLETS), "high": str(MAX_BULLETS)}
    cleaned = text.strip()
    if not cleaned:
        raise UsageError(
            N_(
                "How many bullets per article? "
                "Send a number from {low} to {high}, for example /bullets 3"
            ),
            **limits,
        )
    if not (cleaned.isascii() and cleaned.isdigit()):
        raise UsageError(
            N_(
                "“{text}” is not a number. "
                "Send a number from {low} to {high}, for example /bullets 3"
            ),
            text=_echo(cleaned),
            **limits,
        )
    significant = cleaned.lstrip("0") or "0"
    # Compare lengths first: int() refuses strings of thousands of digits.
    value = int(significant) if len(significant) <= 2 else MAX_BULLETS + 1
    if not MIN_BULLETS <= value <= MAX_BULLETS:
        raise UsageError(
            N_(
                "“{text}” is out of range. "
                "Send a number from {low} to {high}, for example /bullets 3"
            ),
            text=_echo(cleaned),
            **limits,
        )
    return value


def parse_switch(text: str, *, command: str = "/preview", t: Translator | None = None) -> bool:
    """'on'/'off', 'yes'/'no', 'true'/'false', '1'/'0' -> True/False; also on and off as t's
    language shows them ('开启', '关闭')."""
    cleaned = text.strip()
    words = dict(_SWITCH_VALUES)
    if t is not None:
        words.update((t.gettext(shown).casefold(), on) for on, shown in SWITCH_VALUES.items())
    value = words.get(cleaned.casefold())
    if value is None and cleaned:
        raise UsageError(
            N_("“{text}” is neither on nor off. Send on or off, for example {command} on"),
            text=_echo(cleaned),
            command=command,
        )
    if value is None:
        raise UsageError(N_("Send on or off, for example {command} on"), command=command)
    return value


def check_argument_text(
    text: str,
    *,
    max_chars: int = 200,
    what: str = N_("keywords"),
    example: str = "/subscribe quantum",
) -> str:
    """Free text for a command (keywords, a search): stripped, spaces collapsed, checked.

    `what` names the text in the sentences below; mark it with N_ where it is written.
    Refuses empty text, text longer than `max_chars`, and control characters such as NUL.
    """
    values = {"what": Phrase(what), "example": example}
    if any(_is_control(char) and not char.isspace() for char in text):
        raise UsageError(
            N_(
                "The {what} contain a control character I cannot use. "
                "Send plain words, for example {example}"
            ),
            **values,
        )
    collapsed = _WHITESPACE.sub(" ", text).strip()
    if not collapsed:
        raise UsageError(N_("Send some {what} after the command, for example {example}"), **values)
    if len(collapsed) > max_chars:
        raise UsageError(
            N_(
                "That is {count} characters; {what} can be at most {limit}. "
                "Send something shorter, for example {example}"
            ),
            count=str(len(collapsed)),
            limit=str(max_chars),
            **values,
        )
    return collapsed
