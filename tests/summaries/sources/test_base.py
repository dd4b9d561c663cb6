from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from summaries.sources import SourceSpec, decode_bytes, parse_datetime
from summaries.sources.base import (
    SourceError,
    declared_charset,
    replace_bad_character_references,
    resolve_timezone,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_utf8_decodes_without_problems():
    assert decode_bytes("Caf\u00e9 \u4e0a\u6d77".encode(), "a.txt") == (
        "Caf\u00e9 \u4e0a\u6d77",
        (),
    )


def test_byte_order_marks_decide_the_encoding():
    assert decode_bytes("\ufeffTitle".encode("utf-8"), "a")[0] == "Title"
    assert decode_bytes("Title".encode("utf-16"), "a")[0] == "Title"


def test_legacy_bytes_fall_back_to_windows_1252_with_a_warning():
    data = "Caf\u00e9 \u2014 \u20ac5".encode("cp1252")
    text, problems = decode_bytes(data, "old.txt")
    assert text == "Caf\u00e9 \u2014 \u20ac5"
    assert problems == (
        "old.txt: not valid UTF-8 (byte 0xe9 at offset 3); decoded as windows-1252",
    )


def test_mostly_utf8_keeps_its_utf8_and_marks_the_bad_byte():
    data = "\u4e0a\u6d77 ok ".encode() + b"\xff"
    text, problems = decode_bytes(data, "mixed.txt")
    assert text == "\u4e0a\u6d77 ok \ufffd"
    assert len(problems) == 1 and "mixed.txt" in problems[0] and "U+FFFD" in problems[0]


def test_declared_charset_is_used_and_wrong_or_unknown_ones_are_reported():
    data = "Caf\u00e9".encode("iso-8859-1")
    assert decode_bytes(data, "a", "iso-8859-1") == ("Caf\u00e9", ())
    _, problems = decode_bytes("\u00e9".encode(), "a", "no-such-charset")
    assert problems == ("a: unknown charset 'no-such-charset'; trying UTF-8",)
    text, problems = decode_bytes("\u00e9t\u00e9".encode(), "a", "ascii")
    assert text == "\u00e9t\u00e9"
    assert problems[0].startswith("a: bytes are not valid ascii as declared")


def test_declared_utf8_with_a_stray_byte_replaces_only_that_byte():
    data = "Stra\u00dfe \u4e0a\u6d77 ".encode() + b"\xff" + " Br\u00fccke".encode()
    for declared in ("utf-8", "UTF8", "utf_8"):
        text, problems = decode_bytes(data, "a", declared)
        assert text == "Stra\u00dfe \u4e0a\u6d77 \ufffd Br\u00fccke"
        assert len(problems) == 1 and "U+FFFD" in problems[0]
    # Declared UTF-8 decides even when the stray byte is the only non-ASCII one.
    assert decode_bytes(b"plain \xff text", "a", "utf-8")[0] == "plain \ufffd text"
    assert decode_bytes(b"plain \xff text", "a", None, "utf-8")[0] == "plain \ufffd text"


def test_text_declared_utf8_but_plainly_legacy_is_detected():
    russian = "\u041a\u0432\u0430\u043d\u0442\u043e\u0432\u0430\u044f \u0441\u0435\u0442\u044c"
    text, problems = decode_bytes(f"<p>{russian} {russian}</p>".encode("cp1251"), "a", "utf-8")
    assert text == f"<p>{russian} {russian}</p>"
    assert "(detected)" in problems[-1]


def test_the_first_declaration_that_fits_wins():
    russian = (
        "\u0413\u043e\u0440\u043e\u0434\u0441\u043a\u043e\u0439 \u0441\u043e\u0432\u0435\u0442"
    )
    data = russian.encode("cp1251")
    text, problems = decode_bytes(data, "a", "utf-8", "windows-1251")
    assert text == russian
    assert problems and problems[0].startswith("a: bytes are not valid utf-8 as declared")
    assert decode_bytes(b"x", "a", "utf-8", "utf-8", None) == ("x", ())


def test_bad_numeric_character_references_become_replacement_characters():
    text = "a&#xD800;b&#55296;c&#X0dFfF;d&#x0000DC00;e&#57343;f&#x110000;g&#99999999999999;h"
    assert (
        replace_bad_character_references(text)
        == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf\ufffdg\ufffdh"
    )
    kept = "&#xD7FF; &#55295; &#xE000; &#57344; &#x10FFFF; &#233; &amp;#xD800; &#xD800"
    assert replace_bad_character_references(kept) == kept


def test_declared_charset_from_prolog_or_meta():
    assert declared_charset(b'<?xml version="1.0" encoding="ISO-8859-1"?><rss/>') == "ISO-8859-1"
    assert declared_charset(b'<html><head><meta charset="gbk">') == "gbk"
    meta = b'<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'
    assert declared_charset(meta) == "Shift_JIS"
    assert declared_charset(b"<html>") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("May 24, 2024 11:48 AM", datetime(2024, 5, 24, 11, 48, tzinfo=SHANGHAI)),
        ("June 3, 2024 4:05 PM", datetime(2024, 6, 3, 16, 5, tzinfo=SHANGHAI)),
        ("2024-05-24 11:48", datetime(2024, 5, 24, 11, 48, tzinfo=SHANGHAI)),
        ("2024-05-24T03:48:00Z", datetime(2024, 5, 24, 3, 48, tzinfo=UTC)),
        (
            "Fri, 24 May 2024 11:48:00 +0800",
            datetime(2024, 5, 24, 11, 48, tzinfo=timezone(timedelta(hours=8))),
        ),
        ("2024/05/24", datetime(2024, 5, 24, tzinfo=SHANGHAI)),
        ("24 May 2024", datetime(2024, 5, 24, tzinfo=SHANGHAI)),
    ],
)
def test_parse_datetime_forms_and_zones(value, expected):
    parsed = parse_datetime(value, SHANGHAI)
    assert parsed == expected
    assert parsed.tzinfo is not None


def test_parse_datetime_refuses_nonsense():
    assert parse_datetime("soon", UTC) is None
    assert parse_datetime("  ", UTC) is None


def test_unknown_timezone_is_a_source_error_naming_it():
    with pytest.raises(SourceError, match="Mars/Base"):
        resolve_timezone("Mars/Base", "UTC")
    assert resolve_timezone(None, "Asia/Shanghai") == SHANGHAI


def test_source_spec_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="'pdf'"):
        SourceSpec(name="x", location="y", kind="pdf")


@pytest.mark.parametrize(
    "changes",
    [{"name": " "}, {"location": ""}, {"interval_minutes": 0}, {"max_articles": 0}],
)
def test_source_spec_refuses_empty_names_and_nonpositive_limits(changes):
    with pytest.raises(ValueError, match="source "):
        SourceSpec(**{"name": "x", "location": "y", **changes})
