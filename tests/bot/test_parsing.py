"""Command-argument parsing: the accepted forms, the friendly refusals, and no other outcome."""

import zoneinfo
from datetime import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.parsing import (
    Frequency,
    UsageError,
    check_argument_text,
    parse_bullets,
    parse_frequency,
    parse_switch,
    parse_time,
    parse_timezone,
    parse_weekday,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("08:00", time(8, 0)),
        ("8:05", time(8, 5)),
        (" 23:59 ", time(23, 59)),
        ("0:00", time(0, 0)),
        ("8", time(8, 0)),
        ("20.15", time(20, 15)),
        ("8am", time(8, 0)),
        ("8 pm", time(20, 0)),
        ("8:30 PM", time(20, 30)),
        ("12am", time(0, 0)),
        ("12 p.m.", time(12, 0)),
        ("０８：００", time(8, 0)),
    ],
)
def test_parse_time_accepts(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["25:00", "8:60", "13pm", "0am", "8:5", "noon", "8:00:00", "-1"])
def test_parse_time_refuses_with_an_example(text):
    with pytest.raises(UsageError) as caught:
        parse_time(text)
    message = str(caught.value)
    assert f"“{text}”" in message
    assert "for example /time 08:00" in message


def test_parse_time_empty_says_what_to_send():
    with pytest.raises(UsageError, match=r"HH:MM, for example /time 08:00"):
        parse_time("  ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Asia/Shanghai", "Asia/Shanghai"),
        ("asia/shanghai", "Asia/Shanghai"),
        ("EUROPE/BERLIN", "Europe/Berlin"),
        ("America/New York", "America/New_York"),
        ("Shanghai", "Asia/Shanghai"),
        ("new york", "America/New_York"),
        ("UTC", "UTC"),
        ("gmt", "UTC"),
        ("UTC+8", "Etc/GMT-8"),
        ("GMT-5", "Etc/GMT+5"),
        ("utc +08:00", "Etc/GMT-8"),
        ("+14", "Etc/GMT-14"),
        ("UTC−3", "Etc/GMT+3"),
        ("UTC+0", "UTC"),
        ("beijing", "Asia/Shanghai"),
        ("Beijing", "Asia/Shanghai"),
        ("北京", "Asia/Shanghai"),
        ("上海", "Asia/Shanghai"),
        ("Shenzhen", "Asia/Shanghai"),
        ("香港", "Asia/Hong_Kong"),
        ("hong kong", "Asia/Hong_Kong"),
        ("东京", "Asia/Tokyo"),
        ("tokyo", "Asia/Tokyo"),
        ("london", "Europe/London"),
        ("伦敦", "Europe/London"),
        ("纽约", "America/New_York"),
        ("San Francisco", "America/Los_Angeles"),
        ("mumbai", "Asia/Kolkata"),
        ("UTC+5:30", "Asia/Kolkata"),
        ("GMT+05:45", "Asia/Kathmandu"),
        ("utc-9:30", "Pacific/Marquesas"),
    ],
)
def test_parse_timezone_accepts(text, expected):
    name = parse_timezone(text)
    assert name == expected
    zoneinfo.ZoneInfo(name)  # a name the scheduler can load


def test_etc_offsets_have_the_inverted_sign():
    from datetime import datetime

    zone = zoneinfo.ZoneInfo(parse_timezone("UTC+8"))
    assert datetime(2026, 1, 1, tzinfo=zone).utcoffset().total_seconds() == 8 * 3600


def test_a_misspelt_city_alias_is_suggested():
    with pytest.raises(UsageError) as caught:
        parse_timezone("bejing")
    assert "Did you mean Asia/Shanghai" in str(caught.value)


def test_parse_timezone_suggests_close_matches():
    with pytest.raises(UsageError) as caught:
        parse_timezone("Asia/Shangai")
    message = str(caught.value)
    assert "“Asia/Shangai” is not a timezone I know" in message
    assert "Did you mean Asia/Shanghai" in message
    assert "for example /timezone Europe/Berlin" in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "Send a timezone name"),
        ("Mars/Olympus_Mons", "not a timezone I know"),
        ("UTC+15", "outside UTC-12 to UTC+14"),
        ("GMT-13", "outside UTC-12 to UTC+14"),
        ("UTC+2:30", "/timezone Asia/Kolkata"),
        ("x" * 500, "too long"),
        ("../../etc/passwd", "not a timezone I know"),
    ],
)
def test_parse_timezone_refuses(text, fragment):
    with pytest.raises(UsageError, match="for example /timezone") as caught:
        parse_timezone(text)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("daily", Frequency("daily")),
        ("Hourly", Frequency("hourly")),
        ("off", Frequency("off")),
        ("weekly", Frequency("weekly", None)),
        ("weekly mon", Frequency("weekly", 0)),
        ("weekly on Friday", Frequency("weekly", 4)),
        ("WEEKLY sun", Frequency("weekly", 6)),
        ("weekly tues", Frequency("weekly", 1)),
        ("weekly thurs", Frequency("weekly", 3)),
    ],
)
def test_parse_frequency_accepts(text, expected):
    assert parse_frequency(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "hourly, daily, weekly or off"),
        ("monthly", "“monthly” is not a frequency"),
        ("daily mon", "A day only goes with weekly"),
        ("weekly mon tue", "one day"),
        ("weekly someday", "“someday” is not a day of the week"),
    ],
)
def test_parse_frequency_refuses(text, fragment):
    with pytest.raises(UsageError, match="for example /frequency") as caught:
        parse_frequency(text)
    assert fragment in str(caught.value)


def test_parse_weekday_needs_an_unambiguous_prefix():
    assert parse_weekday("Sat.") == 5
    assert parse_weekday("we") == 2
    assert parse_weekday("su") == 6
    with pytest.raises(UsageError):
        parse_weekday("s")  # saturday or sunday
    with pytest.raises(UsageError):
        parse_weekday("t")


@pytest.mark.parametrize(
    ("text", "expected"), [("1", 1), ("3", 3), (" 5 ", 5), ("005", 5), ("10", 10)]
)
def test_parse_bullets_accepts(text, expected):
    assert parse_bullets(text) == expected


@pytest.mark.parametrize("text", ["0", "11", "-1", "3.5", "three", "", "9" * 5000, "٣"])
def test_parse_bullets_refuses_with_the_range(text):
    with pytest.raises(UsageError, match=r"from 1 to 10, for example /bullets 3"):
        parse_bullets(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("on", True), ("OFF", False), ("yes", True), ("no", False), ("1", True), ("0", False)],
)
def test_parse_switch(text, expected):
    assert parse_switch(text) is expected


def test_parse_switch_refuses_with_the_command_in_the_example():
    with pytest.raises(UsageError, match="“maybe” is neither on nor off.*/preview on"):
        parse_switch("maybe")
    with pytest.raises(UsageError, match="for example /pause on"):
        parse_switch("", command="/pause")


def test_check_argument_text_collapses_spaces():
    assert check_argument_text("  satellite \n  internet\t") == "satellite internet"


def test_check_argument_text_refusals_name_the_problem_and_an_example():
    with pytest.raises(UsageError, match="Send some keywords.*for example /subscribe quantum"):
        check_argument_text("   ")
    with pytest.raises(UsageError, match="250 characters; search words can be at most 200"):
        check_argument_text("a" * 250, what="search words", example="/search quantum")
    with pytest.raises(UsageError, match="control character"):
        check_argument_text("quantum\x00")
    assert check_argument_text("x" * 10, max_chars=10) == "x" * 10


def test_echo_of_user_text_is_short_and_single_line():
    with pytest.raises(UsageError) as caught:
        parse_time("9" * 20 + "\x00\n" + "x" * 500)
    message = str(caught.value)
    assert "\x00" not in message
    assert "\n" not in message
    assert len(message) < 120


# --- any text: a value or a UsageError, never anything else -----------------------------

any_text = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=60),
    st.text("0123456789:.apm +-−UTCGMTweklydon/_ ", max_size=20),
    st.builds(lambda digits: digits, st.text("0123456789", min_size=1, max_size=6000)),
)
PARSERS = [
    parse_time,
    parse_timezone,
    parse_frequency,
    parse_weekday,
    parse_bullets,
    parse_switch,
    check_argument_text,
]


@settings(max_examples=200, deadline=None)
@given(any_text, st.sampled_from(PARSERS))
def test_any_text_gives_a_value_or_a_usage_error(text, parser):
    try:
        parser(text)
    except UsageError as error:
        assert str(error).strip()
        assert "for example" in str(error) or "Send" in str(error)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 23), st.integers(0, 59))
def test_every_time_of_day_round_trips(hour, minute):
    assert parse_time(f"{hour:02d}:{minute:02d}") == time(hour, minute)
    assert parse_time(f"{hour}:{minute:02d}") == time(hour, minute)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(
        sorted(zoneinfo.available_timezones() - {"localtime", "posixrules", "Factory"})
    )
)
def test_every_known_zone_name_is_accepted_in_any_case(name):
    result = parse_timezone(name.swapcase())
    assert result.lower() == name.lower() or result == "UTC"
