"""Signed callback data: round trips, and refusal of anything forged, foreign or malformed."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.callbacks import (
    MAX_CALLBACK_BYTES,
    Callback,
    InvalidCallback,
    decode,
    derive_key,
    encode,
    encoded_size,
    fits,
)

KEY = derive_key("123456:TEST-token")
CHAT = -1001234567890  # a supergroup id: the longest ids there are

actions = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True)
arguments = st.lists(
    st.text(st.characters(codec="utf-8", exclude_characters="|\x1f"), max_size=8),
    max_size=3,
)
chat_ids = st.integers(-(10**13), 10**13)


def test_round_trip():
    data = encode("toggle", CHAT, "quantum", key=KEY)
    assert decode(data, chat_id=CHAT, key=KEY) == Callback("toggle", ("quantum",))
    assert decode(encode("settings", 42, key=KEY), chat_id=42, key=KEY) == Callback("settings")


def test_longest_realistic_data_fits_64_bytes():
    # A 20-character topic name plus a page number, on a supergroup id.
    data = encode("toggle", CHAT, "satellite_internet_x", "p12", key=KEY)
    assert len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES
    assert decode(data, chat_id=CHAT, key=KEY).args == ("satellite_internet_x", "p12")
    assert fits("search_more", "quantum satellite internet", "15")


def test_data_too_long_to_encode_is_a_programming_error():
    with pytest.raises(ValueError, match="over the 64"):
        encode("subscribe", CHAT, "x" * 60, key=KEY)
    assert not fits("subscribe", "x" * 60)
    assert encoded_size("a") == 13


@pytest.mark.parametrize(
    ("action", "args"), [("", ()), ("Toggle", ()), ("a|b", ()), ("ok", ("a|b",)), ("1x", ())]
)
def test_encode_refuses_malformed_parts(action, args):
    with pytest.raises(ValueError, match="callback"):
        encode(action, CHAT, *args, key=KEY)


def test_another_chat_is_refused():
    data = encode("toggle", 111, "quantum", key=KEY)
    with pytest.raises(InvalidCallback, match="signature"):
        decode(data, chat_id=222, key=KEY)


def test_data_signed_with_another_token_is_refused():
    data = encode("toggle", CHAT, "quantum", key=derive_key("999:OLD-token"))
    with pytest.raises(InvalidCallback, match="signature"):
        decode(data, chat_id=CHAT, key=KEY)


def test_moving_arguments_between_fields_is_refused():
    data = encode("toggle", CHAT, "a", "b", key=KEY)
    signature = data.rsplit("|", 1)[1]
    with pytest.raises(InvalidCallback):
        decode(f"toggle|a\x1fb|{signature}", chat_id=CHAT, key=KEY)
    with pytest.raises(InvalidCallback):
        decode(f"toggle|ab|{signature}", chat_id=CHAT, key=KEY)


@pytest.mark.parametrize(
    "data",
    ["", "|", "toggle", "toggle|quantum", "x" * 65, "toggle|quantum|" + "A" * 11, "é" * 40],
)
def test_garbage_is_refused(data):
    with pytest.raises(InvalidCallback):
        decode(data, chat_id=CHAT, key=KEY)


def test_lone_surrogate_is_refused_not_crashed():
    with pytest.raises(InvalidCallback, match="not valid text"):
        decode("toggle|\ud800|AAAAAAAAAAA", chat_id=CHAT, key=KEY)


@settings(max_examples=200, deadline=None)
@given(actions, chat_ids, arguments)
def test_any_encodable_data_round_trips(action, chat_id, args):
    if not fits(action, *args):
        with pytest.raises(ValueError):
            encode(action, chat_id, *args, key=KEY)
        return
    data = encode(action, chat_id, *args, key=KEY)
    assert len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES
    assert decode(data, chat_id=chat_id, key=KEY) == Callback(action, tuple(args))


@settings(max_examples=200, deadline=None)
@given(actions, chat_ids, arguments, st.data())
def test_tampering_with_any_byte_is_refused(action, chat_id, args, data):
    if not fits(action, *args):
        return
    raw = bytearray(encode(action, chat_id, *args, key=KEY).encode("utf-8"))
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[position]))
    try:
        tampered = raw.decode("utf-8")
    except UnicodeDecodeError:
        return  # Telegram could never deliver these bytes as callback data
    with pytest.raises(InvalidCallback):
        decode(tampered, chat_id=chat_id, key=KEY)


@settings(max_examples=200, deadline=None)
@given(actions, chat_ids, chat_ids, arguments)
def test_other_chat_ids_are_refused(action, chat_id, other, args):
    if chat_id == other or not fits(action, *args):
        return
    with pytest.raises(InvalidCallback):
        decode(encode(action, chat_id, *args, key=KEY), chat_id=other, key=KEY)


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(exclude_categories=()), max_size=100), chat_ids)
def test_any_text_is_refused_without_crashing(text, chat_id):
    with pytest.raises(InvalidCallback):
        decode(text, chat_id=chat_id, key=KEY)
