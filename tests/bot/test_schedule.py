import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import Catalogs
from bot.schedule import describe_next, describe_schedule, next_digest_at, zone_label

CATALOGS = Catalogs.load()
EN = CATALOGS.get("en")
ZH = CATALOGS.get("zh")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_daily_digest_is_due_at_local_time_in_the_chats_timezone():
    # 23:30 UTC is 07:30 next morning in Shanghai: the 08:00 slot is 30 minutes away
    after = at("2026-11-25T23:30:00+00:00")
    assert next_digest_at("daily", time(8), "Asia/Shanghai", 0, after) == at(
        "2026-11-26T00:00:00+00:00"
    )


def test_the_next_slot_is_strictly_after_now():
    after = at("2026-11-26T08:00:00+08:00")
    assert next_digest_at("daily", time(8), "Asia/Shanghai", 0, after) == at(
        "2026-11-27T08:00:00+08:00"
    )


def test_a_long_outage_gives_one_next_slot_not_a_backlog():
    after = at("2026-12-30T12:00:00+00:00")
    due = next_digest_at("daily", time(8), "UTC", 0, after)
    assert due == at("2026-12-31T08:00:00+00:00")


def test_weekly_lands_on_the_chosen_weekday():
    after = at("2026-11-26T09:00:00+00:00")  # a Thursday
    due = next_digest_at("weekly", time(7, 30), "Europe/London", 0, after)
    assert due == at("2026-11-30T07:30:00+00:00")  # Monday
    assert next_digest_at("weekly", time(10), "UTC", 3, after) == at("2026-11-26T10:00:00+00:00")


def test_hourly_uses_the_minute_of_the_chosen_time():
    after = at("2026-11-26T09:20:00+00:00")
    assert next_digest_at("hourly", time(8, 15), "UTC", 0, after) == at(
        "2026-11-26T10:15:00+00:00"
    )


def test_off_means_never_and_naive_times_are_refused():
    assert next_digest_at("off", time(8), "UTC", 0, at("2026-11-26T00:00:00+00:00")) is None
    with pytest.raises(ValueError, match="timezone-aware"):
        next_digest_at("daily", time(8), "UTC", 0, datetime(2026, 11, 26))  # noqa: DTZ001


def test_a_wall_time_skipped_by_daylight_saving_moves_forward():
    # 2026-03-29 02:30 does not exist in London (clocks jump 01:00 -> 02:00 UTC)
    after = at("2026-03-28T12:00:00+00:00")
    due = next_digest_at("daily", time(1, 30), "Europe/London", 0, after)
    assert due == at("2026-03-29T01:30:00+00:00")
    assert due.astimezone(UTC).hour == 1


def test_describe_schedule():
    assert describe_schedule("daily", time(8), "Asia/Shanghai", 0, EN) == (
        "Every day at 08:00 Asia/Shanghai."
    )
    assert describe_schedule("weekly", time(9), "UTC", 4, EN) == "Every Friday at 09:00 UTC."
    assert describe_schedule("off", time(9), "UTC", 4, EN) == "Scheduled digests are off."
    assert (
        describe_schedule("daily", time(8), "Etc/GMT-8", 0, EN) == "Every day at 08:00 UTC+08:00."
    )
    assert describe_schedule("hourly", time(8, 5), "Etc/GMT+5", 0, EN) == (
        "Every hour at minute :05 (UTC-05:00)."
    )


def test_zone_labels_read_with_the_sign_people_write():
    assert zone_label("Etc/GMT-8") == "UTC+08:00"
    assert zone_label("Etc/GMT+12") == "UTC-12:00"
    assert zone_label("Etc/GMT-14") == "UTC+14:00"
    assert zone_label("Etc/GMT") == "UTC"
    assert zone_label("Europe/Berlin") == "Europe/Berlin"


def test_schedules_and_dates_read_naturally_in_chinese():
    assert describe_schedule("daily", time(8), "Asia/Shanghai", 0, ZH) == (
        "每天 08:00（Asia/Shanghai）。"
    )
    assert (
        describe_schedule("weekly", time(9), "Etc/GMT-8", 4, ZH) == "每星期五 09:00（UTC+08:00）。"
    )
    # 21:50 UTC on Thursday is already Friday in Shanghai.
    now = datetime(2026, 11, 26, 21, 50, tzinfo=UTC)
    assert describe_next("daily", time(8), "Asia/Shanghai", 0, ZH, paused=False, now=now) == (
        "下一期摘要：11月27日 周五 08:00（Asia/Shanghai）。"
    )
    assert describe_next("daily", time(8), "Asia/Shanghai", 0, EN, paused=False, now=now) == (
        "Next digest: Fri 27 Nov, 08:00 (Asia/Shanghai)."
    )


# -- daylight saving changes: compare and step in UTC ---------------------------------------

# (zone, the day clocks go forward, the day clocks go back), in local dates.
DST_ZONES = [
    ("Europe/Berlin", "2025-03-30", "2025-10-26"),
    ("America/New_York", "2025-03-09", "2025-11-02"),
    ("Australia/Sydney", "2025-10-05", "2025-04-06"),
]
DST_CHANGES = [
    pytest.param(zone, day, id=f"{zone}-{kind}")
    for zone, forward, back in DST_ZONES
    for kind, day in (("forward", forward), ("back", back))
]


def simulate_rounds(frequency: str, at_time: time, zone: str, weekday: int, start, minutes: int):
    """A round every minute from `start`: when the chat is due it gets a digest and its next
    slot is computed from that minute, as `digest_round` does. Returns the send times."""
    sent = []
    now = start
    due = next_digest_at(frequency, at_time, zone, weekday, now)
    for _ in range(minutes):
        now += timedelta(minutes=1)
        if due is not None and due <= now:
            sent.append(now)
            due = next_digest_at(frequency, at_time, zone, weekday, now)
            assert due > now, f"next slot {due} is not after {now}"
    return sent


def test_berlin_clocks_going_back_at_02_30_is_not_due_every_minute():
    # The case from the issue: 02:30 happens twice on 2025-10-26 (00:30Z and 01:30Z).
    after = at("2025-10-26T01:20:00+00:00")
    due = next_digest_at("daily", time(2, 30), "Europe/Berlin", 0, after)
    assert due == at("2025-10-27T02:30:00+01:00")
    first = next_digest_at("daily", time(2, 30), "Europe/Berlin", 0, at("2025-10-26T00:00Z"))
    assert first == at("2025-10-26T00:30:00+00:00")  # the first 02:30, once


@pytest.mark.parametrize(("zone", "day"), DST_CHANGES)
@pytest.mark.parametrize("wall", [time(2, 30), time(1, 30), time(3, 0), time(8, 0)])
def test_daily_digests_come_once_per_local_day_across_a_dst_change(zone, day, wall):
    start = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(zone)) - timedelta(days=2)
    sent = simulate_rounds("daily", wall, zone, 0, start.astimezone(UTC), 5 * 24 * 60)
    local_days = [moment.astimezone(ZoneInfo(zone)).date() for moment in sent]
    assert len(local_days) == len(set(local_days)) == 5
    for moment in sent:
        local = moment.astimezone(ZoneInfo(zone))
        gap = (local.replace(tzinfo=None) - datetime.combine(local.date(), wall)).total_seconds()
        assert 0 <= gap <= 3600, f"{local} is not {wall} (or later by a skipped hour)"


@pytest.mark.parametrize(("zone", "day"), DST_CHANGES)
def test_weekly_digests_come_once_a_week_across_a_dst_change(zone, day):
    change = datetime.fromisoformat(day).date()
    start = datetime.combine(change - timedelta(days=10), time(0), tzinfo=ZoneInfo(zone))
    sent = simulate_rounds("weekly", time(2, 30), zone, change.weekday(), start, 21 * 24 * 60)
    local = [moment.astimezone(ZoneInfo(zone)) for moment in sent]
    assert [d.date() for d in local] == [change + timedelta(days=days) for days in (-7, 0, 7)]
    assert all(d.weekday() == change.weekday() for d in local)


@pytest.mark.parametrize(("zone", "day"), DST_CHANGES)
@pytest.mark.parametrize("minute", [0, 15, 30])
def test_hourly_digests_come_every_real_hour_across_a_dst_change(zone, day, minute):
    start = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(zone)) - timedelta(days=1)
    sent = simulate_rounds("hourly", time(8, minute), zone, 0, start.astimezone(UTC), 48 * 60)
    assert len(sent) == 48
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(sent))
    assert all(moment.astimezone(ZoneInfo(zone)).minute == minute for moment in sent)


@pytest.mark.parametrize(
    ("zone", "day"), [("Asia/Kolkata", "2025-06-01"), ("Australia/Lord_Howe", "2025-04-06")]
)
def test_hourly_in_zones_off_the_whole_hour(zone, day):
    start = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(zone)) - timedelta(days=1)
    sent = simulate_rounds("hourly", time(0, 0), zone, 0, start.astimezone(UTC), 48 * 60)
    assert 47 <= len(sent) <= 49
    assert all(moment.astimezone(ZoneInfo(zone)).minute == 0 for moment in sent)
    assert all(b > a for a, b in itertools.pairwise(sent))
