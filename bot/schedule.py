"""When a chat's next digest is due: pure functions over its settings and the current time.

Each chat stores one `next_digest_at` (UTC). A single round job picks every chat whose time has
come, so a digest missed while the bot was down is sent once on return, and the next slot is
computed from *now*, never once per missed slot.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _local_slot(day: datetime, at: time, zone: ZoneInfo) -> datetime:
    """`at` on the local date of `day`; a wall time skipped by DST moves forward by the gap."""
    naive = datetime.combine(day.date(), at)
    local = naive.replace(tzinfo=zone)
    # Round-trip through UTC normalises times that do not exist (spring-forward gaps).
    return local.astimezone(UTC).astimezone(zone)


def next_digest_at(
    frequency: str, at: time, timezone: str, weekday: int, after: datetime
) -> datetime | None:
    """The first digest time strictly after `after` (aware), in UTC; None when digests are off."""
    if frequency == "off":
        return None
    if after.tzinfo is None:
        raise ValueError("`after` must be timezone-aware")
    zone = ZoneInfo(timezone)
    local_now = after.astimezone(zone)
    if frequency == "hourly":
        candidate = local_now.replace(minute=at.minute, second=0, microsecond=0)
        if candidate <= local_now:
            candidate += timedelta(hours=1)
        return candidate.astimezone(UTC)
    step_days = 7 if frequency == "weekly" else 1
    for offset in range(0, 8 + step_days):
        day = local_now + timedelta(days=offset)
        if frequency == "weekly" and day.weekday() != weekday:
            continue
        candidate = _local_slot(day, at, zone)
        if candidate > local_now:
            return candidate.astimezone(UTC)
    raise AssertionError("unreachable: a slot always exists within 15 days")


def describe_schedule(frequency: str, at: time, timezone: str, weekday: int) -> str:
    """A human sentence for /list and /settings."""
    if frequency == "off":
        return "Scheduled digests are off."
    if frequency == "hourly":
        return f"Every hour at :{at.minute:02d} ({timezone})."
    when = f"{at:%H:%M} {timezone}"
    if frequency == "weekly":
        return f"Every {WEEKDAY_NAMES[weekday]} at {when}."
    return f"Every day at {when}."
