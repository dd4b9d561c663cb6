"""Finding what to follow on a web page a user sent: its feed, or else its article links.

Pure functions over a page's HTML; the fetching (through the URL guard) is the caller's.
A page announces its feeds with ``<link rel="alternate" type="application/rss+xml">``; many
sites that do not still serve one at a conventional path, which the caller may try with
``common_feed_urls``. A page with no feed at all is followed by its links: the ones that look
like articles (same site, a path deeper than a section page, link text of a headline's length)
are the page's "items", and new ones are fetched as articles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urldefrag, urljoin, urlsplit

from lxml import html as lxml_html

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/xml",
        "text/xml",
    }
)
COMMON_FEED_PATHS = ("/feed", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml")
MAX_PAGE_LINKS = 50
_MIN_HEADLINE_WORDS = 4
_MIN_HEADLINE_CJK_CHARS = 8
_CJK = re.compile(r"[\u3400-\u9fff]")
_NOT_ARTICLES = re.compile(
    r"/(tag|tags|category|categories|author|authors|about|contact|login|signup|search|"
    r"privacy|terms|subscribe|account|help)(/|$)",
    re.IGNORECASE,
)
_FILE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".pdf", ".zip", ".mp3", ".mp4", ".css", ".js")


@dataclass(frozen=True)
class PageLink:
    url: str
    text: str


def _document(markup: bytes | str) -> lxml_html.HtmlElement | None:
    try:
        return lxml_html.document_fromstring(markup)
    except (ValueError, TypeError, lxml_html.etree.ParserError):
        return None


def announced_feeds(markup: bytes | str, base_url: str) -> list[str]:
    """The feed URLs a page names in ``<link rel="alternate">``, absolute, in page order."""
    document = _document(markup)
    if document is None:
        return []
    found: list[str] = []
    for link in document.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        href = (link.get("href") or "").strip()
        if "alternate" in rel and kind in FEED_TYPES and href:
            url = urldefrag(urljoin(base_url, href))[0]
            if urlsplit(url).scheme in ("http", "https") and url not in found:
                found.append(url)
    return found


def common_feed_urls(page_url: str) -> list[str]:
    """Conventional feed locations on the page's site, to try when it announces none."""
    parts = urlsplit(page_url)
    root = f"{parts.scheme}://{parts.netloc}"
    return [root + path for path in COMMON_FEED_PATHS]


def article_links(markup: bytes | str, page_url: str) -> list[PageLink]:
    """Links on the page that look like articles on the same site, first occurrence first."""
    document = _document(markup)
    if document is None:
        return []
    page = urlsplit(page_url)
    seen: dict[str, PageLink] = {}
    for anchor in document.iter("a"):
        url = urldefrag(urljoin(page_url, (anchor.get("href") or "").strip()))[0]
        text = " ".join(anchor.text_content().split())
        if url in seen or not _looks_like_article(url, text, page):
            continue
        seen[url] = PageLink(url, text)
        if len(seen) >= MAX_PAGE_LINKS:
            break
    return list(seen.values())


def _looks_like_article(url: str, text: str, page: SplitResult) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc != page.netloc:
        return False
    path = parts.path.rstrip("/")
    if not path or path == page.path.rstrip("/") or path.lower().endswith(_FILE_SUFFIXES):
        return False
    if _NOT_ARTICLES.search(path):
        return False
    return _is_headline(text)


def _is_headline(text: str) -> bool:
    if len(_CJK.findall(text)) >= _MIN_HEADLINE_CJK_CHARS:
        return True
    return len(text.split()) >= _MIN_HEADLINE_WORDS
