"""The value objects that flow through the summariser: articles in, digests out."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from summaries.sanitize import sanitize_optional, sanitize_text

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


def make_article_id(
    url: str | None,
    title: str,
    paragraphs: tuple[str, ...] | list[str],
    guid: str | None = None,
) -> str:
    """A stable id: from a feed item's guid when it has one other than its URL (live blogs and
    updates give several items one link), else from the URL, else from the normalised text.

    A guid equal to the URL (RSS permalinks) gives the URL's id, as before guids counted.
    """
    guid = (guid or "").strip()
    if guid and guid != (url or "").strip():
        basis = "guid:" + guid + "\nurl:" + (url or "").strip()
    elif url:
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
        guid: str | None = None,
    ) -> Article:
        # Whatever a source sent: no NUL, control characters or bidi overrides from here on.
        title, url = sanitize_text(title), sanitize_optional(url)
        paragraphs = tuple(p for p in map(sanitize_text, paragraphs) if p.strip())
        return cls(
            id=make_article_id(url, title, paragraphs, sanitize_optional(guid)),
            source=sanitize_text(source),
            title=title,
            paragraphs=paragraphs,
            url=url,
            published=published,
            tags=tuple(t for t in map(sanitize_text, tags) if t),
            language=language,
        )


@dataclass(frozen=True, slots=True)
class RankedBullet:
    """A bullet, and the place (counting from 0) of its sentence among the article's."""

    position: int
    text: str


@dataclass(frozen=True, slots=True)
class Digest:
    """The condensed form of one article: k bullets in article order, topics and keywords.

    `ranking` holds up to MAX_BULLETS bullets, best first, so that any bullet count a reader
    chooses is rendered from it (`top`) without summarising again; `ranker_version` says which
    ranking code produced it, so that a newer one can re-rank stored articles.
    """

    article_id: str
    bullets: tuple[str, ...]
    topics: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    algorithm: str = "default"
    ranking: tuple[RankedBullet, ...] = ()
    ranker_version: str = ""

    def top(self, k: int | None = None) -> tuple[str, ...]:
        """The best `k` bullets in article order (`bullets` when k is None).

        A digest stored before rankings were kept has only `bullets`: their first k.
        """
        if k is None:
            return self.bullets
        if not self.ranking:
            return self.bullets[: max(k, 0)]
        chosen = sorted(self.ranking[: max(k, 0)], key=lambda bullet: bullet.position)
        return tuple(bullet.text for bullet in chosen)

    @property
    def most(self) -> int:
        """How many bullets `top` can give at most."""
        return max(len(self.ranking), len(self.bullets))


@dataclass(frozen=True, slots=True)
class Topic:
    """A configured subject people can subscribe to. `name` is a short lowercase slug.

    `titles` and `descriptions` hold the title and description in other languages, as
    (language code, text) pairs; `title_in` and `description_in` fall back to the main ones.
    """

    name: str
    title: str
    description: str
    keywords: tuple[str, ...]
    titles: tuple[tuple[str, str], ...] = ()
    descriptions: tuple[tuple[str, str], ...] = ()

    def title_in(self, language: str | None) -> str:
        """The title for readers of `language` ('zh', also 'zh-hans'), else the main one."""
        return _in_language(self.titles, language) or self.title

    def description_in(self, language: str | None) -> str:
        return _in_language(self.descriptions, language) or self.description


def _in_language(texts: tuple[tuple[str, str], ...], language: str | None) -> str | None:
    tag = (language or "").strip().lower().replace("_", "-")
    primary = tag.split("-", 1)[0]
    found = dict(texts)
    return found.get(tag) or found.get(primary)


@dataclass(frozen=True, slots=True)
class SummariserSettings:
    bullets: int = 3
    algorithm: str = "default"
    max_bullet_chars: int = 280
    keywords: int = 5
