"""Text from the outside made safe to store and show, whatever a source sent.

- NUL and the other C0/C1 control characters go (tab and newlines stay): PostgreSQL refuses a
  NUL in text, and the others are invisible noise in a message.
- Bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) go: they can make a
  title read backwards or disguise a file name ("invoice\u202egpj.exe").
- Lone surrogates (possible in a str, never in decoded bytes) become U+FFFD, and so do the
  noncharacters U+FFFE and U+FFFF, which no encoder should be asked to write.
- A leading byte order mark goes.

Pure and idempotent: sanitising sanitised text changes nothing.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UNENCODABLE = re.compile("[\ud800-\udfff\ufffe\uffff]")


def sanitize_text(text: str) -> str:
    """`text` without control characters or bidi overrides, and encodable as UTF-8."""
    if text.isascii() and text.isprintable():
        return text  # the common case, checked at C speed
    text = _UNSAFE.sub("", text)
    return _UNENCODABLE.sub("\ufffd", text).lstrip("\ufeff")


def sanitize_optional(text: str | None) -> str | None:
    return None if text is None else sanitize_text(text)


def has_unsafe_characters(text: str) -> bool:
    return bool(_UNSAFE.search(text) or _UNENCODABLE.search(text))
