"""HTML pages and fragments reduced to an article's paragraphs with lxml.

Boilerplate (scripts, styles, navigation, headers, footers, forms, asides, comments, hidden and
share/cookie/related blocks) is removed first. The main text is the page's declared article body
(`itemprop=articleBody`, `<article>`, `<main>`) or else, readability-style, the element whose
child paragraphs hold the most text. Paragraphs that are mostly link text (menus, "read more"
lists) are dropped.
"""

from __future__ import annotations

import html as html_entities
import re
from datetime import datetime, tzinfo
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml import html as lxml_html

from summaries.models import normalise_text
from summaries.sources.base import (
    DEFAULT_TIMEZONE,
    ParseResult,
    SourceError,
    clean_text,
    collapse_whitespace,
    declared_charset,
    decode_bytes,
    one_article,
    parse_datetime,
    resolve_timezone,
    soft_wrapped_paragraphs,
)

_BOILERPLATE_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "nav", "header", "footer", "form", "aside",
        "iframe", "svg", "math", "button", "select", "input", "textarea", "label", "figcaption",
        "object", "embed", "canvas", "dialog", "menu", "audio", "video", "picture", "img",
        "link", "meta", "head", "title",
    }
)  # fmt: skip
_BOILERPLATE_ROLES = frozenset(
    {"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar", "dialog"}
)
_BOILERPLATE_HINT = re.compile(
    r"(?:^|[\s_-])(?:nav|navbar|menu|footer|sidebar|share|sharing|social|comments?|related|"
    r"advert|ads?|promo|cookies?|consent|breadcrumbs?|newsletter|subscribe|signup|popup|modal|"
    r"skip-link|sr-only|visually-hidden)(?:$|[\s_-])",
    re.IGNORECASE,
)
# Elements never removed by a class/id hint: the document and its declared main content.
_NEVER_HINTED = frozenset({"html", "body", "article", "main"})
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
        "td", "th", "tr", "table", "dd", "dt", "dl", "section", "article", "main", "figure",
        "address", "hr", "br", "body", "center", "details", "summary",
    }
)  # fmt: skip
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_LOOKS_LIKE_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!][^>]*>")
_XML_PROLOG = re.compile(r"^\s*<\?xml[^>]*\?>")
MAX_LINK_SHARE = 0.6
_PUBLISHED_META = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "date",
    "dc.date",
    "dc.date.issued",
    "dcterms.date",
    "dcterms.created",
    "sailthru.date",
    "parsely-pub-date",
)


def html_to_paragraphs(markup: str) -> list[str]:
    """Paragraphs of an HTML fragment (a feed entry's content); plain text is split on blank
    lines instead."""
    markup = clean_text(markup)
    if not _LOOKS_LIKE_MARKUP.search(markup):
        return soft_wrapped_paragraphs(html_entities.unescape(markup).splitlines())
    try:
        root = lxml_html.fragment_fromstring(_XML_PROLOG.sub("", markup), create_parent="div")
    except (etree.ParserError, ValueError):
        return soft_wrapped_paragraphs(markup.splitlines())
    _drop_boilerplate(root)
    return _paragraphs(root)


def parse_html(
    data: bytes | str,
    source: str,
    *,
    url: str | None = None,
    tz: str | None = None,
    charset: str | None = None,
) -> ParseResult:
    """One article from an HTML page, or a problem saying why there is none.

    `url` is where the page was fetched from (the article's URL unless the page names a
    canonical one); `charset` is the one an HTTP header declared.
    """
    zone = resolve_timezone(tz, DEFAULT_TIMEZONE)
    problems: list[str] = []
    if isinstance(data, bytes):
        text, decode_problems = decode_bytes(data, source, charset or declared_charset(data))
        problems.extend(decode_problems)
    else:
        text = clean_text(data)
    try:
        document = lxml_html.document_fromstring(_XML_PROLOG.sub("", text))
    except (etree.ParserError, ValueError) as error:
        return ParseResult(problems=(*problems, f"{source}: not an HTML page ({error}); skipped"))
    title = _title(document)
    page_url = _canonical_url(document, url)
    published = _published(document, zone)
    tags = _meta_values(document, "article:tag")
    _drop_boilerplate(document)
    paragraphs = _drop_leading_title(_paragraphs(_main_container(document)), title)
    if not title:
        title = paragraphs.pop(0) if len(paragraphs) > 1 else ""
    if not title:
        return ParseResult(problems=(*problems, f"{source}: page has no title or text; skipped"))
    return one_article(
        source,
        title,
        paragraphs,
        problems,
        what="page",
        url=page_url,
        published=published,
        tags=tags,
    )


def check_html_document(text: str) -> None:
    """Raise SourceError when lxml cannot make a document of `text` at all."""
    try:
        lxml_html.document_fromstring(_XML_PROLOG.sub("", text))
    except (etree.ParserError, ValueError) as error:
        raise SourceError(f"not an HTML page ({error})") from error


# --- metadata -------------------------------------------------------------------------------


def _meta_content(document: lxml_html.HtmlElement, *names: str) -> str | None:
    wanted = {name.lower() for name in names}
    for meta in document.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        content = collapse_whitespace(meta.get("content") or "")
        if key in wanted and content:
            return content
    return None


def _meta_values(document: lxml_html.HtmlElement, name: str) -> tuple[str, ...]:
    values = (
        collapse_whitespace(meta.get("content") or "")
        for meta in document.iter("meta")
        if (meta.get("property") or meta.get("name") or "").lower() == name
    )
    return tuple(dict.fromkeys(value for value in values if value))


def _text_of(element: lxml_html.HtmlElement) -> str:
    return collapse_whitespace(element.text_content())


def _title(document: lxml_html.HtmlElement) -> str:
    for heading in document.xpath("//article//h1 | //main//h1 | //*[@role='main']//h1"):
        if text := _text_of(heading):
            return text
    if og_title := _meta_content(document, "og:title", "twitter:title"):
        return og_title
    for heading in document.iter("h1"):
        if text := _text_of(heading):
            return text
    title = document.find(".//title")
    return _text_of(title) if title is not None else ""


def _canonical_url(document: lxml_html.HtmlElement, base_url: str | None) -> str | None:
    candidates = [
        link.get("href")
        for link in document.iter("link")
        if "canonical" in (link.get("rel") or "").lower().split()
    ]
    candidates.append(_meta_content(document, "og:url"))
    for candidate in candidates:
        if not candidate:
            continue
        absolute = urljoin(base_url or "", candidate.strip())
        if urlsplit(absolute).scheme in ("http", "https"):
            return absolute
    return base_url


def _published(document: lxml_html.HtmlElement, zone: tzinfo) -> datetime | None:
    candidates = [_meta_content(document, *_PUBLISHED_META)]
    candidates.extend(
        element.get("datetime") or element.get("content")
        for element in document.xpath("//*[@itemprop='datePublished']")
    )
    times = document.xpath("//article//time[@datetime]") or document.xpath("//time[@datetime]")
    candidates.extend(element.get("datetime") for element in times)
    for candidate in candidates:
        if candidate and (published := parse_datetime(candidate, zone)):
            return published
    return None


# --- main text ------------------------------------------------------------------------------


def _is_boilerplate(element: lxml_html.HtmlElement) -> bool:
    """By tag, role or hiding; class/id hints are checked separately (see _drop_boilerplate)."""
    tag = element.tag
    if not isinstance(tag, str):
        return True  # comments and processing instructions
    if tag.lower() in _BOILERPLATE_TAGS:
        return True
    if element.get("hidden") is not None or element.get("aria-hidden") == "true":
        return True
    if (element.get("role") or "").lower() in _BOILERPLATE_ROLES:
        return True
    return _HIDDEN_STYLE.search(element.get("style") or "") is not None


def _has_boilerplate_hint(element: lxml_html.HtmlElement, total_chars: int) -> bool:
    """A share/related/sidebar/... class or id, unless the element evidently holds the article
    (a wrapper like `page-with-sidebar` must not take the text with it)."""
    if element.tag.lower() in _NEVER_HINTED:
        return False
    hints = f"{element.get('class') or ''} {element.get('id') or ''}"
    if _BOILERPLATE_HINT.search(hints) is None:
        return False
    if element.xpath(".//article | .//main | .//h1"):
        return False
    return _deep_paragraph_chars(element) <= total_chars / 2


def _drop_boilerplate(root: lxml_html.HtmlElement) -> None:
    for element in [node for node in root.iter() if node is not root and _is_boilerplate(node)]:
        if element.getparent() is not None:
            element.drop_tree()  # keeps the element's tail text, which belongs to its parent
    total_chars = _deep_paragraph_chars(root)
    hinted = [node for node in root.iter() if node is not root]
    for element in hinted:
        if element.getparent() is not None and _has_boilerplate_hint(element, total_chars):
            element.drop_tree()


def _paragraph_text_score(element: lxml_html.HtmlElement) -> int:
    return sum(len(_text_of(paragraph)) for paragraph in element.iterfind("p"))


def _main_container(document: lxml_html.HtmlElement) -> lxml_html.HtmlElement:
    """The declared article body when the page has one, else the element with the most text in
    its own <p> children (a grandparent earns half, so a body split across sections wins)."""
    declared = document.xpath(
        "//*[@itemprop='articleBody'] | //article | //main | //*[@role='main']"
    )
    chars = {element: _deep_paragraph_chars(element) for element in declared}
    most = max(chars.values(), default=0)
    if most > 0:
        # Of nested candidates holding (nearly) all the text, the innermost is the tightest.
        near_best = [element for element in declared if chars[element] >= 0.9 * most]
        return max(near_best, key=lambda element: len(list(element.iterancestors())))
    scores: dict[lxml_html.HtmlElement, float] = {}
    for paragraph in document.iter("p"):
        length = len(_text_of(paragraph))
        parent = paragraph.getparent()
        if parent is None or length == 0:
            continue
        scores[parent] = scores.get(parent, 0) + length
        grandparent = parent.getparent()
        if grandparent is not None:
            scores[grandparent] = scores.get(grandparent, 0) + length / 2
    if not scores:
        body = document.find("body")
        return body if body is not None else document
    return max(scores, key=lambda element: scores[element])


def _deep_paragraph_chars(element: lxml_html.HtmlElement) -> int:
    return sum(len(_text_of(paragraph)) for paragraph in element.iter("p"))


def _paragraphs(root: lxml_html.HtmlElement) -> list[str]:
    """Block-level text in document order, dropping blocks that are mostly links."""
    blocks: list[str] = []
    pieces: list[str] = []
    link_chars = 0
    link_depth = 0

    def flush() -> None:
        nonlocal link_chars
        text = collapse_whitespace("".join(pieces))
        if text and link_chars <= MAX_LINK_SHARE * len(text):
            blocks.append(text)
        pieces.clear()
        link_chars = 0

    def add(text: str | None) -> None:
        nonlocal link_chars
        if text:
            pieces.append(text)
            if link_depth:
                link_chars += len(text.strip())

    # iterwalk instead of recursion: hostile pages can nest deeper than Python's stack.
    for event, element in etree.iterwalk(root, events=("start", "end")):
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if event == "start":
            if tag in _BLOCK_TAGS:
                flush()
            if tag == "a":
                link_depth += 1
            if tag:
                add(element.text)
        else:
            if tag == "a":
                link_depth -= 1
            if tag in _BLOCK_TAGS:
                flush()
            if element is not root:
                add(element.tail)
    flush()
    return blocks


def _drop_leading_title(paragraphs: list[str], title: str) -> list[str]:
    if paragraphs and title and normalise_text(paragraphs[0]) == normalise_text(title):
        return paragraphs[1:]
    return paragraphs
