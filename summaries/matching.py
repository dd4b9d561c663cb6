"""Match articles to topics and keyword queries, and rank articles for a search.

Everything works on stemmed, case-folded word tokens, so "satellites" finds "satellite" and
"Quantum" finds "quantum"; phrases match as consecutive stems, never inside other words.
"""

from __future__ import annotations

import math
import re
from collections import Counter
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
# A topic needs one of its keywords in the title, or this many DISTINCT keywords in the body:
# one word repeated ("foreign", "brand") says little; several different ones say the subject.
MIN_BODY_KEYWORDS = 2
# ... and a score at least this share of the best topic's, so an article is filed under what
# it is about, not under everything it mentions in passing (benchmarks/topic_matching.py).
MIN_SHARE_OF_BEST = 0.7
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
    """Files articles under the configured topics by their stemmed keywords and phrases.

    A topic's score counts the distinct keywords found, a title keyword `TITLE_WEIGHT` times;
    repetitions do not count, so a long article that keeps saying one word is not filed for it.
    """

    def __init__(
        self,
        topics: Iterable[Topic],
        *,
        min_body_keywords: int = MIN_BODY_KEYWORDS,
        min_share_of_best: float = MIN_SHARE_OF_BEST,
    ) -> None:
        self._phrases = {
            topic.name: tuple({stems(keyword) for keyword in topic.keywords} - {()})
            for topic in topics
        }
        self._min_body_keywords = min_body_keywords
        self._min_share = min_share_of_best

    def scores(self, title: str, body: str) -> dict[str, float]:
        """Each topic's score; 0 for a topic with no title keyword and too few in the body."""
        text = TokenisedText.of(title, body)
        return {name: self._score(text, phrases) for name, phrases in self._phrases.items()}

    def _score(self, text: TokenisedText, phrases: tuple[tuple[str, ...], ...]) -> float:
        in_title = sum(1 for phrase in phrases if _count_phrase(text.title, phrase))
        in_body = sum(1 for phrase in phrases if _count_phrase(text.body, phrase))
        if not in_title and in_body < self._min_body_keywords:
            return 0.0
        return TITLE_WEIGHT * in_title + in_body

    def match(self, title: str, body: str) -> tuple[str, ...]:
        """The topics this article is about, best first."""
        ranked = sorted(self.scores(title, body).items(), key=lambda item: (-item[1], item[0]))
        best = ranked[0][1] if ranked else 0.0
        return tuple(
            name for name, score in ranked if score > 0 and score >= self._min_share * best
        )


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


@dataclass(frozen=True, slots=True)
class SearchHit:
    article_id: str
    score: float


class SearchIndex:
    """BM25 over titles and bodies, with title hits weighted up; every query term must match.

    Kept in memory: a regional news bot holds thousands of articles, not millions, and this
    keeps search identical on SQLite and PostgreSQL.
    """

    K1 = 1.2
    B = 0.75

    def __init__(self) -> None:
        self._texts: dict[str, TokenisedText] = {}
        self._term_counts: dict[str, dict[str, float]] = {}
        self._document_frequency: Counter[str] = Counter()
        self._total_length = 0

    def __len__(self) -> int:
        return len(self._texts)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._texts

    def add(self, article_id: str, title: str, body: str) -> None:
        if article_id in self._texts:
            return
        text = TokenisedText.of(title, body)
        counts: dict[str, float] = dict(Counter(text.body))
        for token in text.title:
            counts[token] = counts.get(token, 0.0) + TITLE_WEIGHT
        self._texts[article_id] = text
        self._term_counts[article_id] = counts
        self._document_frequency.update(counts.keys())
        self._total_length += len(text.body) + len(text.title)

    def search(self, query: KeywordQuery) -> list[SearchHit]:
        """Articles containing every term of `query`, best first."""
        if not self._texts:
            return []
        average_length = self._total_length / len(self._texts)
        hits = [
            SearchHit(article_id, self._score(article_id, query, average_length))
            for article_id, text in self._texts.items()
            if query.matches(text)
        ]
        hits.sort(key=lambda hit: (-hit.score, hit.article_id))
        return hits

    def _score(self, article_id: str, query: KeywordQuery, average_length: float) -> float:
        counts = self._term_counts[article_id]
        text = self._texts[article_id]
        length = len(text.body) + len(text.title)
        documents = len(self._texts)
        score = 0.0
        for token in query.stems:
            frequency = counts.get(token, 0)
            if not frequency:
                continue
            rarity = math.log(
                1
                + (documents - self._document_frequency[token] + 0.5)
                / (self._document_frequency[token] + 0.5)
            )
            saturation = (
                frequency
                * (self.K1 + 1)
                / (frequency + self.K1 * (1 - self.B + self.B * length / average_length))
            )
            score += rarity * saturation
        return score
