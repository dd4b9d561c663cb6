"""When a chat's next digest is due: pure functions over its settings and the current time.

Each chat stores one `next_digest_at` (UTC). A single round job picks every chat whose time has
come, so a digest missed while the bot was down is sent once on return, and the next slot is
computed from *now*, never once per missed slot.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bot.i18n import Translator

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@lru_cache(maxsize=1024)
def zone_of(name: str) -> ZoneInfo:
    """`ZoneInfo(name)`, kept: ZoneInfo itself holds only the 8 zones used last, so a round over
    chats in more zones than that would read a tz file again for nearly every chat."""
    return ZoneInfo(name)


def _local_slot(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`at` on local date `day`, in UTC. A wall time that happens twice (clocks going back)
    means its first occurrence; one skipped by DST (clocks going forward) moves on by the gap."""
    # fold=0 picks the first of two ambiguous instants, and for a skipped time the offset
    # from before the change, which lands the gap's length later on the new clock.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _next_hourly(minute: int, zone: ZoneInfo, after: datetime) -> datetime:
    """The first instant strictly after `after` whose local wall clock reads :`minute`.

    Stepped in UTC hours, so each real hour has its slot whichever way the clocks change;
    zones offset by a half or quarter hour (and half-hour DST changes) are handled by asking
    the zone for each hour's own offset.
    """
    hour_start = after.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    for step in range(-1, 4):
        base = hour_start + timedelta(hours=step)
        local_minute = base.astimezone(zone).minute
        candidate = base + timedelta(minutes=(minute - local_minute) % 60)
        if candidate > after and candidate.astimezone(zone).minute == minute:
            return candidate
    raise AssertionError("unreachable: every hour has a :MM on the local clock")


def next_digest_at(
    frequency: str, at: time, timezone: str, weekday: int, after: datetime
) -> datetime | None:
    """The first digest time strictly after `after` (aware), in UTC; None when digests are off.

    Slots are compared in UTC: comparing two local times of one zone ignores which side of a
    DST change they are on, and would call a slot that has passed still to come.
    """
    if frequency == "off":
        return None
    if after.tzinfo is None:
        raise ValueError("`after` must be timezone-aware")
    zone = zone_of(timezone)
    after = after.astimezone(UTC)
    if frequency == "hourly":
        return _next_hourly(at.minute, zone, after)
    today = after.astimezone(zone).date()
    for offset in range(-1, 16):
        day = today + timedelta(days=offset)
        if frequency == "weekly" and day.weekday() != weekday:
            continue
        candidate = _local_slot(day, at, zone)
        if candidate > after:
            return candidate
    raise AssertionError("unreachable: a slot always exists within 15 days")


_ETC_OFFSET = re.compile(r"Etc/GMT(?P<sign>[+-])(?P<hours>\d{1,2})")


def zone_label(timezone: str) -> str:
    """How a zone is shown: 'Etc/GMT-8' as 'UTC+08:00' (the Etc names count the other way
    round, POSIX style, which reads as the opposite sign); every other name as it is."""
    match = _ETC_OFFSET.fullmatch(timezone)
    if match is None:
        return "UTC" if timezone in ("Etc/UTC", "Etc/GMT", "UTC") else timezone
    hours = int(match["hours"])
    if hours == 0:
        return "UTC"
    return f"UTC{'-' if match['sign'] == '+' else '+'}{hours:02d}:00"


def weekday_name(weekday: int, t: Translator, width: str = "wide") -> str:
    """'Monday' (0) .. 'Sunday' (6) in t's language, from Babel's locale data ('Mon': width
    "abbreviated")."""
    return str(t.locale.days["format"][width][weekday])


def format_local(moment: datetime, timezone: str, t: Translator) -> str:
    """'Fri 27 Nov, 08:00': a moment on the reader's clock, in the reader's language."""
    # Translators: a date and time as Unicode CLDR pattern letters (EEE: short weekday,
    # d: day, MMM: short month, HH:mm: 24-hour time); text in quotes is shown as it is.
    pattern = t.gettext("EEE d MMM, HH:mm")
    return format_datetime(moment.astimezone(zone_of(timezone)), pattern, locale=t.locale)


def describe_schedule(frequency: str, at: time, timezone: str, weekday: int, t: Translator) -> str:
    """A human sentence for /list and /settings."""
    zone = zone_label(timezone)
    if frequency == "off":
        return t.gettext("Scheduled digests are off.")
    if frequency == "hourly":
        return t.gettext("Every hour at minute :{minute} ({zone}).").format(
            minute=f"{at.minute:02d}", zone=zone
        )
    if frequency == "weekly":
        return t.gettext("Every {weekday} at {time} {zone}.").format(
            weekday=weekday_name(weekday, t), time=f"{at:%H:%M}", zone=zone
        )
    return t.gettext("Every day at {time} {zone}.").format(time=f"{at:%H:%M}", zone=zone)


def describe_next(
    frequency: str,
    at: time,
    timezone: str,
    weekday: int,
    t: Translator,
    *,
    paused: bool,
    now: datetime,
) -> str:
    """The next scheduled digest as a sentence, on the reader's clock."""
    if frequency == "off":
        return t.gettext("No scheduled digests: /frequency daily turns them on.")
    if paused:
        return t.gettext("Scheduled digests are paused: /resume starts them again.")
    upcoming = next_digest_at(frequency, at, timezone, weekday, now)
    assert upcoming is not None
    return t.gettext("Next digest: {when} ({zone}).").format(
        when=format_local(upcoming, timezone, t), zone=zone_label(timezone)
    )
