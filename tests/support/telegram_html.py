"""A strict model of how the Bot API parses ``parse_mode=HTML`` message text.

It follows TDLib's HTML parser (the code behind the Bot API) closely enough that anything it
accepts Telegram accepts too, and it is stricter in two places where Telegram is lenient but
its documentation is not: a bare ``&`` and an unknown entity such as ``&nbsp;`` are errors here.
Error messages mirror Telegram's; the Bot API prefixes them with
``"Bad Request: can't parse entities: "``.

Offsets and lengths of entities are in UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import cast

MAX_MESSAGE_LENGTH = 4096

# Tag -> Bot API entity type.
_ENTITY_TYPE_BY_TAG = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
SUPPORTED_TAGS = frozenset(_ENTITY_TYPE_BY_TAG)

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_SHAPE = re.compile(r"&(#[xX][0-9A-Za-z]*|#[0-9A-Za-z]*|[A-Za-z][A-Za-z0-9]*);")
_SPACES = " \t\n\r\f\v"
_MAX_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)


class TelegramHTMLError(ValueError):
    """Text that the Bot API would refuse with "Bad Request: can't parse entities: ..."."""


@dataclass(frozen=True)
class ParsedHTML:
    """The text a user sees and the formatting entities, as the Bot API would store them."""

    plain_text: str
    entities: list[dict[str, object]] = field(default_factory=list)


@dataclass
class _OpenTag:
    name: str
    offset: int  # UTF-16 offset in the plain text where the tag's content starts
    byte_pos: int
    attributes: dict[str, str]
    expandable: bool = False
    language: str | None = None


def utf16_length(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram counts in."""
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text)


def visible_length(text: str) -> int:
    """UTF-16 length of what Telegram shows for ``text`` sent with parse_mode HTML.

    Raises TelegramHTMLError when the text is not valid Telegram HTML.
    """
    return utf16_length(parse_telegram_html(text).plain_text)


def parse_telegram_html(text: str) -> ParsedHTML:
    """Parse ``text`` like the Bot API does for parse_mode HTML.

    Raises TelegramHTMLError, with a message like Telegram's, for unsupported tags, unclosed
    or misnested tags, unknown or malformed entities, and a bare ``<`` or ``&``.
    """
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.out: list[str] = []
        self.utf16 = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[dict[str, object]] = []

    def parse(self) -> ParsedHTML:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == "&":
                self._emit(self._read_entity())
            elif char == "<":
                if text.startswith("</", self.pos):
                    self._read_end_tag()
                else:
                    self._read_start_tag()
            else:
                self._emit(char)
                self.pos += 1
        if self.stack:
            raise TelegramHTMLError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        self.entities.sort(key=_entity_order)
        return ParsedHTML("".join(self.out), self.entities)

    # -- characters and entities -------------------------------------------------------

    def _emit(self, chars: str) -> None:
        self.out.append(chars)
        self.utf16 += utf16_length(chars)

    def _byte_offset(self, index: int) -> int:
        return len(self.text[:index].encode("utf-8", "surrogatepass"))

    def _read_entity(self) -> str:
        """Decode the entity at ``self.pos`` (which holds ``&``) and move past it."""
        start = self.pos
        match = _ENTITY_SHAPE.match(self.text, start)
        if match is None:
            raise TelegramHTMLError(
                f'Unescaped "&" at byte offset {self._byte_offset(start)}: write it as &amp;'
            )
        self.pos = match.end()
        return _decode_entity(match.group(1), match.group(0), self._byte_offset(start))

    # -- tags ---------------------------------------------------------------------------

    def _at_end(self) -> bool:
        return self.pos >= len(self.text)

    def _skip_spaces(self) -> None:
        while not self._at_end() and self.text[self.pos] in _SPACES:
            self.pos += 1

    def _read_while(self, stop: str) -> str:
        """Read characters up to (not including) a space, one of ``stop`` or the end."""
        start = self.pos
        while not self._at_end() and self.text[self.pos] not in _SPACES + stop:
            self.pos += 1
        return self.text[start : self.pos]

    def _read_start_tag(self) -> None:
        begin = self.pos
        byte_pos = self._byte_offset(begin)
        self.pos += 1
        name = self._read_while(">").lower()
        if self._at_end():
            raise TelegramHTMLError(f"Unclosed start tag at byte offset {byte_pos}")
        if name not in SUPPORTED_TAGS:
            raise TelegramHTMLError(f'Unsupported start tag "{name}" at byte offset {byte_pos}')
        tag = _OpenTag(name=name, offset=self.utf16, byte_pos=byte_pos, attributes={})
        self._read_attributes(tag)
        self.pos += 1  # the closing ">"
        self._check_start_tag(tag)
        self.stack.append(tag)

    def _read_attributes(self, tag: _OpenTag) -> None:
        while True:
            self._skip_spaces()
            if self._at_end():
                raise TelegramHTMLError(f"Unclosed start tag at byte offset {tag.byte_pos}")
            if self.text[self.pos] == ">":
                return
            attribute = self._read_while("=>").lower()
            if not attribute:
                raise TelegramHTMLError(
                    f'Empty attribute name in the tag "{tag.name}" at byte offset {tag.byte_pos}'
                )
            self._skip_spaces()
            if self._at_end():
                raise TelegramHTMLError(f"Unclosed start tag at byte offset {tag.byte_pos}")
            if self.text[self.pos] != "=":
                if tag.name == "blockquote" and attribute == "expandable":
                    tag.expandable = True
                    continue
                raise TelegramHTMLError(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{tag.name}" at byte offset {tag.byte_pos}'
                )
            self.pos += 1
            self._skip_spaces()
            tag.attributes[attribute] = self._read_attribute_value(tag)

    def _read_attribute_value(self, tag: _OpenTag) -> str:
        if self._at_end():
            raise TelegramHTMLError(f"Unclosed start tag at byte offset {tag.byte_pos}")
        quote = self.text[self.pos]
        if quote not in "\"'":
            value = self._read_while(">\"'`=<")
            if not value:
                raise TelegramHTMLError(
                    f"Unexpected end of name token at byte offset {self._byte_offset(self.pos)}"
                )
            return value
        close = self.text.find(quote, self.pos + 1)
        if close == -1:
            raise TelegramHTMLError(f"Unclosed start tag at byte offset {tag.byte_pos}")
        raw = self.text[self.pos + 1 : close]
        self.pos = close + 1
        return _decode_attribute(raw, tag.byte_pos)

    def _check_start_tag(self, tag: _OpenTag) -> None:
        if tag.name == "span" and tag.attributes.get("class") != "tg-spoiler":
            raise TelegramHTMLError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {tag.byte_pos}'
            )
        if tag.name == "tg-emoji" and not tag.attributes.get("emoji-id", "").isdigit():
            raise TelegramHTMLError(
                "Custom emoji identifier must be a number in the tag "
                f'"tg-emoji" at byte offset {tag.byte_pos}'
            )

    def _read_end_tag(self) -> None:
        begin = self.pos
        byte_pos = self._byte_offset(begin)
        if not self.stack:
            raise TelegramHTMLError(f"Unexpected end tag at byte offset {byte_pos}")
        self.pos += 2
        name = self._read_while(">").lower()
        self._skip_spaces()
        if self._at_end() or self.text[self.pos] != ">":
            raise TelegramHTMLError(f"Unclosed end tag at byte offset {byte_pos}")
        self.pos += 1
        open_tag = self.stack[-1]
        if name and name != open_tag.name:
            raise TelegramHTMLError(
                f'Unmatched end tag at byte offset {byte_pos}, expected "</{open_tag.name}>", '
                f'found "</{name}>"'
            )
        self.stack.pop()
        self._close(open_tag)

    def _close(self, tag: _OpenTag) -> None:
        length = self.utf16 - tag.offset
        parent = self.stack[-1] if self.stack else None
        if tag.name == "code" and parent is not None and parent.name == "pre":
            # <pre><code class="language-x"> is one pre entity with a language.
            css_class = tag.attributes.get("class", "")
            if css_class.startswith("language-") and len(css_class) > len("language-"):
                parent.language = css_class.removeprefix("language-")
            return
        if length == 0:
            return  # Telegram drops empty entities
        entity: dict[str, object] = {
            "type": _ENTITY_TYPE_BY_TAG[tag.name],
            "offset": tag.offset,
            "length": length,
        }
        if tag.name == "a":
            href = tag.attributes.get("href", "")
            if not href:
                return  # a link without a target is plain text
            entity["url"] = href
        elif tag.name == "pre" and tag.language:
            entity["language"] = tag.language
        elif tag.name == "blockquote" and tag.expandable:
            entity["type"] = "expandable_blockquote"
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = tag.attributes["emoji-id"]
        self.entities.append(entity)


def _entity_order(entity: dict[str, object]) -> tuple[int, int]:
    """Telegram lists entities by offset, the enclosing one first."""
    return cast(int, entity["offset"]), -cast(int, entity["length"])


def _decode_entity(body: str, whole: str, byte_pos: int) -> str:
    """Decode one entity: ``body`` is what stands between ``&`` and ``;``."""
    if not body.startswith("#"):
        if body in _NAMED_ENTITIES:
            return _NAMED_ENTITIES[body]
        raise TelegramHTMLError(
            f'Unsupported HTML entity "{whole}" at byte offset {byte_pos}: '
            "only &lt; &gt; &amp; &quot; and numeric entities are allowed"
        )
    digits, base = (body[2:], 16) if body[1:2] in ("x", "X") else (body[1:], 10)
    try:
        code_point = int(digits, base)
    except ValueError:
        code_point = -1
    if not 0 < code_point <= _MAX_CODE_POINT or code_point in _SURROGATES:
        raise TelegramHTMLError(f'Invalid numeric HTML entity "{whole}" at byte offset {byte_pos}')
    return chr(code_point)


def _decode_attribute(raw: str, byte_pos: int) -> str:
    """Decode entities inside a quoted attribute value, as strictly as in text."""
    parts: list[str] = []
    index = 0
    while True:
        amp = raw.find("&", index)
        if amp == -1:
            parts.append(raw[index:])
            return "".join(parts)
        parts.append(raw[index:amp])
        match = _ENTITY_SHAPE.match(raw, amp)
        if match is None:
            raise TelegramHTMLError(
                f'Unescaped "&" in an attribute of the tag at byte offset {byte_pos}: '
                "write it as &amp;"
            )
        parts.append(_decode_entity(match.group(1), match.group(0), byte_pos))
        index = match.end()
