"""The value objects that flow through the summariser: articles in, digests out."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

_WHITESPACE = re.compile(r"\s+")

SUMY_ALGORITHMS = (
    "lexrank",
    "textrank",
    "lsa",
    "luhn",
    "sumbasic",
    "kl",
    "reduction",
    "edmundson",
)
ALGORITHMS = ("default", "lead", *SUMY_ALGORITHMS)
MIN_BULLETS = 1
MAX_BULLETS = 10


def normalise_text(text: str) -> str:
    """Fold Unicode forms, case and whitespace so that trivially different copies compare equal."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _WHITESPACE.sub(" ", folded).strip()


def make_article_id(url: str | None, title: str, paragraphs: tuple[str, ...] | list[str]) -> str:
    """A stable id: from the URL when there is one, else from the normalised title and text."""
    if url:
        basis = "url:" + url.strip()
    else:
        basis = "text:" + normalise_text(title + "\n" + "\n".join(paragraphs))
    return hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Article:
    """One news article as ingested from a source.

    `source` is the file path or URL the article came from; `paragraphs` hold the body text
    (never the title). `published` is timezone-aware when known. `language` is an ISO 639-1
    code ("en", "zh"), from the source's configuration; "" until known (see
    `summaries.digest.with_language`, which detects it).
    """

    id: str
    source: str
    title: str
    paragraphs: tuple[str, ...]
    url: str | None = None
    published: datetime | None = None
    tags: tuple[str, ...] = ()
    language: str = ""

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    @classmethod
    def create(
        cls,
        *,
        source: str,
        title: str,
        paragraphs: tuple[str, ...] | list[str],
        url: str | None = None,
        published: datetime | None = None,
        tags: tuple[str, ...] | list[str] = (),
        language: str = "",
    ) -> Article:
        paragraphs = tuple(paragraphs)
        return cls(
            id=make_article_id(url, title, paragraphs),
            source=source,
            title=title,
            paragraphs=paragraphs,
            url=url,
            published=published,
            tags=tuple(tags),
            language=language,
        )


@dataclass(frozen=True, slots=True)
class Digest:
    """The condensed form of one article: k bullets in article order, topics and keywords."""

    article_id: str
    bullets: tuple[str, ...]
    topics: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    algorithm: str = "default"


@dataclass(frozen=True, slots=True)
class Topic:
    """A configured subject people can subscribe to. `name` is a short lowercase slug."""

    name: str
    title: str
    description: str
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SummariserSettings:
    bullets: int = 3
    algorithm: str = "default"
    max_bullet_chars: int = 280
    keywords: int = 5
