"""OPML, the list-of-feeds format readers export and import: parsed safely, written simply.

An OPML file comes from a user, so it is parsed as hostile XML: a document type declaration
is refused outright (OPML never needs one, and it is where external entities and entity
expansion bombs live), the parser resolves no entities and reaches no network, and both the
file size and the number of outlines are capped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from lxml import etree

from summaries.sources import reasons

MAX_OPML_BYTES = 1024 * 1024
MAX_OUTLINES = 500


class OpmlError(ValueError):
    """The file is not OPML the bot can read, with the reason in words."""


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    title: str | None = None


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """The feeds an OPML file lists (``xmlUrl`` of each outline), in document order.

    Duplicates are dropped. Raises ``OpmlError`` for anything that is not safe, readable OPML.
    """
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(reasons.OPML_TOO_LARGE.format(size=MAX_OPML_BYTES // 1024))
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise OpmlError(reasons.OPML_DOCTYPE)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise OpmlError(reasons.OPML_NOT_XML.format(detail=error.msg)) from None
    if root is None or etree.QName(root).localname.lower() != "opml":
        raise OpmlError(reasons.OPML_NOT_OPML)
    return _feeds(root.iter("{*}outline", "outline"))


def _feeds(outlines: Iterable[etree._Element]) -> list[OpmlFeed]:
    feeds: dict[str, OpmlFeed] = {}
    for count, outline in enumerate(outlines, start=1):
        if count > MAX_OUTLINES:
            raise OpmlError(reasons.OPML_TOO_MANY.format(count=MAX_OUTLINES))
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url or url in feeds:
            continue
        title = (outline.get("title") or outline.get("text") or "").strip() or None
        feeds[url] = OpmlFeed(url, title)
    return list(feeds.values())


def write_opml(feeds: Iterable[OpmlFeed], title: str) -> bytes:
    """An OPML 2.0 document listing ``feeds``, for readers' import."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_text(title)}</title></head>",
        "  <body>",
    ]
    for feed in feeds:
        name = feed.title or feed.url
        lines.append(
            f'    <outline type="rss" text={quoteattr(name)} title={quoteattr(name)} '
            f"xmlUrl={quoteattr(feed.url)}/>"
        )
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines).encode("utf-8")


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
