from datetime import UTC, datetime, time

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
