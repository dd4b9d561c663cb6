"""Signed inline-button data: forged, stale or foreign callback data is refused.

Callback data is at most 64 bytes and comes back from the client verbatim, so anyone can send
any string. Each button therefore carries a truncated HMAC-SHA256 over the chat id, the action
and its arguments. The chat id is signed but not written out (the update says which chat pressed
the button), which keeps the data short:

    "toggle|satellite|Xq3v9k2LrT0"   action | args... | 11-character base64url signature

Data from another chat, from an older bot token or edited in any byte fails the check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

MAX_CALLBACK_BYTES = 64
SEPARATOR = "|"
SIGNATURE_BYTES = 8
SIGNATURE_CHARS = 11  # base64url of 8 bytes, without padding
_ACTION = re.compile(r"[a-z][a-z0-9_]{0,15}")
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{11}")


class InvalidCallback(ValueError):
    """Callback data that is garbage, too long, badly signed or meant for another chat."""


@dataclass(frozen=True, slots=True)
class Callback:
    """A verified button press: what to do, with which arguments."""

    action: str
    args: tuple[str, ...] = ()


def derive_key(token: str) -> bytes:
    """The signing key, derived from the bot token so it needs no configuration of its own."""
    return hmac.new(token.encode("utf-8"), b"callbacks", hashlib.sha256).digest()


def _signature(key: bytes, chat_id: int, action: str, args: tuple[str, ...]) -> str:
    message = "\x1f".join((str(chat_id), action, *args)).encode("utf-8")
    digest = hmac.new(key, message, hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _check_parts(action: str, args: tuple[str, ...]) -> None:
    if not _ACTION.fullmatch(action):
        raise ValueError(f"callback action must be 1-16 of [a-z0-9_], starting a-z: {action!r}")
    for arg in args:
        if SEPARATOR in arg or "\x1f" in arg:
            raise ValueError(f"callback argument may not contain {SEPARATOR!r}: {arg!r}")


def encoded_size(action: str, *args: str) -> int:
    """How many bytes the data for this button will take (at most 64 are allowed)."""
    payload = SEPARATOR.join((action, *args, "x" * SIGNATURE_CHARS))
    return len(payload.encode("utf-8"))


def fits(action: str, *args: str) -> bool:
    """Whether a button with this action and arguments fits Telegram's 64 bytes."""
    return encoded_size(action, *args) <= MAX_CALLBACK_BYTES


def encode(action: str, chat_id: int, *args: str, key: bytes) -> str:
    """Signed callback data for a button shown in `chat_id`. ValueError if it cannot fit."""
    _check_parts(action, args)
    size = encoded_size(action, *args)
    if size > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data would be {size} bytes, over the {MAX_CALLBACK_BYTES}")
    return SEPARATOR.join((action, *args, _signature(key, chat_id, action, args)))


def decode(data: str, *, chat_id: int, key: bytes) -> Callback:
    """Verify data from a button pressed in `chat_id`; raise InvalidCallback unless it is ours."""
    try:
        size = len(data.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidCallback("callback data is not valid text") from None
    if size > MAX_CALLBACK_BYTES:
        raise InvalidCallback(f"callback data is {size} bytes, over {MAX_CALLBACK_BYTES}")
    *payload, signature = data.split(SEPARATOR)
    if not payload or not _SIGNATURE.fullmatch(signature) or not _ACTION.fullmatch(payload[0]):
        raise InvalidCallback("callback data is not in the form action|args|signature")
    action, args = payload[0], tuple(payload[1:])
    if any("\x1f" in arg for arg in args):
        raise InvalidCallback("callback data holds a character that is never signed")
    expected = _signature(key, chat_id, action, args)
    # Compare the text, not decoded bytes: base64 has several spellings of the last 2 bits.
    if not hmac.compare_digest(expected, signature):
        raise InvalidCallback("callback data has a bad signature (forged, stale or another chat)")
    return Callback(action, args)
