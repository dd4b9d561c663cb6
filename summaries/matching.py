"""Match articles to topics and keyword queries (search itself runs in the database).

Everything works on stemmed, case-folded word tokens, so "satellites" finds "satellite" and
"Quantum" finds "quantum"; phrases match as consecutive stems, never inside other words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

from summaries.models import Topic

_WORD = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*", re.UNICODE)
_QUOTED_OR_WORD = re.compile(r'"([^"]*)"|“([^”]*)”|(\S+)')
# The Snowball English stemmer (what NLTK wraps), without importing all of NLTK at start-up.
_STEMMER = snowballstemmer.stemmer("english")

# Title words say more about what an article is about than any single body word.
TITLE_WEIGHT = 3.0
# A topic needs one title hit or two body hits before an article is filed under it.
TOPIC_THRESHOLD = 2.0
MAX_QUERY_TERMS = 8


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return str(_STEMMER.stemWord(word.casefold().replace("’", "'")))


def words(text: str) -> list[str]:
    """The word tokens of `text`, in order, keeping their original spelling."""
    return _WORD.findall(text)


def stems(text: str) -> tuple[str, ...]:
    return tuple(stem(word) for word in words(text))


def _count_phrase(tokens: Sequence[str], phrase: tuple[str, ...]) -> int:
    if not phrase or len(phrase) > len(tokens):
        return 0
    if len(phrase) == 1:
        return tokens.count(phrase[0])
    first, width = phrase[0], len(phrase)
    return sum(
        1
        for start, token in enumerate(tokens[: len(tokens) - width + 1])
        if token == first and tuple(tokens[start : start + width]) == phrase
    )


@dataclass(frozen=True, slots=True)
class TokenisedText:
    """An article's title and body as stems, computed once and reused for every match."""

    title: tuple[str, ...]
    body: tuple[str, ...]

    @classmethod
    def of(cls, title: str, body: str) -> TokenisedText:
        return cls(stems(title), stems(body))

    def weighted_count(self, phrase: tuple[str, ...]) -> float:
        return TITLE_WEIGHT * _count_phrase(self.title, phrase) + _count_phrase(self.body, phrase)


class TopicMatcher:
    """Files articles under the configured topics by their stemmed keywords and phrases."""

    def __init__(self, topics: Iterable[Topic], threshold: float = TOPIC_THRESHOLD) -> None:
        self._phrases = {
            topic.name: tuple({stems(keyword) for keyword in topic.keywords} - {()})
            for topic in topics
        }
        self._threshold = threshold

    def scores(self, title: str, body: str) -> dict[str, float]:
        text = TokenisedText.of(title, body)
        return {
            name: sum(text.weighted_count(phrase) for phrase in phrases)
            for name, phrases in self._phrases.items()
        }

    def match(self, title: str, body: str) -> tuple[str, ...]:
        """The topics this article belongs to, best first."""
        ranked = sorted(self.scores(title, body).items(), key=lambda item: (-item[1], item[0]))
        return tuple(name for name, score in ranked if score >= self._threshold)


class QueryError(ValueError):
    """A keyword query that cannot be used; the message says why, for the user."""


@dataclass(frozen=True, slots=True)
class KeywordQuery:
    """Free keywords, news-alert style: every term must occur; a quoted term is a phrase."""

    terms: tuple[tuple[str, ...], ...]
    text: str

    @classmethod
    def parse(cls, text: str) -> KeywordQuery:
        surface: list[str] = []
        terms: list[tuple[str, ...]] = []
        for match in _QUOTED_OR_WORD.finditer(text):
            quoted = match.group(1) if match.group(1) is not None else match.group(2)
            raw = quoted if quoted is not None else match.group(3)
            term = stems(raw)
            if not term or term in terms:
                continue
            terms.append(term)
            shown = " ".join(words(raw))
            surface.append(f'"{shown}"' if len(term) > 1 else shown)
        if not terms:
            raise QueryError("the query has no words to look for")
        if len(terms) > MAX_QUERY_TERMS:
            raise QueryError(f"a query can have at most {MAX_QUERY_TERMS} words or phrases")
        return cls(tuple(terms), " ".join(surface).casefold())

    @property
    def stems(self) -> frozenset[str]:
        return frozenset(token for term in self.terms for token in term)

    def matches(self, text: TokenisedText) -> bool:
        return all(text.weighted_count(term) > 0 for term in self.terms)
